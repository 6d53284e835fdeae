package classify

import (
	"strings"
	"testing"
)

// decodeWith runs one decoder over parts (split input) and flushes it.
func decodeWith(kind string, parts ...[]byte) string {
	var out []byte
	switch kind {
	case "url", "form":
		var d urlDec
		for _, p := range parts {
			out = d.decode(out, p, kind == "form")
		}
		out = d.flush(out)
	case "json":
		var d jsonDec
		for _, p := range parts {
			out = d.decode(out, p)
		}
		out = d.flush(out)
	case "b64":
		var d b64Dec
		for _, p := range parts {
			out = d.decode(out, p)
		}
	case "multipart":
		var d mpDec
		d.init(nil, -1)
		for _, p := range parts {
			out = d.decode(out, p)
		}
		out = d.flush(out)
	}
	return string(out)
}

const multipartSample = "--XyZ\r\nContent-Disposition: form-data; name=\"ssn\"\r\n\r\n123-45-6789\r\n" +
	"--XyZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.json\"\r\nContent-Type: application/json\r\n\r\n{\"c\":\"\\u0034111111111111111\"}\r\n" +
	"--XyZ\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\na=b%40example.com&q=x+y\r\n" +
	"--XyZ\r\nContent-Transfer-Encoding: base64\r\n\r\nY2FyZCA0MTExMTEx\r\nMTExMTExMTEx\r\n" +
	"--XyZ--\r\nepilogue"

func TestDecoders(t *testing.T) {
	cases := []struct {
		kind, in, want string
	}{
		{"url", "a%40b.com%2", "a@b.com%2"},
		{"url", "%zz%4", "%zz%4"},
		{"url", "x+y%2B", "x+y+"},
		{"form", "x+y%2B", "x y+"},
		{"json", `\u0034\u0031\n\/\"\\`, "41\n/\"\\"},
		{"json", `\ud83d\ude00!`, "\U0001F600!"},
		{"json", `\ud83dx`, "\uFFFDx"},
		{"json", `\u12`, `\u12`},
		{"json", `\u12g`, `\u12g`},
		{"json", `\q`, `\q`},
		{"b64", "aGVs\r\nbG8=", "hello"},
		{"multipart", multipartSample, "--XyZ\r\nContent-Disposition: form-data; name=\"ssn\"\r\n\r\n123-45-6789\n" +
			"Content-Disposition: form-data; name=\"doc\"; filename=\"a.json\"\r\nContent-Type: application/json\r\n\r\n{\"c\":\"4111111111111111\"}\n" +
			"Content-Type: application/x-www-form-urlencoded\r\n\r\na=b@example.com&q=x y\n" +
			"Content-Transfer-Encoding: base64\r\n\r\ncard 4111111111111111\n\r\nepilogue"},
		{"multipart", "no boundary here\nplain", "no boundary here\nplain"},
	}
	for _, c := range cases {
		whole := decodeWith(c.kind, []byte(c.in))
		if whole != c.want {
			t.Errorf("%s %q: got %q, want %q", c.kind, c.in, whole, c.want)
			continue
		}
		for k := 0; k <= len(c.in); k++ {
			if got := decodeWith(c.kind, []byte(c.in[:k]), []byte(c.in[k:])); got != whole {
				t.Fatalf("%s %q split at %d: got %q, want %q", c.kind, c.in, k, got, whole)
			}
		}
	}
}

func TestParseContentType(t *testing.T) {
	cases := []struct {
		ct   string
		kind ContentKind
		bnd  string
	}{
		{"application/json; charset=utf-8", KindJSON, ""},
		{"application/vnd.api+json", KindJSON, ""},
		{"Application/X-WWW-Form-Urlencoded", KindForm, ""},
		{`multipart/form-data; boundary="----abc"`, KindMultipart, "----abc"},
		{"multipart/form-data; charset=x; BOUNDARY=zz", KindMultipart, "zz"},
		{"text/html", KindPlain, ""},
		{"", KindPlain, ""},
	}
	for _, c := range cases {
		got := ParseContentType(c.ct)
		if got.Kind != c.kind || string(got.Boundary()) != c.bnd {
			t.Errorf("%q: got %v %q", c.ct, got.Kind, got.Boundary())
		}
	}
}

// TestStreamDecoded scans encoded bodies through a Stream, split at every
// offset, and expects the encoded values to be found.
func TestStreamDecoded(t *testing.T) {
	e := testEngine(t)
	mpCT := ParseContentType("multipart/form-data; boundary=XyZ")
	cases := []struct {
		name string
		c    Content
		in   string
		want []string
	}{
		{"json unicode escapes", Content{Kind: KindJSON}, `{"n":"\u0034\u0031\u0031\u0031 1111 1111 1111","e":"a\u0040example.com"}`, []string{"credit_card", "email"}},
		{"json escaped slash key", Content{Kind: KindJSON}, `{"k":"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAvX2k"}`, []string{"private_key"}},
		{"form", ParseContentType("application/x-www-form-urlencoded"), "ssn=123%2D45%2D6789&email=bob%40example.com&c=4111+1111+1111+1111", []string{"us_ssn", "email", "credit_card"}},
		{"query", Content{Kind: KindURLEncoded}, "q=john.doe%40example.com", []string{"email"}},
		{"multipart", mpCT, multipartSample, []string{"us_ssn", "credit_card", "email"}},
		{"multipart sniffed", Content{Kind: KindMultipart}, multipartSample, []string{"us_ssn", "credit_card", "email"}},
	}
	for _, c := range cases {
		want := strings.Join(c.want, ",")
		for k := 0; k <= len(c.in); k++ {
			st := e.NewScanner().NewStream("out")
			st.WriteContent(c.c, []byte(c.in[:k]))
			st.WriteContent(c.c, []byte(c.in[k:]))
			st.Flush()
			var got []string
			for _, f := range st.Findings(nil) {
				got = append(got, f.Type)
			}
			if g := strings.Join(got, ","); g != want {
				t.Fatalf("%s split %d: got %s, want %s", c.name, k, g, want)
			}
		}
	}
}

func TestStreamCapAndReset(t *testing.T) {
	e, err := NewEngine(Config{InspectBytes: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := e.NewScanner().NewStream("in")
	st.Write([]byte(strings.Repeat("x", 82) + " 4111111111111111 "))
	if st.Truncated() || st.Inspected() != 100 {
		t.Fatalf("at the cap: truncated %v inspected %d", st.Truncated(), st.Inspected())
	}
	st.Write([]byte("5555555555554444"))
	if !st.Truncated() || st.Inspected() != 100 {
		t.Fatalf("truncated %v inspected %d", st.Truncated(), st.Inspected())
	}
	if f := st.Findings(nil); len(f) != 1 || f[0].Count != 1 {
		t.Fatalf("want only the card before the cap: %+v", f)
	}
	st.Reset()
	st.Write([]byte("card 4111111111111111 and 5555555555554444 and 4111-1111-1111-1111"))
	st.Flush()
	f := st.Findings(nil)
	if len(f) != 1 || f[0].Count != 3 || len(f[0].Evidence) != 2 || f[0].Direction != "in" || !f[0].TestNumber {
		t.Fatalf("after reset: %+v", f)
	}
	if f[0].Evidence[0] != "************1111" {
		t.Fatalf("evidence %q", f[0].Evidence[0])
	}
}

func TestWriteHeader(t *testing.T) {
	e := testEngine(t)
	st := e.NewScanner().NewStream("out")
	st.WriteHeader([]byte("X-Api-Key"), []byte("3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"))
	st.WriteHeader([]byte("Cookie"), []byte("mail=jane%40example.com"))
	st.Flush()
	var got []string
	for _, f := range st.Findings(nil) {
		got = append(got, f.Type)
	}
	if strings.Join(got, ",") != "generic_api_key,email" {
		t.Fatalf("got %v", got)
	}
}

func TestIBANRegistryConsistent(t *testing.T) {
	for cc, spec := range ibanBBAN {
		n, total := 0, 0
		for k := 0; k < len(spec); k++ {
			if isDigit(spec[k]) {
				n = n*10 + int(spec[k]-'0')
			} else {
				total += n
				n = 0
			}
		}
		if want := int(ibanLen[int(cc[0]-'A')*26+int(cc[1]-'A')]) - 4; total != want {
			t.Errorf("%s: BBAN spec %q has %d characters, registry length says %d", cc, spec, total, want)
		}
	}
}
