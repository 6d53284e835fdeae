package reassembly

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/capture"
)

// closedConv is a complete HTTP-like exchange closed by FIN both ways, the
// last packet acknowledging the responder's FIN (at is ns from t0).
func closedConv(at int64) []tpkt {
	return []tpkt{
		{flags: fS, at: at},
		{in: true, flags: fSA, ack: 1, at: at + 1},
		{flags: fA, seq: 1, ack: 1, at: at + 2},
		{flags: fPA, seq: 1, ack: 1, data: "GET / HTTP/1.1\r\n\r\n", at: at + 3},
		{in: true, flags: fPA, seq: 1, ack: 19, data: "HTTP/1.1 200 OK\r\n\r\n", at: at + 4},
		{flags: fFA, seq: 19, ack: 20, at: at + 5},
		{in: true, flags: fFA, seq: 20, ack: 20, at: at + 6},
		{flags: fA, seq: 20, ack: 21, at: at + 7},
	}
}

// onPort moves p to client port port.
func onPort(p *capture.Packet, port uint16) *capture.Packet {
	if p.SrcPort == 80 {
		p.DstPort = port
	} else {
		p.SrcPort = port
	}
	return p
}

// lingerCloser is a Closer that asks for the flow to be kept whole.
type lingerCloser struct{ recStream }

func (s *lingerCloser) Closed() bool { return false }

type lingerHandler struct{ recHandler }

func (h *lingerHandler) Open(f *Flow) Stream {
	h.opens++
	s := &lingerCloser{recStream{f: f}}
	h.live[f] = &s.recStream
	return s
}

// TestTombstone checks what happens to packets after a flow's close
// completed and its final record was written: within the linger they are
// absorbed and counted (no spurious flow), a late packet extends the
// linger as it did for a lingering flow, a pure SYN starts a new flow,
// and after the linger a packet opens a flow of its own.
func TestTombstone(t *testing.T) {
	late := []tpkt{
		{in: true, flags: fFA, seq: 20, ack: 20, at: sec},          // retransmitted FIN
		{flags: fA, seq: 20, ack: 21, at: 2 * sec},                 // its ACK again
		{in: true, flags: fRA, seq: 21, ack: 20, at: 3 * sec},      // RST after the close
		{flags: fPA, seq: 20, ack: 21, data: "stray", at: 4 * sec}, // data after the FIN
	}
	tests := []struct {
		name      string
		cfg       Config
		after     []tpkt
		advance   int64 // >0: Advance to t0+advance before the last packet of after
		wantOpens int
		wantLate  uint64
		wantReuse uint64
		wantTombs int64 // tombstones left at the end
	}{
		{"late packets absorbed", Config{TCPCloseGrace: -1}, late, 0, 1, 4, 0, 1},
		{"a late packet extends the linger", Config{TCPCloseGrace: -1},
			[]tpkt{{flags: fA, seq: 20, ack: 21, at: 4 * sec}, {flags: fA, seq: 20, ack: 21, at: 8 * sec}}, 0, 1, 2, 0, 1},
		{"pure SYN starts a new flow", Config{TCPCloseGrace: -1},
			[]tpkt{late[0], {flags: fS, seq: 100, at: 2 * sec}}, 0, 2, 1, 1, 0},
		{"after the linger a packet opens a flow", Config{TCPCloseGrace: -1},
			[]tpkt{late[0], {flags: fA, seq: 20, ack: 21, at: 7 * sec}}, 0, 2, 1, 0, 0},
		{"the sweep forgets it", Config{TCPCloseGrace: -1},
			[]tpkt{late[0], {flags: fA, seq: 20, ack: 21, at: 7 * sec}}, 6*sec + 1, 2, 1, 0, 0},
		{"expire on advance: past the linger without a sweep", Config{ExpireOnAdvance: true, TCPCloseGrace: -1},
			[]tpkt{late[0], {flags: fA, seq: 20, ack: 21, at: 7 * sec}}, 0, 2, 1, 0, 0},
		{"expire on advance: within the linger", Config{ExpireOnAdvance: true, TCPCloseGrace: -1},
			[]tpkt{late[0], {flags: fA, seq: 20, ack: 21, at: 5 * sec}}, 0, 1, 2, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, st, tb := closedTable(tc.cfg)
			if fin := h.finals(); len(fin) != 1 || fin[0].state != EndClosed || fin[0].flow.Packets[0]+fin[0].flow.Packets[1] != 8 {
				t.Fatalf("want one closed record of 8 packets at the close, got %+v", fin)
			}
			if tb.Len() != 0 || tb.Tombstones() != 1 || st.Tombstones.Load() != 1 {
				t.Fatalf("after the close: %d flows, %d tombstones (gauge %d), want 0 and 1", tb.Len(), tb.Tombstones(), st.Tombstones.Load())
			}
			for i, tp := range tc.after {
				if tc.advance > 0 && i == len(tc.after)-1 {
					tb.Advance(t0 + tc.advance)
				}
				tb.Packet(tcpPacket(tp, closedISNC, closedISNS))
			}
			checkAfterClose(t, h, st, tc.wantOpens, tc.wantLate)
			if got := st.FlowsReused.Load(); got != tc.wantReuse {
				t.Errorf("%d reused, want %d", got, tc.wantReuse)
			}
			if got := st.Tombstones.Load(); got != tc.wantTombs || int64(tb.Tombstones()) != got {
				t.Errorf("%d tombstones (table says %d), want %d", got, tb.Tombstones(), tc.wantTombs)
			}
			if st.FlowsTombstoned.Load() != 1 || st.FlowsClosed.Load() != 1 {
				t.Errorf("tombstoned %d, closed %d, want 1 and 1", st.FlowsTombstoned.Load(), st.FlowsClosed.Load())
			}
			// Everything is forgotten after the linger, and by a flush.
			tb.Advance(t0 + 30*sec)
			if tb.Tombstones() != 0 || st.Tombstones.Load() != 0 {
				t.Errorf("%d tombstones after the linger", tb.Tombstones())
			}
			tb.Flush(EndShutdown)
			if tb.Len() != 0 || st.FlowsOpen.Load() != 0 {
				t.Errorf("%d flows after the flush", tb.Len())
			}
		})
	}
}

// TestTombstoneLateBytes checks the byte counter of absorbed packets.
func TestTombstoneLateBytes(t *testing.T) {
	h := newRecHandler()
	st := new(Stats)
	tb := NewTable(Config{TCPCloseGrace: -1}, h, nil, st)
	for _, tp := range closedConv(0) {
		tb.Packet(tcpPacket(tp, 1, 2))
	}
	tb.Packet(tcpPacket(tpkt{flags: fPA, seq: 20, ack: 21, data: "12345", at: sec}, 1, 2))
	if st.LatePackets.Load() != 1 || st.LateBytes.Load() != 45 {
		t.Errorf("late %d packets, %d bytes, want 1 and 45", st.LatePackets.Load(), st.LateBytes.Load())
	}
}

// TestLingerWhenAsked checks that a consumer that needs its flow whole
// after the close (Closed returning false) gets today's linger: no
// tombstone, the final record after the linger with the late packets in it.
func TestLingerWhenAsked(t *testing.T) {
	h := &lingerHandler{*newRecHandler()}
	st := new(Stats)
	tb := NewTable(Config{TCPCloseGrace: -1}, h, nil, st)
	for _, tp := range closedConv(0) {
		tb.Packet(tcpPacket(tp, 1, 2))
	}
	tb.Packet(tcpPacket(tpkt{in: true, flags: fFA, seq: 20, ack: 20, at: sec}, 1, 2))
	if len(h.finals()) != 0 || tb.Tombstones() != 0 || tb.Len() != 1 {
		t.Fatalf("a flow kept whole was emitted (%d records, %d tombstones)", len(h.finals()), tb.Tombstones())
	}
	tb.Advance(t0 + 7*sec)
	fin := h.finals()
	if len(fin) != 1 || fin[0].flow.Packets[0]+fin[0].flow.Packets[1] != 9 || fin[0].state != EndClosed {
		t.Fatalf("want one closed record of 9 packets after the linger, got %+v", fin)
	}
	if st.LatePackets.Load() != 0 || st.FlowsTombstoned.Load() != 0 {
		t.Errorf("late %d, tombstoned %d: want 0", st.LatePackets.Load(), st.FlowsTombstoned.Load())
	}
}

// TestTombstonesBounded checks that tombstones are bounded by count
// (MaxFlows) and by the byte budget, the oldest going first (counted), and
// that their memory is given back once they expire.
func TestTombstonesBounded(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		flows     int
		wantTombs int
	}{
		{"max flows", Config{MaxFlows: 8, TCPCloseGrace: -1}, 100, 8},
		// Creating a flow makes room for the flow first: its conn takes
		// the place of several tombstones.
		{"memcap", Config{Memcap: 40 * tombBytes, TCPCloseGrace: -1}, 100, 40 - int((connBytes+tombBytes-1)/tombBytes) + 1},
		{"room", Config{TCPCloseGrace: -1}, 3000, 3000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecHandler()
			st := new(Stats)
			tb := NewTable(tc.cfg, h, nil, st)
			for i := range tc.flows {
				for _, tp := range closedConv(int64(i) * 1000) {
					tb.Packet(onPort(tcpPacket(tp, 1, 2), uint16(10000+i)))
				}
			}
			if got := tb.Tombstones(); got != tc.wantTombs {
				t.Fatalf("%d tombstones, want %d", got, tc.wantTombs)
			}
			if got := st.TombstonesEvicted.Load(); got != uint64(tc.flows-tc.wantTombs) {
				t.Errorf("%d evicted, want %d", got, tc.flows-tc.wantTombs)
			}
			if tc.cfg.Memcap > 0 && tb.FlowBytes() > tc.cfg.Memcap {
				t.Errorf("%d bytes over the budget %d", tb.FlowBytes(), tc.cfg.Memcap)
			}
			// The oldest went: the newest flow's late packet is absorbed,
			// the oldest's opens a flow.
			newest, oldest := tc.flows-1, 0
			tb.Packet(onPort(tcpPacket(tpkt{flags: fA, seq: 20, ack: 21, at: sec}, 1, 2), uint16(10000+newest)))
			if st.LatePackets.Load() != 1 {
				t.Errorf("the newest flow's late packet was not absorbed")
			}
			if tc.flows > tc.wantTombs {
				before := h.opens
				tb.Packet(onPort(tcpPacket(tpkt{flags: fA, seq: 20, ack: 21, at: sec}, 1, 2), uint16(10000+oldest)))
				if h.opens != before+1 {
					t.Errorf("the oldest flow's tombstone was not the one evicted")
				}
			}
			tb.Advance(t0 + 20*sec)
			if tb.Tombstones() != 0 || len(tb.tombs.ring) > minTombRing || tc.wantTombs > minTombRing && tb.tombs.idx.slots != nil {
				t.Errorf("after the linger: %d tombstones, ring of %d", tb.Tombstones(), len(tb.tombs.ring))
			}
		})
	}
}

// TestTombstoneQueueChurn drives many tombstones with refreshes, reuse and
// expiry through the queue and checks it against a plain map of deadlines.
func TestTombstoneQueueChurn(t *testing.T) {
	h := newRecHandler()
	st := new(Stats)
	tb := NewTable(Config{TCPCloseGrace: -1}, h, nil, st)
	deadline := map[uint16]int64{} // port -> last touch
	const linger = int64(DefaultTCPClosedLinger)
	at := int64(0)
	for round := range 40 {
		for i := range 200 {
			port := uint16(20000 + (round*37+i*13)%1500)
			at += sec / 50
			now := t0 + at
			// Expire the model first, as the table does before the packet.
			last, ok := deadline[port]
			if ok && last <= now-linger {
				delete(deadline, port)
				ok = false
			}
			switch {
			case ok && i%3 == 0: // a late packet
				before := st.LatePackets.Load()
				tb.Packet(onPort(tcpPacket(tpkt{flags: fA, seq: 20, ack: 21, at: at}, 1, 2), port))
				if st.LatePackets.Load() != before+1 {
					t.Fatalf("round %d port %d: late packet not absorbed", round, port)
				}
				deadline[port] = now
			case !ok:
				for _, tp := range closedConv(at) {
					tb.Packet(onPort(tcpPacket(tp, 1, 2), port))
				}
				deadline[port] = now + 7
			}
		}
		tb.Advance(t0 + at)
		for port, last := range deadline {
			if last <= tb.Now()-linger { // the clock went to the last packet
				delete(deadline, port)
			}
		}
		if tb.Tombstones() != len(deadline) {
			t.Fatalf("round %d: %d tombstones, model has %d", round, tb.Tombstones(), len(deadline))
		}
	}
}

// The byte budget's estimate of a tombstone (tombBytes) follows what the
// queue and its index really take on the heap.
func TestTombBytesMatchesHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap over many tombstones")
	}
	const n = 30000
	h := newRecHandler()
	tb := NewTable(Config{TCPCloseGrace: -1}, h, nil, nil)
	pkts := make([][]*capture.Packet, n)
	for i := range n {
		for _, tp := range closedConv(int64(i) * 10) {
			p := tcpPacket(tp, 1, 2)
			cli := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
			if tp.in {
				p.Dst = cli
			} else {
				p.Src = cli
			}
			pkts[i] = append(pkts[i], p)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		for _, p := range pkts[i] {
			tb.Packet(p)
		}
		h.emits = h.emits[:0]
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if tb.Tombstones() != n {
		t.Fatalf("%d tombstones, want %d", tb.Tombstones(), n)
	}
	heap := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	est := float64(tombBytes)
	t.Logf("estimate %.0f B per tombstone, heap %.0f B", est, heap)
	// The ring doubles (a power of two) and the map grows in steps: at
	// 50,000 both sit between half and all of their capacity.
	if r := est / heap; r < 0.6 || r > 1.4 {
		t.Errorf("tombstone estimate %.0f B against %.0f B measured: ratio %.2f", est, heap, r)
	}
	runtime.KeepAlive(pkts)
}

// A table with churn allocates nothing per flow once warm: the conn of a
// flow written at its close is recycled for the next one, and its
// tombstone takes a slot of the queue the expired ones gave back.
func TestClosedFlowCycleDoesNotAllocate(t *testing.T) {
	h := &countHandler{}
	tb := NewTable(Config{TCPCloseGrace: -1}, h, nil, nil)
	const ports = 512
	pkts := make([][]*capture.Packet, ports)
	for i := range pkts {
		for _, tp := range closedConv(0) {
			pkts[i] = append(pkts[i], onPort(tcpPacket(tp, 1, 2), uint16(20000+i)))
		}
	}
	at := int64(0)
	i := 0
	cycle := func() {
		// 100 flows a second: about 500 tombstones live at once.
		at += sec / 100
		for _, p := range pkts[i%ports] {
			p.TS = t0 + at
			tb.Packet(p)
		}
		i++
	}
	for range 2 * ports {
		cycle()
	}
	if allocs := testing.AllocsPerRun(2*ports, cycle); allocs != 0 {
		t.Errorf("%.1f allocations per closed flow, want 0", allocs)
	}
	if h.finals < 4*ports || tb.Len() != 0 || tb.Tombstones() < 400 {
		t.Errorf("%d final records, %d open, %d tombstones: the cycle did not close flows", h.finals, tb.Len(), tb.Tombstones())
	}
}

// countHandler counts final records and keeps nothing.
type countHandler struct{ finals int }

func (h *countHandler) Open(f *Flow) Stream { return nopStream{} }

func (h *countHandler) Emit(f *Flow, state EndReason, final bool) {
	if final {
		h.finals++
	}
}

type nopStream struct{}

func (nopStream) Data(Dir, []byte, int64) bool { return true }
func (nopStream) Gap(Dir, int)                 {}

// The tombstones' posIndex follows a map through sets (new and
// overwriting), deletes (present and absent) and lookups, with hashes
// drawn from a few home slots so runs collide, wrap around the array end
// and are repaired by backward-shift deletion, through growth and shrink.
func TestPosIndexModel(t *testing.T) {
	for _, spread := range []uint64{1, 3, 1 << 20} {
		var x posIndex
		model := map[uint64]uint64{}
		rng := rand.New(rand.NewPCG(spread, 9))
		// Hashes whose home slot is one of the last few of any table
		// length (their low bits are all ones) and wrap to slot 0.
		hash := func() uint64 { return rng.Uint64N(spread)<<32 | (1<<32 - 1 - rng.Uint64N(4)) }
		for step := range 40000 {
			h := hash()
			switch op := rng.IntN(10); {
			case step > 30000 || op < 4:
				x.del(h)
				delete(model, h)
			case op < 8:
				pos := rng.Uint64()
				x.set(h, pos)
				model[h] = pos
			}
			want, has := model[h]
			if got, ok := x.get(h); ok != has || ok && got != want {
				t.Fatalf("spread %d step %d: get %x = %d,%v, want %d,%v", spread, step, h, got, ok, want, has)
			}
			if x.len() != len(model) {
				t.Fatalf("spread %d step %d: len %d, want %d", spread, step, x.len(), len(model))
			}
		}
		for h, pos := range model {
			if got, ok := x.get(h); !ok || got != pos {
				t.Fatalf("spread %d: %x lost", spread, h)
			}
		}
	}
}

// TestCloseGrace checks the grace after a completed close: packets within
// it (a mirror port's copy of the last ACK, an ACK crossing a RST) count
// in the flow's record as the host saw them, each one restarts it, and
// only after it is the flow written and its tombstone left; later packets
// are late. A pure SYN in the grace ends the flow as on a lingering one.
func TestCloseGrace(t *testing.T) {
	const ms = int64(time.Millisecond)
	const g = int64(DefaultTCPCloseGrace)
	dupACK := tpkt{flags: fA, seq: 20, ack: 21, at: 8}
	tests := []struct {
		name        string
		cfg         Config
		after       []tpkt
		advance     int64 // Advance to t0+advance after the packets (0: none)
		flush       bool
		wantPackets uint64 // in the closed record
		wantState   EndReason
		wantOpens   int
		wantLate    uint64
		wantTombs   int64
	}{
		{"a copy of the last ACK is in the record", Config{}, []tpkt{dupACK}, 300 * ms, false, 9, EndClosed, 1, 0, 1},
		{"a packet after the grace is late", Config{},
			[]tpkt{{in: true, flags: fFA, seq: 20, ack: 20, at: sec}}, 0, false, 8, EndClosed, 1, 1, 1},
		{"each packet restarts the grace", Config{},
			[]tpkt{{flags: fA, seq: 20, ack: 21, at: g * 6 / 10}, {flags: fA, seq: 20, ack: 21, at: g * 12 / 10}, {flags: fA, seq: 20, ack: 21, at: g * 2}},
			g * 5, false, 11, EndClosed, 1, 0, 1},
		{"a pure SYN in the grace starts a new flow", Config{},
			[]tpkt{dupACK, {flags: fS, seq: 100, at: g / 2}}, 0, false, 9, EndClosed, 2, 0, 0},
		{"expire on advance: written at the next advance", Config{ExpireOnAdvance: true},
			[]tpkt{dupACK}, 200 * ms, false, 9, EndClosed, 1, 0, 1},
		{"a flush in the grace writes it closed", Config{}, []tpkt{dupACK}, 0, true, 9, EndClosed, 1, 0, 0},
		{"a longer grace", Config{TCPCloseGrace: 2 * time.Second},
			[]tpkt{{in: true, flags: fFA, seq: 20, ack: 20, at: sec}, {flags: fA, seq: 20, ack: 21, at: sec + 1}}, 4 * sec, false, 10, EndClosed, 1, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, st, tb := closedTable(tc.cfg)
			if fin := h.finals(); len(fin) != 0 || tb.Len() != 1 {
				t.Fatalf("written at the close, before the grace: %+v", fin)
			}
			for _, tp := range tc.after {
				tb.Packet(tcpPacket(tp, closedISNC, closedISNS))
			}
			if tc.advance > 0 {
				tb.Advance(t0 + tc.advance)
			}
			if tc.flush {
				tb.Flush(EndShutdown)
			}
			fin := h.finals()
			if len(fin) == 0 {
				t.Fatal("the closed flow was not written")
			}
			if got := fin[0].flow.Packets[0] + fin[0].flow.Packets[1]; got != tc.wantPackets || fin[0].state != tc.wantState {
				t.Errorf("record of %d packets, state %v; want %d, %v", got, fin[0].state, tc.wantPackets, tc.wantState)
			}
			checkAfterClose(t, h, st, tc.wantOpens, tc.wantLate)
			if got := st.Tombstones.Load(); got != tc.wantTombs {
				t.Errorf("%d tombstones, want %d", got, tc.wantTombs)
			}
		})
	}
}

// checkAfterClose checks the flows opened and the late packets counted
// after a close.
func checkAfterClose(t *testing.T, h *recHandler, st *Stats, wantOpens int, wantLate uint64) {
	t.Helper()
	if h.opens != wantOpens {
		t.Errorf("%d flows opened, want %d", h.opens, wantOpens)
	}
	if got := st.LatePackets.Load(); got != wantLate {
		t.Errorf("%d late packets, want %d", got, wantLate)
	}
}

// closedISNC and closedISNS are closedConv's initial sequence numbers.
const closedISNC, closedISNS = 1000, 5000

// closedTable is a table configured by cfg that has seen closedConv(0).
func closedTable(cfg Config) (*recHandler, *Stats, *Table) {
	h := newRecHandler()
	st := new(Stats)
	tb := NewTable(cfg, h, nil, st)
	for _, tp := range closedConv(0) {
		tb.Packet(tcpPacket(tp, closedISNC, closedISNS))
	}
	return h, st, tb
}

// TestCloseGraceAfterReset: after an accepted RST, what crosses it (the
// peer's ACK or data sent before the RST arrived, a mirror's copy of the
// RST) within the grace is in the reset record; later, it is late.
func TestCloseGraceAfterReset(t *testing.T) {
	const ms = int64(time.Millisecond)
	g := int64(DefaultTCPCloseGrace)
	reset := []tpkt{
		{flags: fS},
		{in: true, flags: fSA, ack: 1, at: 1},
		{flags: fA, seq: 1, ack: 1, at: 2},
		{flags: fPA, seq: 1, ack: 1, data: "GET / HTTP/1.1\r\n\r\n", at: 3},
		{in: true, flags: fPA, seq: 1, ack: 19, data: "HTTP/1.1 200 OK\r\n\r\n", at: 4},
		{flags: fA, seq: 19, ack: 20, at: 5},
		{in: true, flags: fR, seq: 20, at: 6},
	}
	tests := []struct {
		name        string
		after       []tpkt
		wantPackets uint64
		wantLate    uint64
	}{
		{"an ACK crossing the RST and the RST's copy", []tpkt{
			{flags: fA, seq: 19, ack: 20, at: 2 * ms},
			{in: true, flags: fR, seq: 20, at: 2*ms + 1},
		}, 9, 0},
		{"data crossing the RST", []tpkt{{flags: fPA, seq: 19, ack: 20, data: "more", at: g / 2}}, 8, 0},
		{"a packet after the grace", []tpkt{{flags: fA, seq: 19, ack: 20, at: 3 * g}}, 7, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecHandler()
			st := new(Stats)
			tb := NewTable(Config{}, h, nil, st)
			for _, tp := range append(append([]tpkt{}, reset...), tc.after...) {
				tb.Packet(tcpPacket(tp, closedISNC, closedISNS))
			}
			tb.Advance(t0 + 10*g)
			fin := h.finals()
			if len(fin) != 1 || fin[0].state != EndReset {
				t.Fatalf("want one reset record, got %+v", fin)
			}
			if got := fin[0].flow.Packets[0] + fin[0].flow.Packets[1]; got != tc.wantPackets {
				t.Errorf("record of %d packets, want %d", got, tc.wantPackets)
			}
			checkAfterClose(t, h, st, 1, tc.wantLate)
		})
	}
}
