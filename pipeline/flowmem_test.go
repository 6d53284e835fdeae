package pipeline

import (
	"context"
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"unsafe"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
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
		{"1MiB", true},   // about 1,150 half-open flows (910 B each)
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
			if tc.evicted && evm < syns-1200 {
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

// The memcap's per-flow estimate follows what an open flow really holds:
// for each kind of flow, the bytes the flow table charges (its own state,
// the session, scanning state, the parsers held) are compared with the
// heap N such flows take (runtime.ReadMemStats), within a tolerance that
// covers size classes, map growth and the strings a record keeps.
func TestFlowMemcapEstimateMatchesHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap over thousands of flows")
	}
	const n = 4000
	server := func(port uint16) netip.AddrPort { return ap("192.0.2.1:" + strconv.Itoa(int(port))) }
	client := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), 40000)
	}
	tcp := func(i int, port uint16, out, in []byte) [][]byte {
		c := pcapgen.NewTCPConn(client(i), server(port), 1, 2)
		var segs []pcapgen.Segment
		segs = append(segs, c.Handshake()...)
		if len(out) > 0 {
			segs = append(segs, c.Send(true, out)...)
		}
		if len(in) > 0 {
			segs = append(segs, c.Send(false, in)...)
		}
		var frames [][]byte
		for _, s := range segs {
			frames = append(frames, pcapgen.EthernetIP(c.Packet(s)))
		}
		return frames
	}
	body := []byte(`{"event":"login","user":"u-1234","ok":true}`)
	for _, tc := range []struct {
		name  string
		flow  func(i int) [][]byte
		ratio [2]float64 // estimate / measured, bounds
	}{
		{"syn-only", func(i int) [][]byte {
			c := pcapgen.NewTCPConn(client(i), server(443), 1, 2)
			return [][]byte{pcapgen.EthernetIP(c.Packet(c.Handshake()[0]))}
			// The HeapAlloc delta reads ~150 B per flow below what the flows
			// hold: runtime.MemStats.BySize shows one 512-byte conn and one
			// 352-byte session live per flow (864 B before the index),
			// against a delta of 720 B; something set up before the
			// measurement is freed during it. The estimate (896 B) was
			// over the delta by as much before (1,102 against 970 B); the
			// smaller total makes that a larger ratio.
		}, [2]float64{0.85, 1.3}},
		{"tls-hello", func(i int) [][]byte {
			return tcp(i, 443, scenarios.ClientHello("chat.example.ai", "h2"), scenarios.TLSRecords(22, 1200))
		}, [2]float64{0.75, 1.15}},
		{"http-request", func(i int) [][]byte {
			return tcp(i, 80, scenarios.HTTPRequest("POST", "/v1/events", "api.example.com",
				[]string{"Content-Type: application/json"}, body), nil)
		}, [2]float64{0.75, 1.15}},
		// A cleanly closed flow is no longer held for the linger: only its
		// tombstone is (reassembly's TestTombBytesMatchesHeap).
		{"dns-udp", func(i int) [][]byte {
			q := scenarios.DNSQuery(uint16(i), "files.example.com", 1)
			return [][]byte{pcapgen.EthernetIP(pcapgen.IPUDP(client(i), server(53), q))}
		}, [2]float64{0.8, 1.15}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// HeapAlloc is the whole process's: a goroutine an earlier test
			// left finishing can free or hold memory during a measurement
			// (seen once in CI: 1,064 B against 1,359 B the run before). An
			// estimate that is really off is off in every attempt.
			var est, heap, r float64
			for range 3 {
				est, heap = measureFlowCost(t, n, tc.flow)
				r = est / heap
				t.Logf("estimate %.0f B per flow, heap %.0f B per flow (ratio %.2f)", est, heap, r)
				if r >= tc.ratio[0] && r <= tc.ratio[1] {
					break
				}
			}
			if r < tc.ratio[0] || r > tc.ratio[1] {
				t.Errorf("memcap estimate %.0f B per flow against %.0f B measured: ratio %.2f outside [%.2f, %.2f]",
					est, heap, r, tc.ratio[0], tc.ratio[1])
			}
		})
	}
}

// measureFlowCost opens n flows (frames of flow(i)) on one worker and
// returns the flow table's estimate and the measured heap, per flow.
func measureFlowCost(t *testing.T, n int, flow func(i int) [][]byte) (estimate, heap float64) {
	p := oneWorkerPipeline(t, "flows: {max_flows: 2000000}\n")
	w := newWorker(0, p)
	dec := capture.NewDecoder(p.decoderConfig(), p.decStats)
	var frames [][]byte
	for i := range n {
		frames = append(frames, flow(i)...)
	}
	var pkt capture.Packet
	bt := newBatch()
	step := func(i int, f []byte) {
		m := capture.Meta{TS: int64(1e18) + int64(i)*1000, CapLen: len(f), WireLen: len(f), LinkType: capture.LinkEthernet}
		if dec.Decode(f, m, &pkt) != capture.OK {
			t.Fatal("decode failed")
		}
		bt.reset()
		bt.add(&pkt)
		w.packet(&bt.pkts[0], usePacket)
	}
	// One flow first, so what every worker sets up once (scanner tables,
	// scratch buffers) is not counted per flow.
	for i, f := range flow(n + 1) {
		step(i, f)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i, f := range frames {
		step(i+100, f)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := w.table.Len() + w.table.Tombstones(); got != n+1 {
		t.Fatalf("%d flows open or closed within the linger, want %d", got, n+1)
	}
	estimate = float64(w.table.FlowBytes()) / float64(n+1)
	heap = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
	runtime.KeepAlive(frames)
	runtime.KeepAlive(w)
	return estimate, heap
}

// A session is allocated for every TCP and UDP flow: it must stay within
// the 352-byte size class (it took 704 B while it kept its own copy of the
// destination annotation); the next class is 384 B.
func TestSessionSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(session{}); n > 352 {
		t.Errorf("session is %d B: over 352 it takes the 384-byte size class (group small fields, move rare ones out)", n)
	}
}
