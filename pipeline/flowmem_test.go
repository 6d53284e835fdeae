package pipeline

import (
	"context"
	"net/netip"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/record"
)

// A SYN flood larger than flows.memcap holds evicts the least recently
// active flows, counts every eviction, and still writes one record per flow.
func TestFlowsMemcapEvicts(t *testing.T) {
	const syns = 3000
	var pkts [][]byte
	for i := range syns {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 7, byte(i >> 8), byte(i)}), 40000)
		c := pcapgen.NewTCPConn(client, ap("192.0.2.1:443"), 1, 2)
		pkts = append(pkts, c.Packet(c.Handshake()[0]))
	}
	path := writeCapture(t, pkts)
	for _, tc := range []struct {
		memcap  string
		evicted bool
	}{
		{"1MiB", true},   // about 600 half-open flows
		{"64MiB", false}, // all of them
	} {
		t.Run(tc.memcap, func(t *testing.T) {
			cfg, err := parseTestConfig("flows: {memcap: " + tc.memcap + "}\n")
			if err != nil {
				t.Fatal(err)
			}
			cfg.Workers = 1
			var n countingSink
			p, err := New(cfg, Options{Sink: &n})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Replay(context.Background(), []string{path}); err != nil {
				t.Fatal(err)
			}
			st := p.FlowStats()
			ev, evm := st.FlowsEvicted.Load(), st.FlowsEvictedMemcap.Load()
			if (evm > 0) != tc.evicted || ev != evm {
				t.Errorf("evicted %d, at the memcap %d; want evictions %v, all at the memcap", ev, evm, tc.evicted)
			}
			if tc.evicted && evm < syns-700 {
				t.Errorf("only %d evicted: the budget holds more flows than it should", evm)
			}
			if n.n != syns {
				t.Errorf("%d records, want %d", n.n, syns)
			}
		})
	}
}

type countingSink struct{ n int }

func (s *countingSink) Write(rec record.Encoded) error {
	if rec.Kind == record.KindFlow {
		s.n++
	}
	return nil
}
func (s *countingSink) Close() error { return nil }
