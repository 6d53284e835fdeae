package reassembly

import (
	"github.com/tapdlp/tapdlp/capture"
)

// tcp runs the state machine, history and reassembly for one TCP packet of
// direction d.
func (t *Table) tcp(c *conn, d Dir, p *capture.Packet) {
	fl := p.TCPFlags
	syn := fl&capture.TCPSyn != 0
	ack := fl&capture.TCPAck != 0
	fin := fl&capture.TCPFin != 0
	rst := fl&capture.TCPRst != 0
	f := &c.Flow

	switch {
	case syn && ack:
		c.hist.add(f, d, evSynAck)
	case syn:
		c.hist.add(f, d, evSyn)
	}
	if syn && (fin || rst) {
		c.hist.add(f, d, evMulti)
	}
	if fin && rst {
		c.hist.add(f, d, evIncons)
	}
	if fin {
		c.hist.add(f, d, evFin)
	}
	if rst {
		c.hist.add(f, d, evRst)
	}
	if len(p.Payload) > 0 {
		c.hist.add(f, d, evData)
	} else if ack && !syn && !fin && !rst {
		c.hist.add(f, d, evAck)
	}
	if p.Window == 0 && !rst {
		c.hist.add(f, d, evZeroWin)
	}

	// An ACK from d tells what the other direction really sent: holes it
	// acknowledges were lost in capture and will never be filled.
	if ack && len(c.half[1-d].segs) > 0 {
		t.ackPast(c, 1-d, p.Ack)
	}
	if ack && c.half[1-d].nholes > 0 {
		t.ackHoles(c, 1-d, p.Ack)
	}
	if syn || len(p.Payload) > 0 {
		t.segment(c, d, p, syn)
	}

	h := &c.half[d]
	if ack && (!h.ackSeen || int32(p.Ack-h.ack) > 0) {
		h.ack, h.ackSeen = p.Ack, true
	}
	if fin {
		h.finSeen = true
		h.finSeq = p.Seq + uint32(len(p.Payload))
		if syn {
			h.finSeq++
		}
	}
	if rst {
		c.rst = true
		c.closing = true
	} else if c.half[0].finSeen && c.half[1].finSeen {
		c.closing = true
	}
	// Established once both sides spoke, or once an ACK without SYN shows
	// the handshake completed (one-direction captures see only that side).
	if !c.est && (c.Packets[0] > 0 && c.Packets[1] > 0 || ack && !syn) {
		c.est = true
	}
}

// udp delivers one datagram's payload, within InspectDepth.
func (t *Table) udp(c *conn, d Dir, p *capture.Packet) {
	if len(p.Payload) == 0 {
		return
	}
	c.hist.add(&c.Flow, d, evData)
	h := &c.half[d]
	if h.done {
		return
	}
	b := p.Payload
	if lim := t.cfg.InspectDepth; lim > 0 {
		if room := uint64(lim) - h.off; uint64(len(b)) > room {
			b = b[:room]
		}
	}
	h.off += uint64(len(b))
	if len(b) > 0 && !c.stream.Data(d, b, p.TS) {
		h.done = true
		return
	}
	t.checkDepth(c, d)
}
