package demux

import (
	"net/netip"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
	"github.com/tapdlp/tapdlp/reassembly"
)

// nopSink is a Sink that keeps nothing.
type nopSink struct{}

func (nopSink) Changed()                         {}
func (nopSink) Redact(b []byte) string           { return "" }
func (nopSink) URL(Dir, []byte, []byte)          {}
func (nopSink) MessageStart(Dir, []byte, []byte) {}
func (nopSink) Header(Dir, []byte, []byte)       {}
func (nopSink) Body(Dir, []byte)                 {}
func (nopSink) MessageEnd(Dir)                   {}
func (nopSink) Raw(Dir, []byte) bool             { return true }
func (nopSink) Truncated(Dir, Truncation)        {}

// BenchmarkFlow recognises and parses one recycled flow per iteration,
// whole segments and 1-byte segments, one sub-benchmark per conversation:
// the cost recognition adds per flow, and the allocations a flow makes
// (its Result's strings; nothing per chunk).
func BenchmarkFlow(b *testing.B) {
	for _, c := range convs() {
		for _, mode := range []struct {
			name string
			size int
		}{{"whole", 1 << 20}, {"1-byte", 1}} {
			b.Run(c.name+"/"+mode.name, func(b *testing.B) {
				d := New(Config{})
				f := &reassembly.Flow{Proto: capture.ProtoTCP, SrcPort: 40000, DstPort: c.port,
					Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("192.0.2.1")}
				var fl Flow
				feed := func(dir Dir, p []byte) {
					for len(p) > 0 {
						k := min(len(p), mode.size)
						if !fl.Data(dir, p[:k], 1) {
							return
						}
						p = p[k:]
					}
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(c.out) + len(c.in)))
				for range b.N {
					fl.Reset(d, f, nopSink{})
					feed(Out, c.out)
					feed(In, c.in)
					fl.Close()
				}
			})
		}
	}
}

// BenchmarkDNSFlow is one recycled UDP DNS flow per iteration: a query and
// its response with two address answers (recognition by port, the record
// with its question and answers; the answers are not learned: no Answers
// consumer). In steady state it allocates nothing.
func BenchmarkDNSFlow(b *testing.B) {
	d := New(Config{})
	f := &reassembly.Flow{Proto: capture.ProtoUDP, SrcPort: 40000, DstPort: 53,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("192.0.2.53")}
	q := scenarios.DNSQuery(7, "files.example.com", 1)
	r := scenarios.DNSResponse(7, "files.example.com", 1,
		scenarios.DNSAnswer{Name: "files.example.com", Addr: netip.MustParseAddr("192.0.2.7"), TTL: 60},
		scenarios.DNSAnswer{Name: "files.example.com", Addr: netip.MustParseAddr("192.0.2.8"), TTL: 60})
	var fl Flow
	b.ReportAllocs()
	for b.Loop() {
		fl.Reset(d, f, nopSink{})
		fl.Data(Out, q, 1)
		fl.Data(In, r, 2)
		fl.Close()
	}
	if rec := fl.Result().DNS; rec == nil || len(rec.Answers) != 2 || rec.Query != "files.example.com" {
		b.Fatalf("DNS record %+v", rec)
	}
}
