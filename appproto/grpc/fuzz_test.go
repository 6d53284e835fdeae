package grpc

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/tapdlp/tapdlp/internal/bodydec"
)

// FuzzWalkText: no panic; every text yielded is valid UTF-8 and a part of
// the input; the number of texts is bounded by the input.
func FuzzWalkText(f *testing.F) {
	f.Add([]byte("\x0a\x05hello\x12\x07\x0a\x05world"))
	f.Add([]byte(`{"json":"4111111111111111"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		WalkText(data, 8, func(text []byte) {
			n++
			if !utf8.Valid(text) || len(text) == 0 || !bytes.Contains(data, text) {
				t.Fatalf("text %q", text)
			}
		})
		if n > len(data)+1 {
			t.Fatalf("%d texts from %d bytes", n, len(data))
		}
	})
}

type collect struct {
	msgs [][]byte
	max  int
	t    *testing.T
}

func (c *collect) Message(m *Message, b []byte) {
	if len(b) > c.max {
		c.t.Fatalf("message of %d bytes past the cap", len(b))
	}
	c.msgs = append(c.msgs, append([]byte{byte(m.Flags)}, b...))
}

// FuzzReader: no panic, messages within the cap, the same messages however
// the bytes were cut.
func FuzzReader(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x00\x05\x0a\x03abc"), uint8(0))
	f.Add([]byte("\x01\x00\x00\x00\x05\x1f\x8b\x08\x00\x00"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, enc uint8) {
		coding := []bodydec.Coding{bodydec.CodingNone, bodydec.CodingGzip, bodydec.CodingDeflate, bodydec.CodingSnappy, bodydec.CodingUnknown}[int(enc)%5]
		run := func(cut int) [][]byte {
			c := &collect{max: 4096, t: t}
			r := NewReader(coding, Config{MaxMessage: 4096}, c)
			for b := data; len(b) > 0; {
				n := len(b)
				if cut > 0 {
					n = min(n, cut)
				}
				r.Feed(b[:n])
				b = b[n:]
			}
			r.End()
			return c.msgs
		}
		whole, split := run(0), run(1+len(data)%9)
		if len(whole) != len(split) {
			t.Fatalf("%d vs %d messages", len(whole), len(split))
		}
		for i := range whole {
			if !bytes.Equal(whole[i], split[i]) {
				t.Fatalf("message %d differs", i)
			}
		}
	})
}
