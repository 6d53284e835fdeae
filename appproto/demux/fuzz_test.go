package demux

import (
	"net/netip"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
	"github.com/tapdlp/tapdlp/reassembly"
)

// FuzzRecognise feeds arbitrary client bytes to a TCP flow whole and cut
// into pieces (sizes from cuts): it must not panic, must keep its undecided
// buffer within MaxUndecided, and must recognise the same protocol and
// name either way. Port 25 turns off the re-sniffing of unrecognised
// payload, which looks at chunk starts by design.
func FuzzRecognise(f *testing.F) {
	f.Add(scenarios.HTTPRequest("GET", "/a?b=c", "h.example", nil, nil), []byte{1, 5, 2})
	f.Add(scenarios.ClientHello("sni.example", "h2"), []byte{1, 1, 3, 200})
	f.Add(dnsTCP(scenarios.DNSQuery(1, "q.example", 1)), []byte{1})
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), []byte{4})
	f.Add([]byte("\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"), []byte{1})
	f.Add([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"), []byte{3, 7})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		run := func(cut func(i int) int) (Result, *Flow) {
			fl := new(Flow)
			fl.Reset(New(Config{}), &reassembly.Flow{Proto: capture.ProtoTCP, SrcPort: 40000, DstPort: 25,
				Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}, new(recSink))
			b := data
			for i := 0; len(b) > 0; i++ {
				k := min(len(b), cut(i))
				if !fl.Data(Out, b[:k], 1) {
					break
				}
				if len(fl.pend[Out]) > MaxUndecided {
					t.Fatalf("undecided buffer %d bytes", len(fl.pend[Out]))
				}
				b = b[k:]
			}
			fl.Close()
			return *fl.Result(), fl
		}
		whole, _ := run(func(int) int { return len(data) })
		pieces, _ := run(func(i int) int {
			if len(cuts) == 0 {
				return 1
			}
			return 1 + int(cuts[i%len(cuts)])
		})
		if whole.App != pieces.App || whole.Name != pieces.Name || whole.NameSource != pieces.NameSource {
			t.Fatalf("whole: %s %q %s; in pieces: %s %q %s", whole.App, whole.Name, whole.NameSource,
				pieces.App, pieces.Name, pieces.NameSource)
		}
	})
}
