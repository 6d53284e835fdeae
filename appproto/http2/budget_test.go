package http2

import (
	"bytes"
	"strings"
	"testing"
)

// TestDecodeBudget: decoding is budgeted by decoded bytes, not by ratio: a
// card behind 80 KB of padding that compresses ~1000:1 is delivered; a
// bomb stops at MaxDecoded, flagged truncated and bomb.
func TestDecodeBudget(t *testing.T) {
	const card = "4111 1111 1111 1111"
	for _, tc := range []struct {
		name     string
		plain    []byte
		wantCard bool
		flags    Flags
	}{
		{"padding then card", append(bytes.Repeat([]byte("A"), 80<<10), "\ncard "+card...), true, 0},
		{"bomb", make([]byte, 32<<20), false, FlagTruncated | FlagBomb},
	} {
		cw, sw := newWire(true), newWire(false)
		cw.headers(1, true, req("/x")...)
		sw.headers(1, false, ":status", "200", "content-encoding", "gzip")
		body := encode(t, "gzip", tc.plain)
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 16384)
			sw.fr.WriteData(1, n == len(rest), rest[:n])
			rest = rest[n:]
		}
		var st Stats
		r, _ := run(t, Config{MaxDecoded: 256 << 10, Stats: &st}, cw.buf.Bytes(), sw.buf.Bytes())
		var resp *msgRec
		for _, m := range r.msgs {
			if m.side == Response {
				resp = m
			}
		}
		if resp == nil {
			t.Fatalf("%s: no response", tc.name)
		}
		if got := strings.Contains(resp.body.String(), card); got != tc.wantCard {
			t.Errorf("%s: card delivered %v", tc.name, got)
		}
		if resp.flags&(FlagTruncated|FlagBomb) != tc.flags || resp.body.Len() > 256<<10 {
			t.Errorf("%s: flags %x, %d bytes", tc.name, resp.flags, resp.body.Len())
		}
	}
}
