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
	// acknowledges were lost in capture and will never be filled, a SYN
	// payload it acknowledges was taken, and the bytes before it are the
	// receiver's for good.
	if ack {
		if peer := &c.half[1-d]; peer.heldSyn() {
			t.synVerdict(c, 1-d, int32(p.Ack-peer.synSeq) >= int32(len(peer.syn)), p.TS)
		}
		t.acked(c, 1-d, p.Ack)
	}
	if ack && c.half[1-d].nsegs() > 0 {
		t.ackPast(c, 1-d, p.Ack)
	}
	if ack && c.half[1-d].nHoles() > 0 {
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
	if rst && t.rstAccepted(c, d, p) {
		c.rst = true
		c.closing = true
		// Both hosts drop the connection: no retransmission will be taken,
		// so the unacknowledged bytes kept to compare one with go (and the
		// consumer can be told the flow closed, see Closer).
		t.releaseRing(c, DirOut)
		t.releaseRing(c, DirIn)
	} else if c.half[0].finSeen && c.half[1].finSeen {
		c.closing = true
	}
	if !rst {
		h.win = p.Window
	}
	// Established once both sides spoke, or once an ACK without SYN shows
	// the handshake completed (one-direction captures see only that side).
	if !c.est && (c.Packets[0] > 0 && c.Packets[1] > 0 || ack && !syn) {
		c.est = true
	}
}

// rstAccepted applies the receiving host's test to a RST sent by d (RFC
// 5961 section 3, as Linux implements it): only a RST whose sequence number
// is exactly the next one the receiver expects (or, after a FIN, the FIN's)
// ends the connection. Any other RST inside the receive window makes the
// host send a challenge ACK and carry on; one outside it is ignored. The
// sensor follows, so a forged RST cannot end the flow in the sensor while
// the host keeps reading. The next expected number is taken as any of what
// the sensor delivered (next), saw (high) or the receiver acknowledged, so
// capture loss does not make a genuine RST look forged. The window is the
// receiver's last advertised one at the largest scale (14), since window
// scaling is not tracked: it only decides which counter a refused RST
// goes to.
func (t *Table) rstAccepted(c *conn, d Dir, p *capture.Packet) bool {
	h, peer := &c.half[d], &c.half[1-d]
	seq := p.Seq
	ok := false
	switch {
	case !h.init:
		// Nothing of d's sequence space seen: a refused SYN (the RST
		// acknowledges it) or a reply to a segment (sequence number taken
		// from its ACK field).
		ok = !peer.init || p.TCPFlags&capture.TCPAck != 0 && p.Ack == peer.next ||
			peer.ackSeen && seq == peer.ack
	default:
		ok = seq == h.next || h.hasHi && seq == h.high || peer.ackSeen && seq == peer.ack ||
			h.finSeen && (seq == h.finSeq || seq == h.finSeq+1)
	}
	if ok {
		t.st.RSTAccepted.Add(1)
		return true
	}
	win := min(uint32(peer.win)<<14, maxWindow)
	if h.init && uint32(seq-h.next) < win {
		t.st.RSTChallenged.Add(1)
	} else {
		t.st.RSTOutOfWindow.Add(1)
	}
	return false
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
