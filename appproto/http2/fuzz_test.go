package http2

import (
	"testing"
)

// FuzzConn feeds both directions of a connection, whole and cut at
// positions derived from the input, and checks what hostile input must not
// break: no panic, the Handler contract (recorder), at most one Stop per
// side, every started message ended after Close, decoded bodies within the
// cap, and the same events however the bytes were cut.
func FuzzConn(f *testing.F) {
	f.Add([]byte(Preface), []byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, cli, srv []byte) {
		cfg := Config{MaxStreams: 4, MaxHeaderList: 2048, MaxHeaderBlock: 8192, MaxDecoded: 4096, MaxTableSize: 4096}
		run := func(cut int) *recorder {
			r := newRecorder(t)
			c := NewConn(cfg, r)
			feedCut(c, Request, cli, cut)
			feedCut(c, Response, srv, cut)
			c.Close()
			if len(r.open) != 0 {
				t.Fatalf("%d messages not ended", len(r.open))
			}
			if len(r.stops) > 2 {
				t.Fatalf("stops %v", r.stops)
			}
			for _, m := range r.msgs {
				if int64(m.body.Len()) > cfg.MaxDecoded && m.cenc != "" && !m.flags.Has(FlagUndecoded) {
					t.Fatalf("decoded %d bytes past the cap", m.body.Len())
				}
			}
			return r
		}
		whole := run(0)
		cut := 1 + (len(cli)+len(srv))%13
		if a, b := whole.summary(), run(cut).summary(); a != b {
			t.Fatalf("cut %d differs:\n%s\nwhole:\n%s", cut, b, a)
		}
	})
}

func feedCut(c *Conn, side Side, b []byte, cut int) {
	for len(b) > 0 {
		n := len(b)
		if cut > 0 {
			n = min(n, cut)
		}
		c.Feed(side, b[:n])
		b = b[n:]
	}
}
