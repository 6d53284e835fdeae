package classify

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func gzipFile(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipFile(t testing.TB, name string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdFile(t testing.TB, b []byte) []byte {
	t.Helper()
	e, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	return e.EncodeAll(b, nil)
}

// uploadBody is a browser's multipart/form-data upload of one file part
// between two text fields.
func uploadBody(file []byte, ctype string) []byte {
	var b bytes.Buffer
	b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n")
	b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"export\"\r\nContent-Type: " + ctype + "\r\n\r\n")
	b.Write(file)
	b.WriteString("\r\n--XyZ\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nbye\r\n--XyZ--\r\n")
	return b.Bytes()
}

// TestMultipartArchives: a .gz, .zst or .zip file inside a multipart part
// (the usual browser upload) is opened by its magic number, under the
// decoding budget, whatever the stream's cuts; a corrupt file is scanned
// raw; every early stop is reported.
func TestMultipartArchives(t *testing.T) {
	csv := []byte("name,card\nalice,4111 1111 1111 1111\n")
	padded := append(bytes.Repeat([]byte("A"), 200<<10), "\ncard 5500 0000 0000 0004\n"...)
	for _, tc := range []struct {
		name   string
		file   []byte
		ctype  string
		limit  int
		want   string // a type that must be found, "" none
		trunc  DecodeTrunc
		noCard bool
	}{
		{"gzip csv", gzipFile(t, csv), "application/gzip", 256 << 10, "credit_card", 0, false},
		{"gzip as octet-stream", gzipFile(t, csv), "application/octet-stream", 256 << 10, "credit_card", 0, false},
		{"zstd csv", zstdFile(t, csv), "application/zstd", 256 << 10, "credit_card", 0, false},
		{"zip csv", zipFile(t, "export/cards.csv", csv), "application/zip", 256 << 10, "credit_card", 0, false},
		{"gzip: card behind 200 KB of padding", gzipFile(t, padded), "application/gzip", 256 << 10, "credit_card", 0, false},
		{"gzip bomb", gzipFile(t, make([]byte, 8<<20)), "application/gzip", 256 << 10, "", DecodeBudget | DecodeBomb, true},
		{"gzip beyond the budget", gzipFile(t, padded), "application/gzip", 64 << 10, "", DecodeBudget | DecodeBomb, true},
		{"corrupt gzip scanned raw", append([]byte{0x1f, 0x8b, 8, 0, 0xff, 0xff, 0xff, 0xff, 0xff}, "card 4111 1111 1111 1111 "...), "application/gzip", 256 << 10, "credit_card", DecodeError, false},
		{"short part", []byte{0x1f, 0x8b}, "application/gzip", 256 << 10, "", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := NewEngine(Config{HMACKey: []byte("k"), InspectBytes: tc.limit}, nil)
			if err != nil {
				t.Fatal(err)
			}
			body := uploadBody(tc.file, tc.ctype)
			for _, cut := range []int{1, 7, 1448, len(body)} {
				st := sc.NewScanner().NewStream("out")
				c := ParseContentType("multipart/form-data; boundary=XyZ")
				for b := body; len(b) > 0; {
					n := min(cut, len(b))
					st.WriteContent(c, b[:n])
					b = b[n:]
				}
				st.Flush()
				var types []string
				for _, f := range st.Findings(nil) {
					types = append(types, f.Type)
				}
				got := strings.Join(types, ",")
				if tc.want != "" && !strings.Contains(got, tc.want) || tc.noCard && strings.Contains(got, "credit_card") {
					t.Errorf("cut %d: found %q, want %q", cut, got, tc.want)
				}
				if st.DecodeTruncations() != tc.trunc {
					t.Errorf("cut %d: truncations %b, want %b", cut, st.DecodeTruncations(), tc.trunc)
				}
			}
		})
	}
}
