package reassembly

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/capture"
)

// step is either a packet or, when pkt is nil, an Advance to t0+at; after
// it the number of final records must be finals (and the last one's state
// state, when set).
type step struct {
	pkt    *capture.Packet
	at     int64
	finals int
	state  EndReason
}

func tcpAt(tp tpkt) *capture.Packet { return tcpPacket(tp, 1000, 5000) }

func icmpPacket(at int64, src, dst netip.Addr, typ uint8) *capture.Packet {
	return &capture.Packet{TS: t0 + at, Proto: capture.ProtoICMP, Src: src, Dst: dst, ICMPType: typ, IPLen: 84, Payload: []byte("ping")}
}

func TestTimeouts(t *testing.T) {
	ms := int64(time.Millisecond)
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"SYN only expires after 30s", Config{}, []step{
			{pkt: tcpAt(tpkt{flags: fS})},
			{at: 30*sec - ms},
			{at: 30 * sec, finals: 1, state: EndTimeout},
		}},
		{"established idle 5 min", Config{}, []step{
			{pkt: tcpAt(tpkt{flags: fS})},
			{pkt: tcpAt(tpkt{in: true, flags: fSA, ack: 1})},
			{at: 5*60*sec - ms},
			{at: 5 * 60 * sec, finals: 1, state: EndTimeout},
		}},
		{"FIN both ways: closed after 5s linger", Config{}, []step{
			{pkt: tcpAt(tpkt{flags: fS})},
			{pkt: tcpAt(tpkt{in: true, flags: fSA, ack: 1})},
			{pkt: tcpAt(tpkt{flags: fFA, seq: 1, ack: 1, at: sec})},
			{at: 50 * sec},
			{pkt: tcpAt(tpkt{in: true, flags: fFA, seq: 1, ack: 2, at: 60 * sec})},
			{at: 65*sec - ms},
			{at: 65 * sec, finals: 1, state: EndClosed},
		}},
		{"mid-stream pickup gets the established timeout", Config{}, []step{
			{pkt: tcpAt(tpkt{flags: fPA, seq: 1, ack: 1, data: "x"})},
			{at: 5*60*sec - ms},
			{at: 5 * 60 * sec, finals: 1, state: EndTimeout},
		}},
		{"FIN scan probe gets the short timeout", Config{}, []step{
			{pkt: tcpAt(tpkt{flags: capture.TCPFin})},
			{at: 30 * sec, finals: 1, state: EndTimeout},
		}},
		{"UDP idle 60s from the last packet", Config{}, []step{
			{pkt: udpPacket(0, cliAddr, srvAddr, 5353, 5353, "q")},
			{pkt: udpPacket(30*sec, srvAddr, cliAddr, 5353, 5353, "r")},
			{at: 90*sec - ms},
			{at: 90 * sec, finals: 1, state: EndTimeout},
		}},
		{"configured UDP timeout", Config{UDPTimeout: 10 * time.Second}, []step{
			{pkt: udpPacket(0, cliAddr, srvAddr, 5000, 9000, "q")},
			{at: 10 * sec, finals: 1, state: EndTimeout},
		}},
		{"DNS idle 10s from the last packet", Config{}, []step{
			{pkt: udpPacket(0, cliAddr, srvAddr, 40000, 53, "q")},
			{pkt: udpPacket(2*sec, srvAddr, cliAddr, 53, 40000, "r")},
			{at: 12*sec - ms},
			{at: 12 * sec, finals: 1, state: EndTimeout},
		}},
		{"DNS picked up at its response", Config{}, []step{
			{pkt: udpPacket(0, srvAddr, cliAddr, 53, 40000, "r")},
			{at: 10 * sec, finals: 1, state: EndTimeout},
		}},
		{"configured DNS timeout", Config{DNSTimeout: time.Minute}, []step{
			{pkt: udpPacket(0, cliAddr, srvAddr, 40000, 53, "q")},
			{at: 60*sec - ms},
			{at: 60 * sec, finals: 1, state: EndTimeout},
		}},
		{"ICMP idle 60s", Config{}, []step{
			{pkt: icmpPacket(0, cliAddr, srvAddr, 8)},
			{pkt: icmpPacket(sec, srvAddr, cliAddr, 0)},
			{at: 61*sec - ms},
			{at: 61 * sec, finals: 1, state: EndTimeout},
		}},
		{"a packet after the deadline starts a new flow", Config{}, []step{
			{pkt: udpPacket(0, cliAddr, srvAddr, 5000, 9000, "q")},
			{pkt: udpPacket(61*sec, cliAddr, srvAddr, 5000, 9000, "q"), finals: 1, state: EndTimeout},
			{at: 200 * sec, finals: 2, state: EndTimeout},
		}},
		{"packet time never goes backwards", Config{}, []step{
			{pkt: udpPacket(100*sec, cliAddr, srvAddr, 5000, 9000, "q")},
			{pkt: udpPacket(0, cliAddr, srvAddr, 5000, 9000, "q")},
			{at: 159 * sec},
			{at: 160 * sec, finals: 1, state: EndTimeout},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecHandler()
			tb := NewTable(tc.cfg, h, nil, nil)
			for i, s := range tc.steps {
				if s.pkt != nil {
					tb.Packet(s.pkt)
				} else {
					tb.Advance(t0 + s.at)
				}
				fin := h.finals()
				if len(fin) != s.finals {
					t.Fatalf("step %d: %d final records, want %d", i, len(fin), s.finals)
				}
				if s.finals > 0 && fin[len(fin)-1].state != s.state {
					t.Fatalf("step %d: state %q, want %q", i, fin[len(fin)-1].state, s.state)
				}
			}
		})
	}
}

func TestActiveTimeoutInterim(t *testing.T) {
	h := newRecHandler()
	st := new(Stats)
	tb := NewTable(Config{}, h, nil, st)
	for i := int64(0); i <= 22; i++ { // every 30 s for 11 minutes
		tb.Packet(udpPacket(i*30*sec, cliAddr, srvAddr, 40000, 443, "x"))
	}
	if len(h.emits) != 2 || st.InterimRecords.Load() != 2 {
		t.Fatalf("got %d emits (%d counted), want 2 interim", len(h.emits), st.InterimRecords.Load())
	}
	for i, e := range h.emits {
		if e.final || e.state != EndActive {
			t.Errorf("emit %d: state %q final %v, want active interim", i, e.state, e.final)
		}
	}
	if got := h.emits[1].flow.Packets[DirOut]; got != 20 {
		t.Errorf("second interim counts %d packets, want 20 (cumulative, before the 10-minute packet)", got)
	}
	tb.Flush(EndShutdown)
	fin := h.finals()
	if len(fin) != 1 || fin[0].flow.Packets[DirOut] != 23 || fin[0].transcript[DirOut] != strings.Repeat("x", 23) {
		t.Fatalf("final record wrong: %+v", fin)
	}

	h2 := newRecHandler()
	tb2 := NewTable(Config{ActiveTimeout: -1}, h2, nil, nil)
	for i := int64(0); i <= 22; i++ {
		tb2.Packet(udpPacket(i*30*sec, cliAddr, srvAddr, 40000, 443, "x"))
	}
	if len(h2.emits) != 0 {
		t.Fatalf("ActiveTimeout<0 still emitted %d interim records", len(h2.emits))
	}
}

func TestOrientation(t *testing.T) {
	other := netip.MustParseAddr("2001:db8::1")
	other2 := netip.MustParseAddr("2001:db8::2")
	tests := []struct {
		name    string
		pkts    []*capture.Packet
		src     netip.Addr
		srcPort uint16
		dstPort uint16
		history string
		icmp    [2]uint8
	}{
		{"UDP first packet sender", []*capture.Packet{udpPacket(0, cliAddr, srvAddr, 50000, 50001, "a")}, cliAddr, 50000, 50001, "D", [2]uint8{}},
		{"UDP DNS response first: client is src", []*capture.Packet{
			udpPacket(0, srvAddr, cliAddr, 53, 40000, "resp"),
			udpPacket(sec, cliAddr, srvAddr, 40000, 53, "q"),
		}, cliAddr, 40000, 53, "^dD", [2]uint8{}},
		{"UDP high well-known port", []*capture.Packet{udpPacket(0, srvAddr, cliAddr, 8443, 51000, "a")}, cliAddr, 51000, 8443, "^d", [2]uint8{}},
		{"TCP mid-stream from server", []*capture.Packet{tcpAt(tpkt{in: true, flags: fA, seq: 1, ack: 1})}, cliAddr, 40000, 80, "^a", [2]uint8{}},
		{"ICMP echo request and reply share a flow", []*capture.Packet{
			icmpPacket(0, cliAddr, srvAddr, 8),
			icmpPacket(sec, srvAddr, cliAddr, 0),
		}, cliAddr, 0, 0, "", [2]uint8{8, 0}},
		{"ICMP reply seen first", []*capture.Packet{icmpPacket(0, srvAddr, cliAddr, 0)}, cliAddr, 0, 0, "^", [2]uint8{0, 0}},
		{"ICMPv6 echo", []*capture.Packet{{TS: t0, Proto: capture.ProtoICMPv6, Src: other, Dst: other2, ICMPType: 128, IPLen: 64}}, other, 0, 0, "", [2]uint8{128, 0}},
		{"other protocol keyed without ports", []*capture.Packet{
			{TS: t0, Proto: 47, Src: cliAddr, Dst: srvAddr, SrcPort: 1, DstPort: 2, IPLen: 100},
			{TS: t0, Proto: 47, Src: srvAddr, Dst: cliAddr, SrcPort: 9, DstPort: 9, IPLen: 100},
		}, cliAddr, 0, 0, "", [2]uint8{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecHandler()
			tb := NewTable(Config{}, h, nil, nil)
			for _, p := range tc.pkts {
				tb.Packet(p)
			}
			if tb.Len() != 1 {
				t.Fatalf("%d flows, want 1", tb.Len())
			}
			tb.Flush(EndShutdown)
			f := h.finals()[0].flow
			if f.Src != tc.src || f.SrcPort != tc.srcPort || f.DstPort != tc.dstPort {
				t.Errorf("src %v:%d dport %d, want %v:%d dport %d", f.Src, f.SrcPort, f.DstPort, tc.src, tc.srcPort, tc.dstPort)
			}
			if got := f.History(); got != tc.history {
				t.Errorf("history %q, want %q", got, tc.history)
			}
			if f.ICMPType != tc.icmp[0] || f.ICMPCode != tc.icmp[1] {
				t.Errorf("icmp %d/%d, want %v", f.ICMPType, f.ICMPCode, tc.icmp)
			}
			var n uint64
			for _, p := range tc.pkts {
				n += uint64(p.IPLen)
			}
			if f.Bytes[0]+f.Bytes[1] != n || f.Packets[0]+f.Packets[1] != uint64(len(tc.pkts)) {
				t.Errorf("bytes %v packets %v, want %d bytes %d packets in total", f.Bytes, f.Packets, n, len(tc.pkts))
			}
		})
	}
}

func TestMaxFlowsEvictsLeastRecentlyActive(t *testing.T) {
	h := newRecHandler()
	st := new(Stats)
	tb := NewTable(Config{MaxFlows: 2}, h, nil, st)
	tb.Packet(udpPacket(0, cliAddr, srvAddr, 1001, 53, "a"))
	tb.Packet(tcpAt(tpkt{flags: fS, at: sec}))
	tb.Packet(udpPacket(2*sec, cliAddr, srvAddr, 1001, 53, "b")) // refreshes the UDP flow
	tb.Packet(udpPacket(3*sec, cliAddr, srvAddr, 1002, 53, "c")) // evicts the TCP flow
	fin := h.finals()
	if len(fin) != 1 || fin[0].flow.Proto != capture.ProtoTCP || fin[0].state != EndTimeout {
		t.Fatalf("want the TCP flow evicted with state timeout, got %+v", fin)
	}
	if tb.Len() != 2 || st.FlowsOpen.Load() != 2 || st.FlowsEvicted.Load() != 1 || st.FlowsTimeout.Load() != 0 || st.FlowsCreated.Load() != 3 {
		t.Fatalf("len %d open %d evicted %d timeout %d created %d", tb.Len(), st.FlowsOpen.Load(), st.FlowsEvicted.Load(), st.FlowsTimeout.Load(), st.FlowsCreated.Load())
	}
}

func TestClosedTupleReusedByNewSYN(t *testing.T) {
	h := newRecHandler()
	st := new(Stats)
	tb := NewTable(Config{}, h, nil, st)
	for _, tp := range withHandshake(tpkt{flags: fR, seq: 1}) {
		tb.Packet(tcpAt(tp))
	}
	tb.Packet(tcpPacket(tpkt{flags: fS, at: sec}, 777, 0))
	fin := h.finals()
	if len(fin) != 1 || fin[0].state != EndReset || fin[0].history != "ShAR" {
		t.Fatalf("old flow not ended as reset: %+v", fin)
	}
	if tb.Len() != 1 || st.FlowsReused.Load() != 1 {
		t.Fatalf("len %d reused %d", tb.Len(), st.FlowsReused.Load())
	}
}

func TestDeclinedStreamOnlyCounts(t *testing.T) {
	h := newRecHandler()
	h.decline = true
	mem := NewMemory(0)
	st := new(Stats)
	tb := NewTable(Config{}, h, mem, st)
	for _, tp := range withHandshake(
		tpkt{flags: fPA, seq: 100, ack: 1, data: "ooo"},
		tpkt{flags: fPA, seq: 1, ack: 1, data: "data"},
	) {
		tb.Packet(tcpAt(tp))
	}
	if mem.Used() != 0 {
		t.Fatalf("a flow nobody reads buffered %d bytes", mem.Used())
	}
	tb.Flush(EndShutdown)
	f := h.finals()[0].flow
	if f.Packets[DirOut] != 4 || st.StreamsDeclined.Load() != 1 {
		t.Fatalf("packets %v declined %d", f.Packets, st.StreamsDeclined.Load())
	}
}

func TestOutOfOrderCaps(t *testing.T) {
	seg1000 := strings.Repeat("y", 1000)
	t.Run("per-flow cap skips the hole before the flow ends", func(t *testing.T) {
		h := newRecHandler()
		st := new(Stats)
		mem := NewMemory(0)
		tb := NewTable(Config{FlowOOOCap: 64 << 10}, h, mem, st)
		for _, tp := range handshake {
			tb.Packet(tcpAt(tp))
		}
		// 1-byte hole at seq 1, then 1000-byte segments (1 KiB buffers).
		for i := range 70 {
			tb.Packet(tcpAt(tpkt{flags: fPA, seq: 2 + uint32(i*1000), ack: 1, data: seg1000}))
			if tb.MemInUse() > 64<<10 {
				t.Fatalf("segment %d: table holds %d bytes, over the 64 KiB flow cap", i, tb.MemInUse())
			}
		}
		s := h.live[firstLive(h)]
		if got, want := s.buf[DirOut].String(), "<gap 1>"+strings.Repeat(seg1000, 70); got != want {
			t.Fatalf("delivered %d bytes before the end (%.40q), want %d", len(got), got, len(want))
		}
		if st.CapGaps.Load() != 1 || st.OOOBytesDropped.Load() != 0 {
			t.Fatalf("cap gaps %d, dropped %d; want 1, 0", st.CapGaps.Load(), st.OOOBytesDropped.Load())
		}
		tb.Flush(EndShutdown)
		if mem.Used() != 0 {
			t.Fatalf("memory %d after flush", mem.Used())
		}
	})
	t.Run("segment count bound against tiny-segment floods", func(t *testing.T) {
		h := newRecHandler()
		st := new(Stats)
		tb := NewTable(Config{}, h, nil, st)
		for _, tp := range handshake {
			tb.Packet(tcpAt(tp))
		}
		var want strings.Builder
		for i := range 3000 { // one byte every other sequence number
			c := string(rune('a' + i%26))
			tb.Packet(tcpAt(tpkt{flags: fPA, seq: 2 + uint32(2*i), ack: 1, data: c}))
			want.WriteString("<gap 1>" + c)
			for _, e := range tb.flows.slots {
				if c := e.c; c != nil && c.half[DirOut].nsegs() > maxSegs {
					t.Fatalf("%d segments buffered, bound is %d", c.half[DirOut].nsegs(), maxSegs)
				}
			}
		}
		tb.Flush(EndShutdown)
		e := h.finals()[0]
		if e.transcript[DirOut] != want.String() || e.flow.Missed[DirOut] != 3000 {
			t.Fatalf("transcript or missed wrong: missed %d, %.60q", e.flow.Missed[DirOut], e.transcript[DirOut])
		}
	})
	t.Run("global memcap drops new out-of-order data of other flows", func(t *testing.T) {
		h := newRecHandler()
		st := new(Stats)
		mem := NewMemory(4096)
		// No kept copies of delivered bytes: this counts out-of-order memory.
		tb := NewTable(Config{OverlapWindow: -1}, h, mem, st)
		a := func(tp tpkt) *capture.Packet { return tcpPacket(tp, 1000, 5000) }
		b := func(tp tpkt) *capture.Packet {
			p := tcpPacket(tp, 1, 2)
			if p.SrcPort == 40000 {
				p.SrcPort = 40001
			} else {
				p.DstPort = 40001
			}
			return p
		}
		for _, mk := range []func(tpkt) *capture.Packet{a, b} {
			for _, tp := range handshake {
				tb.Packet(mk(tp))
			}
		}
		for i := range 4 { // flow a fills the 4 KiB memcap
			tb.Packet(a(tpkt{flags: fPA, seq: 2 + uint32(i*1000), ack: 1, data: seg1000}))
		}
		tb.Packet(b(tpkt{flags: fPA, seq: 2, ack: 1, data: seg1000}))
		if mem.Used() != 4096 {
			t.Fatalf("memory %d, want the 4096 cap", mem.Used())
		}
		if st.OOOBytesDropped.Load() != 1000 || st.MemcapDrops.Load() != 1 {
			t.Fatalf("dropped %d bytes in %d drops, want 1000 in 1", st.OOOBytesDropped.Load(), st.MemcapDrops.Load())
		}
		// Flow a's own next segment makes room by skipping its own hole.
		tb.Packet(a(tpkt{flags: fPA, seq: 4002, ack: 1, data: seg1000}))
		if mem.Used() != 0 {
			t.Fatalf("memory %d after flow a skipped its hole, want 0", mem.Used())
		}
		tb.Flush(EndShutdown)
		var dropped uint64
		for _, e := range h.finals() {
			dropped += e.flow.OOODropped
		}
		if dropped != 1000 || mem.Used() != 0 || tb.MemInUse() != 0 {
			t.Fatalf("flows report %d dropped, memory %d/%d after flush", dropped, mem.Used(), tb.MemInUse())
		}
	})
}

func firstLive(h *recHandler) *Flow {
	for f := range h.live {
		return f
	}
	return nil
}

func TestStatsEachNamesStable(t *testing.T) {
	var s Stats
	s.FlowsCreated.Add(3)
	seen := map[string]uint64{}
	s.Each(func(name string, v uint64) {
		if _, dup := seen[name]; dup {
			t.Errorf("duplicate name %q", name)
		}
		seen[name] = v
	})
	if seen["flows_created"] != 3 || len(seen) != 35 {
		t.Fatalf("got %v", seen)
	}
}

// TestHostilePacketsDoNotPanic feeds values no decoder should produce.
func TestHostilePacketsDoNotPanic(t *testing.T) {
	mem := NewMemory(0)
	tb := NewTable(Config{MaxFlows: 4}, newRecHandler(), mem, nil)
	pkts := []*capture.Packet{
		{},
		{Proto: capture.ProtoTCP, TCPFlags: 0xff, Seq: 0xffffffff, Payload: []byte("x"), IPLen: -5},
		{Proto: capture.ProtoTCP, TCPFlags: fPA, Seq: 0x80000000, Payload: []byte("y"), TS: -1},
		{Proto: capture.ProtoTCP, TCPFlags: fA, Ack: 0x7fffffff, TS: 1 << 62},
		{Proto: capture.ProtoUDP, Src: cliAddr, Payload: make([]byte, 70000)},
		{Proto: 255, Src: netip.IPv6Unspecified(), Dst: cliAddr, SrcPort: 1, DstPort: 1},
		{Proto: capture.ProtoTCP, Src: srvAddr, Dst: srvAddr, SrcPort: 7, DstPort: 7, TCPFlags: fS, Payload: make([]byte, 70000)},
	}
	for _, p := range pkts {
		tb.Packet(p)
		tb.Packet(p)
	}
	tb.Advance(1<<63 - 1)
	tb.Flush(EndShutdown)
	if tb.Len() != 0 || mem.Used() != 0 {
		t.Fatalf("%d flows, %d bytes left", tb.Len(), mem.Used())
	}
}

func TestUDPDelivery(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		budget  [2]int
		out, in string
		depth   bool
	}{
		{"each datagram delivered", Config{}, [2]int{}, "12345678abcdefghi", "resp", false},
		{"inspect depth cuts the datagram that crosses it", Config{InspectDepth: 10}, [2]int{}, "12345678ab", "resp", true},
		{"consumer declines after the first datagram", Config{}, [2]int{1, 0}, "12345678", "resp", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecHandler()
			h.budget = tc.budget
			tb := NewTable(tc.cfg, h, nil, nil)
			tb.Packet(udpPacket(0, cliAddr, srvAddr, 40000, 53, "12345678"))
			tb.Packet(udpPacket(1, srvAddr, cliAddr, 53, 40000, "resp"))
			tb.Packet(udpPacket(2, cliAddr, srvAddr, 40000, 53, "abcdef"))
			tb.Packet(udpPacket(3, cliAddr, srvAddr, 40000, 53, "ghi"))
			tb.Flush(EndShutdown)
			e := h.finals()[0]
			if e.transcript[DirOut] != tc.out || e.transcript[DirIn] != tc.in {
				t.Errorf("transcripts %q / %q, want %q / %q", e.transcript[DirOut], e.transcript[DirIn], tc.out, tc.in)
			}
			if e.flow.DepthReached != tc.depth || e.history != "Dd" {
				t.Errorf("depth %v history %q", e.flow.DepthReached, e.history)
			}
		})
	}
}

func TestHistoryLogarithmicLetters(t *testing.T) {
	var f Flow
	var h history
	for range 100 {
		h.add(&f, DirOut, evRetrans)
		h.add(&f, DirIn, evZeroWin)
		h.add(&f, DirOut, evData)
	}
	if got := f.History(); got != "TwDTwTw" {
		t.Fatalf("history %q, want T and w at the 1st, 10th and 100th time, D once", got)
	}
	for range 1000 {
		h.add(&f, DirIn, evGap)
		h.add(&f, DirOut, evRst)
	}
	if len(f.History()) > maxHistory {
		t.Fatalf("history grew to %d", len(f.History()))
	}
}

// TestSharedMemoryAcrossWorkers runs tables on two goroutines against one
// Memory and Stats (as the dispatcher does) and checks the accounting ends
// at zero; run with -race.
func TestSharedMemoryAcrossWorkers(t *testing.T) {
	mem := NewMemory(64 << 10)
	st := new(Stats)
	done := make(chan *Table)
	for w := range 2 {
		go func() {
			tb := NewTable(Config{}, &nopHandler{}, mem, st)
			payload := strings.Repeat("p", 1000)
			for f := range 50 {
				mk := func(tp tpkt) *capture.Packet {
					p := tcpAt(tp)
					if p.SrcPort == 40000 {
						p.SrcPort = uint16(1024 + w*100 + f)
					} else {
						p.DstPort = uint16(1024 + w*100 + f)
					}
					return p
				}
				for _, tp := range handshake {
					tb.Packet(mk(tp))
				}
				for i := range 20 { // every segment after a 1-byte hole
					tb.Packet(mk(tpkt{flags: fPA, seq: 2 + uint32(i*1000), ack: 1, data: payload}))
				}
			}
			tb.Flush(EndShutdown)
			done <- tb
		}()
	}
	for range 2 {
		if tb := <-done; tb.MemInUse() != 0 {
			t.Errorf("table holds %d bytes after flush", tb.MemInUse())
		}
	}
	if mem.Used() != 0 || st.FlowsOpen.Load() != 0 || st.FlowsShutdown.Load() != 100 || st.OOOBytesBuffered.Load() == 0 {
		t.Fatalf("memory %d, shutdown %d, buffered %d", mem.Used(), st.FlowsShutdown.Load(), st.OOOBytesBuffered.Load())
	}
}
