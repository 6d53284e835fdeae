package reassembly

import (
	"github.com/tapdlp/tapdlp/capture"
)

// half is one direction's reassembly state. Positions are kept as 64-bit
// stream offsets (bytes since the first sequence number seen): sequence
// numbers are only compared to next with serial arithmetic, so wraparound
// never reaches the buffer logic.
//
// What only a direction with bytes in hand needs (buffered segments, the
// retransmission ring, a held SYN payload, holes) is in a halfExtra the
// table lends it while it holds any of them (see Table.lend): most
// directions of most open flows hold none between packets, and a conn
// without them fits the 512-byte size class instead of 704.
type half struct {
	init    bool
	done    bool   // not delivering: no stream, consumer declined, or depth reached
	finSeen bool   // FIN sent by this direction
	ackSeen bool   // this direction sent an ACK
	finSeq  uint32 // sequence number of the FIN (the stream's end)
	ack     uint32 // highest ACK this direction sent (for the peer's stream)
	next    uint32 // sequence number of the next byte to deliver
	off     uint64 // stream offset of next (bytes delivered or skipped so far)

	high    uint32 // end of the highest data seen in this direction
	hasHi   bool
	win     uint16 // the window this direction advertised last (unscaled)
	sumGood bool   // a packet with verified checksums was seen in this direction

	// The ring (halfExtra.ret) holds delivered stream offsets [retFrom,
	// off) the peer has not acknowledged, to compare retransmissions with
	// (see overlap.go); the peer acknowledged up to ackOff.
	retFrom uint64
	ackOff  uint64
	altEnd  uint64 // deliveries below this offset continue an alternate view

	*halfExtra // nil while the direction holds none of it
}

// halfExtra is the part of a direction's state that holds bytes or gaps.
type halfExtra struct {
	segs []seg // buffered out-of-order data, sorted, non-overlapping, all > off

	// holes are gaps in a direction that is no longer reassembled (done):
	// where data jumped ahead of next. A late segment filling one removes
	// it (reordering); the peer acknowledging past one confirms it as
	// missed (lost in capture), as for reassembled data. Oldest first.
	holes  [maxDoneHoles]hole
	nholes uint8
	synSeq uint32 // sequence number of syn (below)

	// Delivered bytes the peer has not acknowledged (see half.retFrom).
	ret []byte

	// SYN payload, held until the peer shows whether it took it (its
	// sequence number is synSeq).
	syn []byte
}

// idle reports whether x holds nothing (it can go back to the table).
func (x *halfExtra) idle() bool {
	return len(x.segs) == 0 && x.nholes == 0 && x.syn == nil && x.ret == nil
}

// nsegs, nHoles and held read the extra state of a direction that may
// have none.
func (h *half) nsegs() int {
	if h.halfExtra == nil {
		return 0
	}
	return len(h.segs)
}

func (h *half) nHoles() uint8 {
	if h.halfExtra == nil {
		return 0
	}
	return h.nholes
}

func (h *half) heldSyn() bool { return h.halfExtra != nil && h.syn != nil }

func (h *half) hasRing() bool { return h.halfExtra != nil && h.ret != nil }

// hole is a range of sequence numbers [start, end) not seen.
type hole struct{ start, end uint32 }

// maxDoneHoles bounds the unconfirmed holes kept per direction; when more
// open, the oldest is counted as missed at once (it is also the one most
// likely to be real loss rather than reordering).
const maxDoneHoles = 4

// seg is buffered out-of-order data at stream offset off; b comes from the
// table's bufPool and cap(b) is what is reserved in Memory.
type seg struct {
	off uint64
	b   []byte
}

func (s *seg) end() uint64 { return s.off + uint64(len(s.b)) }

// maxWindow bounds how far ahead of next a segment may start (the largest
// scaled TCP window); anything further is not this stream's data and is
// ignored.
const maxWindow = 1 << 30

// maxSegs bounds the buffered segments of one direction. Inserting is a
// memmove of the segment slice, so the bound caps its cost (32 KiB) against
// floods of tiny out-of-order segments; legitimate reordering reaches the
// FlowOOOCap first (1024 full-size segments are 1.4 MiB).
const maxSegs = 1024

// segment handles the payload (and SYN) of one packet of direction d.
func (t *Table) segment(c *conn, d Dir, p *capture.Packet, syn bool) {
	h := &c.half[d]
	seq := p.Seq
	if syn {
		if !h.init {
			h.init, h.next = true, seq+1
		}
		seq++ // the SYN consumes one sequence number; TFO data follows it
		if len(p.Payload) > 0 && !t.holdSyn(c, d, seq, p.Payload) {
			c.hist.add(&c.Flow, d, evRetrans)
		}
		return
	}
	data := p.Payload
	if len(data) == 0 {
		return
	}
	if h.heldSyn() {
		// Data after the SYN tells whether the peer took the SYN's payload:
		// a sender whose SYN data was refused sends it again from the start.
		t.synVerdict(c, d, int32(seq-h.synSeq) >= int32(len(h.syn)), p.TS)
	}
	if !h.init {
		// Mid-stream pickup: the first data seen defines the stream start.
		h.init, h.next = true, seq
	}
	// Payload starting before the delivery point was seen before.
	retrans := int32(seq-h.next) < 0
	if h.done {
		t.trackHoles(c, d, seq, seq+uint32(len(data)))
	} else if end := seq + uint32(len(data)); !h.hasHi || int32(end-h.high) > 0 && int32(end-h.high) < maxWindow {
		h.high, h.hasHi = end, true
	}
	switch {
	case retrans && h.done && int32(seq+uint32(len(data))-h.next) <= 0:
		// entirely old and not reassembled: nothing to do
	case h.done:
		// Not reassembling: only keep next current so retransmissions are
		// still recognised.
		if end := seq + uint32(len(data)); int32(seq-h.next) < maxWindow {
			h.off += uint64(end - h.next)
			h.next = end
		}
	default:
		t.lend(h)
		if t.insert(c, d, seq, data, p.TS) {
			retrans = true
		}
		t.drain(c, d, p.TS)
		if peer := &c.half[1-d]; peer.ackSeen && len(h.segs) > 0 {
			// The peer may already have acknowledged past the hole this
			// data sits behind (the ACK was seen before the data).
			t.ackPast(c, d, peer.ack)
		}
	}
	if retrans {
		c.hist.add(&c.Flow, d, evRetrans)
	}
}

// insert places data (starting at sequence seq) into direction d: bytes
// already delivered are dropped, bytes at the delivery point go straight to
// the Stream without copying, bytes overlapping buffered data are compared
// (first data wins, differing bytes counted) and the rest is buffered.
// Every iteration consumes data or frees buffered data, so it terminates.
// It reports whether data overlapped buffered data (a retransmission).
func (t *Table) insert(c *conn, d Dir, seq uint32, data []byte, ts int64) (overlapped bool) {
	h := &c.half[d]
	for len(data) > 0 && !h.done {
		rel := int32(seq - h.next)
		if rel < 0 {
			// Bytes already delivered: compared with the kept copy.
			skip := uint64(uint32(-rel))
			old := data[:min(skip, uint64(len(data)))]
			if skip > h.off { // partly before the stream's first byte
				old = old[min(skip-h.off, uint64(len(old))):]
				skip = h.off
			}
			if len(old) > 0 {
				t.redelivered(c, d, h.off-skip, old, ts)
			}
			skip = uint64(uint32(-rel))
			if skip >= uint64(len(data)) || h.done {
				return true
			}
			overlapped = true
			data, seq, rel = data[skip:], h.next, 0
		}
		if rel >= maxWindow {
			return
		}
		off := h.off + uint64(rel)
		if lim := t.cfg.InspectDepth; lim > 0 {
			if off >= uint64(lim) {
				return
			}
			if room := uint64(lim) - off; uint64(len(data)) > room {
				data = data[:room]
			}
		}
		i := h.search(off)
		if i < len(h.segs) && h.segs[i].off <= off {
			// Overlap with buffered data: the buffered copy came first.
			s := &h.segs[i]
			n := min(s.end()-off, uint64(len(data)))
			if t.compare(c, s.b[off-s.off:off-s.off+n], data[:n]) {
				t.bufferedConflict(c, d, s, off, data[:n], ts)
			}
			overlapped = true
			data, seq = data[n:], seq+uint32(n)
			continue
		}
		n := uint64(len(data))
		if i < len(h.segs) {
			n = min(n, h.segs[i].off-off)
		}
		if off == h.off {
			t.deliver(c, d, data[:n], ts)
			data, seq = data[n:], seq+uint32(n)
			continue
		}
		piece := data[:min(n, maxClass)]
		if !t.room(c, d, len(piece)) {
			if h.off != off-uint64(rel) {
				continue // skipping holes moved the delivery point: re-place the data
			}
			t.drop(c, len(piece))
		} else if h.off != off-uint64(rel) {
			continue
		} else {
			t.buffer(c, d, i, off, piece)
		}
		data, seq = data[len(piece):], seq+uint32(len(piece))
	}
	return overlapped
}

// search returns the index of the first buffered segment ending after off.
func (h *half) search(off uint64) int {
	lo, hi := 0, len(h.segs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if h.segs[m].end() <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// compare counts the bytes where a retransmission disagrees with what was
// buffered first, and reports whether there were any.
func (t *Table) compare(c *conn, first, again []byte) bool {
	var diff uint64
	for i := range first {
		if first[i] != again[i] {
			diff++
		}
	}
	if diff > 0 {
		c.Overlaps += diff
		t.st.OverlapBytes.Add(diff)
	}
	return diff > 0
}

// room makes space for n (<= maxClass) more buffered bytes in direction d of c: while the
// flow is over FlowOOOCap or maxSegs, or the global memcap would refuse n,
// the flow's earliest hole is skipped (Gap) and the data behind it
// delivered. It reports whether the space is now available; it may move
// delivery points, which the caller must re-check. When the flow holds
// nothing and the global memcap is still exhausted, the new data is the
// one dropped: memory held by other workers' flows cannot be reclaimed
// without locks, and the oldest data is the closest to being deliverable.
func (t *Table) room(c *conn, d Dir, n int) bool {
	need := int64(1) << (classOf(n) + minClassShift)
	for c.buffered+int(need) > t.cfg.FlowOOOCap || !t.mem.fits(need) || c.half[d].nsegs() >= maxSegs {
		od := d
		if c.half[od].nsegs() == 0 {
			od = 1 - d
		}
		if c.half[od].nsegs() == 0 {
			return false
		}
		t.st.CapGaps.Add(1)
		t.skipHole(c, od)
	}
	return true
}

// drop counts out-of-order data that could not be buffered; the hole it
// leaves is reported as a gap later.
func (t *Table) drop(c *conn, n int) {
	c.OOODropped += uint64(n)
	t.st.OOOBytesDropped.Add(uint64(n))
	t.st.MemcapDrops.Add(1)
}

// buffer copies piece (at most maxClass bytes, at stream offset off, to go
// before segs[i]) into a pooled buffer reserved in Memory.
func (t *Table) buffer(c *conn, d Dir, i int, off uint64, piece []byte) {
	h := &c.half[d]
	size := int64(1) << (classOf(len(piece)) + minClassShift)
	if !t.mem.reserve(size) {
		t.drop(c, len(piece)) // another worker took the memory since room()
		return
	}
	b := t.pool.get(len(piece))
	copy(b, piece)
	c.buffered += int(size)
	t.inUse += size
	h.segs = append(h.segs, seg{})
	copy(h.segs[i+1:], h.segs[i:])
	h.segs[i] = seg{off: off, b: b}
	t.st.OOOBytesBuffered.Add(uint64(len(piece)))
}

// deliver hands b (at the delivery point of d) to the Stream, keeping a
// copy until the peer acknowledges it.
func (t *Table) deliver(c *conn, d Dir, b []byte, ts int64) {
	h := &c.half[d]
	t.continueAlt(c, d, b, ts)
	t.retain(c, d, b)
	h.off += uint64(len(b))
	h.next += uint32(len(b))
	if !c.stream.Data(d, b, ts) {
		h.done = true
		t.releaseSegs(c, d)
		t.releaseRing(c, d)
		return
	}
	t.checkDepth(c, d)
}

// checkDepth stops reassembling d once InspectDepth bytes were delivered.
func (t *Table) checkDepth(c *conn, d Dir) {
	h := &c.half[d]
	if lim := t.cfg.InspectDepth; lim > 0 && h.off >= uint64(lim) && !h.done {
		h.done = true
		c.DepthReached = true
		t.st.DepthReached.Add(1)
		t.releaseSegs(c, d)
		t.releaseRing(c, d)
	}
}

// drain delivers buffered segments that have become contiguous.
func (t *Table) drain(c *conn, d Dir, ts int64) {
	h := &c.half[d]
	k := 0
	for k < len(h.segs) && !h.done && h.segs[k].off == h.off {
		s := h.segs[k]
		t.deliver(c, d, s.b, ts)
		if h.done {
			return // releaseSegs already emptied segs
		}
		t.freeBuf(c, s.b)
		// Forget it at once: if the consumer declines while a later
		// segment is delivered, releaseSegs must not free this one again.
		h.segs[k].b = nil
		k++
	}
	if k > 0 {
		n := copy(h.segs, h.segs[k:])
		clear(h.segs[n:])
		h.segs = h.segs[:n]
	}
}

// skipHole declares the bytes before d's first buffered segment lost and
// delivers the data behind the hole.
func (t *Table) skipHole(c *conn, d Dir) {
	h := &c.half[d]
	if h.nsegs() == 0 {
		return
	}
	t.gap(c, d, h.segs[0].off-h.off)
	t.drain(c, d, c.Last)
}

// gap skips n bytes of d that will never be delivered (Stream.Gap, Missed,
// history 'G').
func (t *Table) gap(c *conn, d Dir, n uint64) {
	if n == 0 {
		return
	}
	h := &c.half[d]
	h.off += n
	h.next += uint32(n)
	h.retFrom = h.off // the ring holds no bytes for the gap: keep only what follows
	c.Missed[d] += n
	t.st.MissedBytes.Add(n)
	c.hist.add(&c.Flow, d, evGap)
	c.stream.Gap(d, int(n))
	t.checkDepth(c, d)
}

// ackPast skips the holes of direction d that the peer acknowledged in full:
// the sender got them there, the capture did not.
func (t *Table) ackPast(c *conn, d Dir, ack uint32) {
	h := &c.half[d]
	for h.nsegs() > 0 && !h.done {
		holeEnd := h.next + uint32(h.segs[0].off-h.off)
		if int32(ack-holeEnd) < 0 {
			return
		}
		t.st.AckGaps.Add(1)
		t.skipHole(c, d)
	}
}

// trackHoles follows the sequence space of a direction that is no longer
// reassembled, against the highest data seen: data jumping ahead of it
// opens a hole, data arriving late fills one.
func (t *Table) trackHoles(c *conn, d Dir, seq, end uint32) {
	h := &c.half[d]
	if !h.hasHi {
		h.high, h.hasHi = end, true
		return
	}
	switch ahead := int32(seq - h.high); {
	case ahead > 0 && ahead < maxWindow:
		t.openHole(c, d, h.high, seq)
	case ahead < 0 && h.nHoles() > 0:
		h.fillHoles(seq, end)
	}
	if int32(end-h.high) > 0 && int32(end-h.high) < maxWindow {
		h.high = end
	}
}

// openHole remembers a hole in a direction that is not reassembled.
func (t *Table) openHole(c *conn, d Dir, start, end uint32) {
	h := &c.half[d]
	t.lend(h)
	if h.nholes == maxDoneHoles {
		t.missDone(c, d, h.holes[0].end-h.holes[0].start)
		copy(h.holes[:], h.holes[1:])
		h.nholes--
	}
	h.holes[h.nholes] = hole{start, end}
	h.nholes++
}

// fillHoles removes from the holes the sequence range [s, e) that arrived
// late. A fill strictly inside a hole splits it when there is room, else
// the hole stays whole (at worst counted a little high).
func (h *half) fillHoles(s, e uint32) {
	for i := 0; i < int(h.nholes); i++ {
		o := &h.holes[i]
		if int32(e-o.start) <= 0 || int32(s-o.end) >= 0 {
			continue // no overlap
		}
		coversStart, coversEnd := int32(s-o.start) <= 0, int32(e-o.end) >= 0
		switch {
		case coversStart && coversEnd:
			copy(h.holes[i:], h.holes[i+1:h.nholes])
			h.nholes--
			i--
		case coversStart:
			o.start = e
		case coversEnd:
			o.end = s
		case h.nholes < maxDoneHoles:
			tail := hole{e, o.end}
			o.end = s
			copy(h.holes[i+2:h.nholes+1], h.holes[i+1:h.nholes])
			h.holes[i+1] = tail
			h.nholes++
			i++
		}
	}
}

// ackHoles confirms as missed the holes of direction d the peer
// acknowledged in full: the receiver got those bytes, the sensor never saw
// them.
func (t *Table) ackHoles(c *conn, d Dir, ack uint32) {
	h := &c.half[d]
	n := 0
	for n < int(h.nHoles()) && int32(ack-h.holes[n].end) >= 0 {
		t.missDone(c, d, h.holes[n].end-h.holes[n].start)
		n++
	}
	if n > 0 {
		t.st.AckGaps.Add(1)
		copy(h.holes[:], h.holes[n:h.nholes])
		h.nholes -= uint8(n)
	}
}

// missDone counts n bytes of a direction that is not reassembled as
// missed: Missed, the metric and history 'G' — no Stream.Gap, since the
// consumer no longer reads the direction.
func (t *Table) missDone(c *conn, d Dir, n uint32) {
	if n == 0 {
		return
	}
	c.Missed[d] += uint64(n)
	t.st.MissedBytes.Add(uint64(n))
	c.hist.add(&c.Flow, d, evGap)
}

// flushHalf runs when the flow ends: holes before buffered data are skipped
// and the data delivered, then a trailing hole is reported when the
// stream's end is known, from its FIN (which consumes one sequence number)
// or else from the highest ACK the peer sent, as Zeek counts missed bytes.
func (t *Table) flushHalf(c *conn, d Dir) {
	h := &c.half[d]
	if h.done && h.nHoles() > 0 {
		// At the end every hole still open lies below data that was seen:
		// it was sent and never captured.
		end := h.high
		if peer := &c.half[1-d]; peer.ackSeen && int32(peer.ack-end) > 0 {
			end = peer.ack
		}
		t.ackHoles(c, d, end)
		h.nholes = 0
	}
	if h.heldSyn() {
		t.synVerdict(c, d, false, c.Last) // nobody said the peer took it
	}
	if h.done || !h.init {
		return
	}
	if h.nsegs() > 0 {
		t.st.EndGaps.Add(1)
	}
	for h.nsegs() > 0 && !h.done {
		t.skipHole(c, d)
	}
	if h.done || c.Proto != capture.ProtoTCP {
		return
	}
	var end uint32
	switch peer := &c.half[1-d]; {
	case h.finSeen:
		end = h.finSeq
	case peer.ackSeen:
		end = peer.ack
	default:
		return
	}
	n := int32(end - h.next)
	if n <= 0 || n >= maxWindow {
		return
	}
	missing := uint64(n)
	if lim := t.cfg.InspectDepth; lim > 0 {
		missing = min(missing, uint64(lim)-min(h.off, uint64(lim)))
	}
	t.gap(c, d, missing)
}

func (t *Table) freeBuf(c *conn, b []byte) {
	size := int64(cap(b))
	c.buffered -= int(size)
	t.inUse -= size
	t.mem.release(size)
	t.pool.put(b)
}

// releaseSegs drops d's buffered data without delivering it.
func (t *Table) releaseSegs(c *conn, d Dir) {
	h := &c.half[d]
	if h.halfExtra == nil {
		return
	}
	for i := range h.segs {
		if h.segs[i].b != nil { // nil: already delivered and freed by drain
			t.freeBuf(c, h.segs[i].b)
		}
	}
	clear(h.segs)
	h.segs = h.segs[:0]
}

// holdSyn keeps the payload of a SYN (or SYN-ACK) of direction d, which
// starts at sequence number seq, until the peer shows whether it took it:
// a host without TCP Fast Open ignores it and the sender repeats the data
// after the handshake, so delivering it at once would let a decoy in the
// SYN take the place of the data the host really reads.
//
// It reports whether the payload was held (false: a repeated SYN, nobody
// reads d, or no memory; the payload is counted as ignored).
func (t *Table) holdSyn(c *conn, d Dir, seq uint32, data []byte) bool {
	h := &c.half[d]
	if h.heldSyn() || seq != h.next || h.off != 0 || h.done {
		t.st.SynDataIgnored.Add(uint64(len(data)))
		return false
	}
	data = data[:min(len(data), maxClass)]
	size := int64(1) << (classOf(len(data)) + minClassShift)
	if !t.mem.reserve(size) {
		t.st.SynDataIgnored.Add(uint64(len(data)))
		return false
	}
	t.inUse += size
	t.lend(h)
	h.syn = t.pool.get(len(data))
	copy(h.syn, data)
	h.synSeq = seq
	return true
}

// synVerdict delivers d's held SYN payload when the peer took it, or drops
// it (counted) when not.
func (t *Table) synVerdict(c *conn, d Dir, took bool, ts int64) {
	h := &c.half[d]
	b := h.syn
	h.syn = nil
	if took && !h.done && h.next == h.synSeq {
		t.st.SynDataAccepted.Add(uint64(len(b)))
		t.insert(c, d, h.synSeq, b, ts)
		t.drain(c, d, ts)
	} else {
		t.st.SynDataIgnored.Add(uint64(len(b)))
	}
	t.inUse -= int64(cap(b))
	t.mem.release(int64(cap(b)))
	t.pool.put(b)
}

// maxFreeExtras bounds the halfExtras a table keeps for reuse (about 120 B
// each): enough for every direction of a burst of busy flows, without
// holding memory after a flood.
const maxFreeExtras = 4096

// lend gives h a halfExtra, from the table's free list when it has one.
func (t *Table) lend(h *half) {
	if h.halfExtra != nil {
		return
	}
	if n := len(t.extras); n > 0 {
		h.halfExtra, t.extras[n-1] = t.extras[n-1], nil
		t.extras = t.extras[:n-1]
	} else {
		h.halfExtra = new(halfExtra)
	}
	t.lent++
}

// takeBack returns h's halfExtra to the table; it must hold nothing
// (idle), except segment-slice capacity, which is kept up to maxFreeSegs.
func (t *Table) takeBack(h *half) {
	x := h.halfExtra
	h.halfExtra = nil
	t.lent--
	if len(t.extras) >= maxFreeExtras {
		return
	}
	segs := x.segs[:0]
	if cap(segs) > maxFreeSegs {
		segs = nil
	}
	*x = halfExtra{segs: segs}
	t.extras = append(t.extras, x)
}
