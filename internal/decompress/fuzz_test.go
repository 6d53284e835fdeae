package decompress

import (
	"bytes"
	"io"
	"testing"
)

// FuzzNewReader: arbitrary input never panics the magic detection or the
// decoders behind it, and reading stays bounded by what the caller asks.
func FuzzNewReader(f *testing.F) {
	f.Add([]byte("plain text\n"))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x01, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReader(bytes.NewReader(in))
		if err != nil {
			return
		}
		defer r.Close()
		n, _ := io.Copy(io.Discard, io.LimitReader(r, 1<<20))
		if r.Format == Plain && n != int64(len(in)) {
			t.Fatalf("plain input of %d bytes read back as %d", len(in), n)
		}
	})
}
