package demux

import (
	"net/netip"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/reassembly"
)

// A flow holds its parser only while the protocol needs it: a TLS flow
// that is not decrypted gives its parser back once the ClientHello is
// read, keeping what it learned; the flow's end gives back the others; the
// next flows of the worker reuse them instead of allocating.
func TestParsersAreRecycled(t *testing.T) {
	byName := map[string]conv{}
	for _, c := range convs() {
		byName[c.name] = c
	}
	for _, tc := range []struct {
		conv    string
		retired bool // no parser held once the conversation was fed
	}{
		{"tls", true},
		{"tls-any-port", true},
		{"http", false},
		{"dns-tcp", false},
	} {
		t.Run(tc.conv, func(t *testing.T) {
			c := byName[tc.conv]
			d := New(Config{})
			f := &reassembly.Flow{Proto: capture.ProtoTCP, SrcPort: 40000, DstPort: c.port,
				Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("192.0.2.1")}
			var fl Flow
			var first [6]any
			for round := range 3 {
				fl.Reset(d, f, nopSink{})
				fl.Data(Out, c.out, 1)
				if len(c.in) > 0 {
					fl.Data(In, c.in, 2)
				}
				if fl.Result().App != c.app {
					t.Fatalf("app %v, want %v", fl.Result().App, c.app)
				}
				if c.nameWant != "" && fl.Result().Name != c.nameWant {
					t.Errorf("name %q, want %q (a retired parser must leave its facts)", fl.Result().Name, c.nameWant)
				}
				held := fl.tls != nil || fl.http != nil || fl.dns != nil || fl.quic != nil
				if held == tc.retired {
					t.Errorf("round %d: parser held %v, want %v", round, held, !tc.retired)
				}
				if tc.retired {
					if _, ok := fl.cur.(finished); !ok {
						t.Errorf("current parser %T, want finished", fl.cur)
					}
					if fl.Data(Out, []byte{0x17, 3, 3, 0, 1, 0}, 3) {
						t.Error("a retired flow asked for more")
					}
				}
				fl.Close()
				ptrs := [6]any{fl.tls, fl.http, fl.dns, fl.quic, fl.h2, fl.ws}
				fl.Release()
				if fl.tls != nil || fl.http != nil || fl.dns != nil || fl.cur != nil {
					t.Fatal("Release kept a parser")
				}
				if round == 0 {
					first = ptrs
				} else if ptrs != first {
					t.Errorf("round %d: parsers %v, want the recycled %v", round, ptrs, first)
				}
			}
			p := &d.pool
			if n := len(p.tls.free) + len(p.http.free) + len(p.dns.free); n > 1 {
				t.Errorf("%d parsers pooled after one flow at a time, want at most 1", n)
			}
		})
	}
}

// The pool is bounded: a burst of flows ending together leaves at most
// maxFreeParsers of a kind behind.
func TestParserPoolBounded(t *testing.T) {
	var l freeList[tlsParser]
	ps := make([]*tlsParser, maxFreeParsers+10)
	for i := range ps {
		ps[i] = l.get()
	}
	for _, p := range ps {
		l.put(p)
	}
	if len(l.free) != maxFreeParsers {
		t.Errorf("%d pooled, want %d", len(l.free), maxFreeParsers)
	}
	l.put(nil)
	if len(l.free) != maxFreeParsers || l.get() == nil {
		t.Error("nil pooled or empty get")
	}
}
