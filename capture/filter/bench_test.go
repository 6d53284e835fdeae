package filter

import (
	"testing"

	"golang.org/x/net/bpf"
)

var benchExprs = []struct{ name, expr string }{
	{"tcp", "tcp"},
	{"port", "tcp port 80 or udp port 53"},
	{"host6", "host 2001:db8::1 and not port 22"},
	{"vlan", "vlan and vlan 100 and tcp port 80"},
	{"arith", "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn"},
	{"long", "(port 1 or port 2 or port 3 or port 4 or port 5 or port 6) and not (port 7 or port 8 or port 9 or port 10) or icmp"},
}

func BenchmarkCompile(b *testing.B) {
	for _, be := range benchExprs {
		b.Run(be.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(be.expr, LinkEthernet, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMatch reports ns per packet over the generated mixed capture,
// for the Matcher and for bpf.VM running the same program.
func BenchmarkMatch(b *testing.B) {
	fr := mixedEthernet(b)
	for _, be := range benchExprs {
		m, err := NewMatcher(be.expr, LinkEthernet)
		if err != nil {
			b.Fatal(err)
		}
		prog, _ := Compile(be.expr, LinkEthernet, 0)
		vm, err := bpf.NewVM(prog)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(be.name+"/matcher", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f := fr[i%len(fr)]
				m.MatchLen(f.data, f.wire)
				i++
			}
		})
		b.Run(be.name+"/bpfvm", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := vm.Run(fr[i%len(fr)].data); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
