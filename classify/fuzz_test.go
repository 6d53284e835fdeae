package classify

import (
	"bytes"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzScan checks that results do not depend on how input is split: the
// one-shot scan, ScanReader with two chunk sizes and a Stream fed in three
// writes must agree exactly.
func FuzzScan(f *testing.F) {
	for _, c := range detectorCases() {
		f.Add([]byte(c.in), uint16(len(c.in)/2), uint16(7))
	}
	f.Add([]byte(multipartSample), uint16(30), uint16(100))
	// Encoded tokens (encoded.go), including runs cut at every length.
	for _, in := range []string{
		"x NDExMTExMTExMTExMTExMQ== y", "card=4111%201111%201111%201111&b=2", "v=%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31",
		"a=5500+0000+0000+0004", "q=4111%25201111%25201111%25201111", "SSN " + strings.Repeat("A", 95) + "==",
		"U1NOOiAxMjMtNDUtNjc4OQ== and %%%===",
		// Unpadded base64 of numbers, after labels and at the edges.
		`{"ssn":"NTM2MjIxMjM0","pan":"NDExMTExMTExMTExMTExMQ"}`, "NDExMTExMTExMTExMTExMQ", "bob@example.com MzQ0MzY5NDk4NTk1ODQz&x=NTM2LTIyLTEyMzQ=",
		"ssn=NTM2MjIxMjM0MTIzNDU2Nzg5MDEy MNO NMNMNMNMNMNMNMNMNMNMNMNMNMNM",
	} {
		f.Add([]byte(in), uint16(5), uint16(17))
	}
	e, err := NewEngine(Config{HMACKey: []byte("k"), ContextWindow: 20}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, a, b uint16) {
		whole := scanAllB(e, data)
		for _, m := range whole {
			if m.Start < 0 || m.End > int64(len(data)) || m.Start >= m.End {
				t.Fatalf("bad span [%d,%d) in %d bytes", m.Start, m.End, len(data))
			}
		}
		want := matchKey(whole)
		if got := matchKey(readerMatches(t, e, data, int(a)+1, int(b)+1)); got != want {
			t.Fatalf("split %d/%d: %q, whole %q", a, b, got, want)
		}
		x, y := int(a)%(len(data)+1), int(b)%(len(data)+1)
		if x > y {
			x, y = y, x
		}
		if got, w := streamFindings(e, data[:x], data[x:y], data[y:]), streamFindings(e, data); got != w {
			t.Fatalf("stream split %d/%d: %q, whole %q", x, y, got, w)
		}
	})
}

// FuzzDecoders checks every content decoder for split independence and
// bounded output.
func FuzzDecoders(f *testing.F) {
	for _, s := range []string{`\u0034\ud83d\ude00\n`, "a%40b+c%2", "aGVsbG8=\r\nd29y", multipartSample, "--b\r\n\r\n\r\n--b--"} {
		f.Add([]byte(s), uint16(3))
	}
	// Files inside parts: gzip, zstd and zip, whole, corrupt and cut.
	csv := []byte("name,card\nalice,4111 1111 1111 1111\n")
	for _, file := range [][]byte{gzipFile(f, csv), zstdFile(f, csv), zipFile(f, "a.csv", csv), gzipFile(f, make([]byte, 64<<10)),
		append([]byte{0x1f, 0x8b, 8, 0, 0xff, 0xff}, csv...), gzipFile(f, csv)[:20], []byte("PK\x03\x04\x14\x00")} {
		f.Add(uploadBody(file, "application/octet-stream"), uint16(60))
	}
	kinds := []string{"url", "form", "json", "b64"} // multipart: decodeArchives below
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		k := int(split) % (len(data) + 1)
		for _, kind := range kinds {
			whole := decodeWith(kind, data)
			if len(whole) > 2*len(data)+8 {
				t.Fatalf("%s: %d bytes out of %d", kind, len(whole), len(data))
			}
			if got := decodeWith(kind, data[:k], data[k:]); got != whole {
				t.Fatalf("%s split %d: %q, whole %q", kind, k, got, whole)
			}
		}
		// Multipart with files opened: each part decodes to at most the
		// budget; the outcome does not depend on the cut, except for the
		// decoded prefix of a file that then fails.
		whole, wt := decodeArchives(data)
		if parts := 1 + bytes.Count(data, []byte("\n")); len(whole) > 2*len(data)+8+parts*(archBudget+1) {
			t.Fatalf("archives: %d bytes out of %d", len(whole), len(data))
		}
		if got, gt := decodeArchives(data[:k], data[k:]); (got != whole || gt != wt) && (wt|gt)&DecodeError == 0 {
			t.Fatalf("archives split %d: %q (%b), whole %q (%b)", k, got, gt, whole, wt)
		}
		// Content-Type parsing never panics and bounds the boundary.
		c := ParseContentType("multipart/form-data; boundary=" + string(data))
		if len(c.Boundary()) > maxBoundary {
			t.Fatal("boundary too long")
		}
	})
}

// archBudget is the decoding budget FuzzDecoders gives a multipart part.
const archBudget = 4096

// decodeArchives runs the multipart decoder with files opened over parts.
func decodeArchives(parts ...[]byte) (string, DecodeTrunc) {
	var d mpDec
	d.init(nil, archBudget)
	var out []byte
	for _, p := range parts {
		out = d.decode(out, p)
	}
	out = d.flush(out)
	d.arch.End()
	return string(out), d.trunc
}

// FuzzParseCustom checks that any YAML either yields detectors that compile
// and scan, or an error with a file:line position.
func FuzzParseCustom(f *testing.F) {
	f.Add([]byte("detectors:\n  - name: a\n    class: PII\n    regex: 'A[0-9]+'\n    validator: luhn\n"))
	f.Add([]byte("detectors:\n  - name: b\n    class: SECRET\n    keywords: [x, y]\n    context: [z]\n    window: 10\n"))
	f.Add([]byte("detectors: [{name: c, class: PHI, regex: '(?m)^x', confidence: high}]"))
	f.Add([]byte("- name: d\n  colour: red\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var n yaml.Node
		if yaml.Unmarshal(data, &n) != nil {
			return
		}
		ds, err := ParseCustom("f.yaml", &n)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml:") {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		e, err := NewEngine(Config{}, ds)
		if err != nil {
			t.Fatalf("parsed detectors do not compile: %v", err)
		}
		e.ScanAll(data, func(Match) {})
	})
}
