package http

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// golden compares got with testdata/golden/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update)", path, err)
	}
	if string(want) != got+"\n" {
		t.Errorf("%s: output differs from golden file\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// parse feeds input cut at the given offsets (ascending) into a fresh
// Parser, then closes it, and returns the event log.
func parse(side Side, cfg Config, methods []MethodKind, input []byte, cuts ...int) *recorder {
	r := &recorder{}
	parseWith(side, cfg, methods, input, r, cuts...)
	return r
}

// stringer is a Handler whose log can be compared.
type stringer interface {
	Handler
	String() string
}

func parseWith(side Side, cfg Config, methods []MethodKind, input []byte, r stringer, cuts ...int) stringer {
	pair := &Pairing{}
	for _, m := range methods {
		pair.push(m)
	}
	p := NewParser(side, cfg, pair, r)
	prev := 0
	for _, c := range cuts {
		p.Feed(input[prev:c])
		prev = c
	}
	p.Feed(input[prev:])
	p.Close()
	return r
}

// zipped is a zip archive holding b as one deflated file.
func zipped(b []byte) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create("cards.csv")
	f.Write(b)
	w.Close()
	return buf.Bytes()
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zlibbed(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func rawDeflated(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zstded(b []byte) []byte {
	e, _ := zstd.NewWriter(nil)
	defer e.Close()
	return e.EncodeAll(b, nil)
}

func brotlied(b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// chunked frames b as chunks of n bytes with an extension on the first.
func chunked(b []byte, n int, trailer string) []byte {
	var buf bytes.Buffer
	first := true
	for len(b) > 0 {
		k := min(n, len(b))
		if first {
			buf.WriteString(hexStr(k) + ";name=\"v\"\r\n")
			first = false
		} else {
			buf.WriteString(hexStr(k) + "\r\n")
		}
		buf.Write(b[:k])
		buf.WriteString("\r\n")
		b = b[k:]
	}
	buf.WriteString("0\r\n" + trailer + "\r\n")
	return buf.Bytes()
}

func hexStr(n int) string {
	const d = "0123456789abcdef"
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n >>= 4 {
		s = string(d[n&15]) + s
	}
	return s
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
