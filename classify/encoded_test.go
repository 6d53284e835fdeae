package classify

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestEncodedTokens: percent-encoded and short padded base64 values in
// plain text are decoded and found, whatever the stream's cuts, through
// ScanAll and a Stream alike; benign look-alikes stay silent.
func TestEncodedTokens(t *testing.T) {
	e := testEngine(t)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	raw := func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }
	rawURL := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	pct := func(s string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"percent-encoded separators", "note: 4111%201111%201111%201111 thanks", "credit_card"},
		{"percent-encoded digits", "v=" + pct("4111111111111111") + "&x=1", "credit_card"},
		{"form body as text/plain", "name=alice&card=5500+0000+0000+0004&ok=1", "credit_card"},
		{"24-char base64 of a card", "blob " + b64("4111111111111111") + " end", "credit_card"},
		{"base64 of a card in a form", "a=1&card=" + b64("5500000000000004") + "&b=2", "credit_card"},
		{"base64 of an SSN with its label", "v " + b64("SSN: 123-45-6789") + " end", "us_ssn"},
		{"base64 of an AWS key id", "k=" + b64("AKIAZ7Q3RKPW5MXD2LHT") + ";", "aws_access_key"},
		{"double percent-encoding", "q=4111%25201111%25201111%25201111", "credit_card"},
		{"unpadded base64 of a 16-digit card in JSON", `{"v":"` + raw("4111111111111111") + `"}`, "credit_card"},
		{"unpadded base64 of a 15-digit card in a query", "/pay?pan=" + raw("378282246310005") + "&x=1", "credit_card"},
		{"unpadded base64 of a spaced card (too long: the blob rule's)", "c=" + raw("4111 1111 1111 1111"), "credit_card"},
		{"unpadded URL-safe base64 of a card", "t:" + rawURL("5500000000000004") + ".", "credit_card"},
		{"unpadded base64 of an SSN with dashes", `"ssn":"` + raw("123-45-6789") + `"`, "us_ssn"},
		{"unpadded base64 of a bare SSN labelled in JSON", `{"name":"x","ssn":"` + raw("536221234") + `"}`, "us_ssn"},
		{"unpadded base64 of a bare SSN labelled in a query", "/u?id=7&ssn=" + raw("536221234") + "&z=1", "us_ssn"},
		{"no value: unpadded base64 of nine bare digits, unlabelled", "/u?id=7&v=" + raw("536221234") + "&z=1", ""},
		{"unpadded base64 of a card after an e-mail address (reported once)", "bob@example.com " + raw("4111111111111111"), "email,credit_card"},
		{"unpadded base64 of a card at the start", raw("4111111111111111"), "credit_card"},
		{"no value: unpadded base64 of a wrong-Luhn number", "v=" + raw("4111111111111112") + "&", ""},
		{"no value: unpadded base64 of a word", "v=" + raw("Mozilla rocks!") + "&", ""},
		{"no value: identifiers starting with M, N, O", "id=MTU4NTQyNjA2 N2ZkYzQ5MTJh Ok7hPq2LmN9xRt session=NjY3ZmQ4YzA5ZTNh", ""},
		{"no value: base64 of words", "text " + b64("hello world") + " ok", ""},
		{"no value: form with numbers", "a=1&qty=12+34&page=2", ""},
		{"no value: random id with padding", "etag=Zm9vYmFyYmF6cXV4== x", ""},
		{"no value: percent-encoded path", "GET /a%20b/c%2Fd?x=%7B%7D", ""},
	} {
		var all []string
		e.ScanAll([]byte(tc.doc), func(m Match) { all = append(all, m.Type) })
		if got := strings.Join(all, ","); (tc.want == "" && got != "") || (tc.want != "" && !strings.Contains(got, tc.want)) {
			t.Errorf("%s: ScanAll found %q, want %q", tc.name, got, tc.want)
		}
		for _, cut := range []int{1, 3, 7, 16, len(tc.doc)} {
			st := e.NewScanner().NewStream("out")
			for b := []byte(tc.doc); len(b) > 0; {
				n := min(cut, len(b))
				st.Write(b[:n])
				b = b[n:]
			}
			st.Flush()
			var types []string
			for _, f := range st.Findings(nil) {
				types = append(types, f.Type)
			}
			if got := strings.Join(types, ","); (tc.want == "" && got != "") || (tc.want != "" && !strings.Contains(got, tc.want)) {
				t.Errorf("%s cut %d: Stream found %q, want %q", tc.name, cut, got, tc.want)
			}
		}
	}
}

// TestShortBase64Label: a number decoded from unpadded base64 is judged
// after the text before it, but what that text holds is reported once, by
// the main scan, and every span lies within the document.
func TestShortBase64Label(t *testing.T) {
	e := testEngine(t)
	raw := base64.RawStdEncoding.EncodeToString
	for _, doc := range []string{
		"bob@example.com " + raw([]byte("4111111111111111")),
		"ssn 536-22-1234 x=" + raw([]byte("5500000000000004")),
		raw([]byte("378282246310005")),
	} {
		var got []string
		e.ScanAll([]byte(doc), func(m Match) {
			got = append(got, m.Type)
			if m.Start < 0 || m.End > int64(len(doc)) || m.Start >= m.End {
				t.Errorf("%q: %s at [%d,%d)", doc, m.Type, m.Start, m.End)
			}
		})
		seen := map[string]int{}
		for _, ty := range got {
			seen[ty]++
		}
		if seen["credit_card"] != 1 || len(got) != len(seen) {
			t.Errorf("%q: %v", doc, got)
		}
	}
}

// encodedSamples are corpus documents whose value is percent-encoded or
// short padded base64, one class after another: PCI cards, PII SSNs and
// e-mail addresses, PHI NPIs (with their label inside the encoding, as a
// client encodes a whole field) and SECRET AWS key ids; the span is the
// encoded token.
func encodedSamples(seed uint64, n int) []sample {
	g := newGen(seed)
	var out []sample
	pctAll := func(s string) string {
		const h = "0123456789ABCDEF"
		var b strings.Builder
		for _, c := range []byte(s) {
			b.WriteByte('%')
			b.WriteByte(h[c>>4])
			b.WriteByte(h[c&15])
		}
		return b.String()
	}
	pctSpaces := func(s string) string { return strings.ReplaceAll(s, " ", "%20") }
	b64 := base64.StdEncoding.EncodeToString
	raw := func(s string) string {
		if g.r.IntN(2) == 0 {
			return base64.RawURLEncoding.EncodeToString([]byte(s))
		}
		return base64.RawStdEncoding.EncodeToString([]byte(s))
	}
	addField := func(field, kind, typ, enc string) {
		doc, vs := g.wrap(field, enc)
		out = append(out, sample{typ: typ, kind: "encoded " + kind, doc: []byte(doc), vs: vs, ve: vs + len(enc)})
	}
	add := func(kind, typ, enc string) { addField(neutralFields[g.r.IntN(len(neutralFields))], kind, typ, enc) }
	for k := 0; k < n; k++ {
		card := g.card()
		grouped := card[:4] + " " + card[4:8] + " " + card[8:12] + " " + card[12:]
		if len(card) == 16 {
			add("card base64", "credit_card", b64([]byte(card)))
			add("card %20", "credit_card", pctSpaces(grouped))
		}
		if len(card) >= 14 && len(card) <= 16 { // compact rarer lengths need a card label by design
			add("card %XX", "credit_card", pctAll(card))
			add("card base64 unpadded", "credit_card", raw(card))
		}
		add("ssn base64 unpadded", "us_ssn", raw(g.ssn()))
		addField(g.pick("ssn", "social_security_number", "SSN"), "bare ssn base64 unpadded", "us_ssn", raw(g.ssnValidNine()))
		add("ssn base64", "us_ssn", b64([]byte("SSN: "+g.ssn())))
		add("ssn %XX", "us_ssn", pctAll("ssn "+g.ssn()))
		add("email %40", "email", strings.Replace(g.email(), "@", "%40", 1))
		add("npi %XX", "us_npi", pctAll("NPI: "+g.npi()))
		add("aws key %XX", "aws_access_key", pctAll(g.aws()))
	}
	return out
}
