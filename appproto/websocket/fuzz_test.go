package websocket

import (
	"fmt"
	"testing"
)

// FuzzParser feeds one direction's frames whole and cut, and checks: no
// panic, the Handler contract, at most one Stop, messages within the cap,
// and the same events however the bytes were cut.
func FuzzParser(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h' ^ 1, 'e' ^ 2, 'l' ^ 3, 'l' ^ 4, 'o' ^ 1}, false, false)
	f.Add([]byte{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, true, true)
	f.Fuzz(func(t *testing.T, data []byte, deflate, takeover bool) {
		ext := Extensions{Deflate: deflate, ClientNoContextTakeover: !takeover, ServerNoContextTakeover: !takeover}
		run := func(cut int) string {
			r := &wsRec{t: t}
			p := NewParser(Client, ext, Config{MaxMessage: 4096}, r)
			feed(p, data, cut)
			p.Close()
			if r.open[Client] || len(r.stops) > 1 {
				t.Fatalf("open %v stops %v", r.open, r.stops)
			}
			for _, m := range r.msgs[Client] {
				if len(m.data) > 4096 {
					t.Fatalf("message of %d bytes past the cap", len(m.data))
				}
			}
			return fmt.Sprint(r.msgs, r.ctl, r.stops)
		}
		whole := run(0)
		cut := 1 + len(data)%11
		if split := run(cut); split != whole {
			t.Fatalf("cut %d differs:\n%s\nwhole:\n%s", cut, split, whole)
		}
	})
}
