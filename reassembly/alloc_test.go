package reassembly

import (
	"testing"

	"github.com/tapdlp/tapdlp/capture"
)

// nopHandler reads every stream and keeps nothing, like a cheap consumer.
type nopHandler struct{ n int }

func (h *nopHandler) Open(*Flow) Stream            { return h }
func (h *nopHandler) Emit(*Flow, EndReason, bool)  {}
func (h *nopHandler) Data(Dir, []byte, int64) bool { h.n++; return true }
func (h *nopHandler) Gap(Dir, int)                 {}

// TestNoAllocsExistingFlow proves the per-packet path of an existing flow
// allocates nothing: in-order data, pure ACKs, UDP datagrams, and out-of-order
// data once the buffer pool is warm.
func TestNoAllocsExistingFlow(t *testing.T) {
	payload := make([]byte, 1400)
	tests := []struct {
		name string
		pkt  *capture.Packet
		next func(p *capture.Packet)
	}{
		{"tcp in-order data", tcpAt(tpkt{flags: fPA, seq: 1, ack: 1}), func(p *capture.Packet) {
			p.Payload = payload
			p.Seq += uint32(len(payload))
		}},
		{"tcp pure ack", tcpAt(tpkt{in: true, flags: fA, seq: 1, ack: 1}), func(p *capture.Packet) {
			p.Ack += 1400
		}},
		{"udp datagram", udpPacket(0, cliAddr, srvAddr, 40000, 443, "quic"), func(*capture.Packet) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := NewTable(Config{InspectDepth: -1}, &nopHandler{}, nil, nil)
			for _, tp := range handshake {
				tb.Packet(tcpAt(tp))
			}
			p := tc.pkt
			p.Payload = append([]byte(nil), p.Payload...)
			tb.Packet(p)
			allocs := testing.AllocsPerRun(1000, func() {
				tc.next(p)
				p.TS += 1000
				tb.Packet(p)
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per packet, want 0", allocs)
			}
			tb.Flush(EndShutdown)
		})
	}
	t.Run("tcp out-of-order pair, warm pool", func(t *testing.T) {
		tb := NewTable(Config{InspectDepth: -1}, &nopHandler{}, nil, nil)
		for _, tp := range handshake {
			tb.Packet(tcpAt(tp))
		}
		a := tcpAt(tpkt{flags: fPA, seq: 1, ack: 1})
		b := tcpAt(tpkt{flags: fPA, seq: 1 + 1400, ack: 1})
		a.Payload, b.Payload = payload, payload
		pair := func() {
			tb.Packet(b) // buffered
			tb.Packet(a) // fills the hole, drains b
			a.Seq += 2800
			b.Seq += 2800
		}
		pair()
		if allocs := testing.AllocsPerRun(1000, pair); allocs != 0 {
			t.Fatalf("%v allocations per out-of-order pair, want 0", allocs)
		}
		tb.Flush(EndShutdown)
	})
}

// nopAltHandler also takes alternate views, so the conflict path runs.
type nopAltHandler struct{ nopHandler }

func (h *nopAltHandler) Open(*Flow) Stream                  { return h }
func (h *nopAltHandler) Overlap(Dir, uint64, []byte, int64) {}

// Keeping delivered bytes, comparing retransmissions with them and
// delivering a conflicting copy allocate nothing once the flow's ring and
// the table's scratch buffer exist.
func TestNoAllocsRetransmissions(t *testing.T) {
	payload := make([]byte, 1400)
	other := make([]byte, 1400)
	other[700] = 1
	tb := NewTable(Config{InspectDepth: -1}, &nopAltHandler{}, nil, nil)
	for _, tp := range handshake {
		tb.Packet(tcpAt(tp))
	}
	p := tcpAt(tpkt{flags: fPA, seq: 1, ack: 1})
	ack := tcpAt(tpkt{in: true, flags: fA, seq: 1, ack: 1})
	step := func() {
		p.Payload = payload
		tb.Packet(p) // new data, kept
		p.Payload = other
		tb.Packet(p) // conflicting retransmission: compared, alternate delivered
		p.Payload = payload
		tb.Packet(p) // identical retransmission
		p.Seq += 1400
		ack.Ack += 1400
		tb.Packet(ack) // releases the kept bytes
	}
	for range 4 {
		step()
	}
	if allocs := testing.AllocsPerRun(500, step); allocs != 0 {
		t.Fatalf("%v allocations per round, want 0", allocs)
	}
	tb.Flush(EndShutdown)
}
