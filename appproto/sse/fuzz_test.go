package sse

import (
	"strings"
	"testing"
)

// FuzzParser: no panic, data within the cap, the same events however the
// bytes were cut.
func FuzzParser(f *testing.F) {
	for _, s := range []string{"data: a\r\ndata:b\r\n\r\n", "event: delta\nid: 7\nretry: 10\ndata: {\"x\":1}\n\n", ": c\rdata\r\r", "\xef\xbb\xbfdata: x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := parseAll(string(data), 0)
		for _, e := range whole {
			if n := strings.Count(e, "|"); n < 5 {
				t.Fatalf("event %q", e)
			}
		}
		cut := 1 + len(data)%7
		if split := parseAll(string(data), cut); strings.Join(split, "\n") != strings.Join(whole, "\n") {
			t.Fatalf("cut %d: %q vs %q", cut, split, whole)
		}
	})
}
