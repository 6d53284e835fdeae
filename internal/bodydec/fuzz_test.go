package bodydec

import (
	"bytes"
	"strings"
	"testing"
)

// decodeCut decodes in with coding c, pushed in pieces of the given size,
// into a sink that refuses more than limit bytes.
func decodeCut(c Coding, in []byte, size, limit int) ([]byte, error, bool) {
	var d Decoder
	defer d.End()
	s := &sink{limit: limit}
	d.Begin([]Coding{c})
	for b := in; len(b) > 0; {
		n := min(len(b), size)
		if err := d.Push(b[:n], s); err != nil {
			return s.out.Bytes(), err, d.Failed()
		}
		b = b[n:]
	}
	err := d.Finish(s)
	return s.out.Bytes(), err, d.Failed()
}

// FuzzDecoder feeds arbitrary bytes through every coding (zip archives
// included) under two cuts: no panic, output within the sink's limit plus
// one decoder chunk, and a body that decodes cleanly decodes to the same
// bytes however it was cut.
func FuzzDecoder(f *testing.F) {
	text := []byte(strings.Repeat("name,card\nalice,4111111111111111\n", 40))
	f.Add(zipArchive(f, string(text), "b,5500000000000004\n"), byte(CodingZip), uint16(7))
	f.Add(compress(CodingGzip, text), byte(CodingGzip), uint16(1))
	f.Add(compress(CodingZstd, text), byte(CodingZstd), uint16(100))
	f.Add(compress(CodingBrotli, text), byte(CodingBrotli), uint16(3))
	f.Add(compress(CodingDeflate, text), byte(CodingDeflate), uint16(5))
	f.Add(text, byte(CodingGzip), uint16(2)) // plaintext labelled gzip
	f.Add([]byte("PK\x03\x04garbage"), byte(CodingZip), uint16(1))
	f.Add(zipArchive(f, strings.Repeat("\x00", 1<<20)), byte(CodingZip), uint16(1448))
	f.Fuzz(func(t *testing.T, in []byte, coding byte, cut uint16) {
		c := Coding(coding % byte(CodingUnknown))
		if c == CodingNone {
			c = CodingZip
		}
		const limit = 64 << 10
		whole, errW, failW := decodeCut(c, in, len(in)+1, limit)
		split, errS, failS := decodeCut(c, in, int(cut)%64+1, limit)
		if len(whole) > limit+outChunk || len(split) > limit+outChunk {
			t.Fatalf("output %d / %d over the limit", len(whole), len(split))
		}
		if errW == nil && !failW && errS == nil && !failS && !bytes.Equal(whole, split) {
			t.Fatalf("%v: cut output differs: %d vs %d bytes", c, len(split), len(whole))
		}
	})
}
