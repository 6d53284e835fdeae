package pipeline

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// BenchmarkSYNOnlyFlowCost opens flows that never carry a payload byte (a
// port scan, a SYN flood) and reports the heap each one costs: flow table
// entry, session and its application-layer state (issue 11 item 3, issue
// 15 lever 2). Run with -benchtime=20000x so b.N flows are open at once.
func BenchmarkSYNOnlyFlowCost(b *testing.B) {
	p := oneWorkerPipeline(b, "flows: {max_flows: 2000000}\n")
	w := newWorker(0, p)
	dec := capture.NewDecoder(p.decoderConfig(), p.decStats)
	var pkt capture.Packet
	frames := make([][]byte, b.N)
	for i := range frames {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
		conn := pcapgen.NewTCPConn(client, ap("192.0.2.1:443"), 1, 2)
		frames[i] = pcapgen.EthernetIP(conn.Packet(conn.Handshake()[0]))
	}
	bt := newBatch()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i, f := range frames {
		m := capture.Meta{TS: int64(1e18) + int64(i), CapLen: len(f), WireLen: len(f), LinkType: capture.LinkEthernet}
		if dec.Decode(f, m, &pkt) != capture.OK {
			b.Fatal("decode failed")
		}
		bt.reset()
		bt.add(&pkt)
		w.packet(&bt.pkts[0], usePacket)
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := len(openSessions(w)); n != b.N {
		b.Fatalf("%d sessions open, want %d", n, b.N)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heapB/flow")
	runtime.KeepAlive(w)
}
