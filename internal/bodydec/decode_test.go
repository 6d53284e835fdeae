package bodydec

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
)

type sink struct {
	out   bytes.Buffer
	limit int
}

func (s *sink) Decoded(b []byte) bool {
	s.out.Write(b)
	return s.limit == 0 || s.out.Len() < s.limit
}

func compress(c Coding, b []byte) []byte {
	var buf bytes.Buffer
	switch c {
	case CodingGzip:
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
	case CodingDeflate:
		w := zlib.NewWriter(&buf)
		w.Write(b)
		w.Close()
	case CodingRawDeflate:
		w, _ := flate.NewWriter(&buf, 5)
		w.Write(b)
		w.Close()
	case CodingBrotli:
		w := brotli.NewWriter(&buf)
		w.Write(b)
		w.Close()
	case CodingZstd:
		w, _ := zstd.NewWriter(&buf)
		w.Write(b)
		w.Close()
	case CodingSnappy:
		w := snappy.NewBufferedWriter(&buf)
		w.Write(b)
		w.Close()
	}
	return buf.Bytes()
}

// TestCodings: every coding decodes whatever the input cut, and two stacked
// codings undo in the right order.
func TestCodings(t *testing.T) {
	text := bytes.Repeat([]byte("card 4111111111111111 and some text; "), 500)
	for _, c := range []Coding{CodingGzip, CodingDeflate, CodingRawDeflate, CodingBrotli, CodingZstd, CodingSnappy} {
		in := compress(c, text)
		for _, cut := range []int{1, 7, 1448, len(in)} {
			var d Decoder
			s := &sink{}
			d.Begin([]Coding{c})
			for b := in; len(b) > 0; {
				n := min(len(b), cut)
				if err := d.Push(b[:n], s); err != nil {
					t.Fatalf("%v cut %d: %v", c, cut, err)
				}
				b = b[n:]
			}
			if err := d.Finish(s); err != nil {
				t.Fatalf("%v cut %d: finish: %v", c, cut, err)
			}
			d.End()
			if !bytes.Equal(s.out.Bytes(), text) {
				t.Fatalf("%v cut %d: %d bytes out", c, cut, s.out.Len())
			}
		}
	}
	var d Decoder
	s := &sink{}
	d.Begin([]Coding{CodingGzip, CodingZstd}) // gzip applied first, then zstd
	d.Push(compress(CodingZstd, compress(CodingGzip, text)), s)
	if err := d.Finish(s); err != nil || !bytes.Equal(s.out.Bytes(), text) {
		t.Fatalf("stacked: %v, %d bytes", err, s.out.Len())
	}
	d.End()
}

// TestSinkStops: a Sink refusing more output fails the Decoder.
func TestSinkStops(t *testing.T) {
	var d Decoder
	s := &sink{limit: 100}
	d.Begin([]Coding{CodingGzip})
	d.Push(compress(CodingGzip, make([]byte, 1<<20)), s)
	if !d.Failed() || s.out.Len() > 64<<10 {
		t.Fatalf("failed %v after %d bytes", d.Failed(), s.out.Len())
	}
	d.End()
	if d.Active() {
		t.Fatal("active after End")
	}
}

func TestParseCodings(t *testing.T) {
	var dst [MaxCodings]Coding
	for in, want := range map[string]struct {
		n  int
		ok bool
	}{"gzip": {1, true}, " GZIP , br": {2, true}, "identity": {0, true}, "": {0, true}, "gzip, compress": {1, false}, "gzip, br, zstd": {2, false}} {
		n, ok := ParseCodings([]byte(in), dst[:])
		if n != want.n || ok != want.ok {
			t.Errorf("%q: %d %v", in, n, ok)
		}
	}
}
