package reassembly

// Retransmissions over delivered data. Each direction keeps the bytes it
// delivered that the peer has not acknowledged yet, in a ring of up to
// Config.OverlapWindow bytes (a power of two, so stream offset o lives at
// ring[o&(len-1)]). A retransmission over them is compared; one that
// disagrees is counted (Flow.Overlaps) and delivered as an alternate view
// (Overlapper). Acknowledged bytes are released: the receiver has them and
// discards any later copy, as the sensor does.

// retain copies b, about to be delivered at h.off, into d's ring, growing
// the ring towards OverlapWindow while the unacknowledged bytes need it.
func (t *Table) retain(c *conn, d Dir, b []byte) {
	h := &c.half[d]
	end := h.off + uint64(len(b))
	win := t.cfg.OverlapWindow
	if win <= 0 {
		h.retFrom = end // nothing kept
		return
	}
	if want := min(end-h.retFrom, uint64(win)); uint64(len(h.ret)) < want {
		t.growRing(c, d, int(want))
	}
	n := uint64(len(h.ret))
	if n == 0 {
		h.retFrom = end
		return
	}
	if uint64(len(b)) > n {
		b = b[uint64(len(b))-n:]
	}
	pos := (end - uint64(len(b))) & (n - 1)
	k := copy(h.ret[pos:], b)
	copy(h.ret, b[k:])
	if end-h.retFrom > n {
		h.retFrom = end - n
	}
}

// growRing replaces d's ring by one of at least want bytes (a pool class,
// reserved in Memory), keeping what it held. Rings may take only half the
// memcap, so out-of-order buffering is never starved by them (a capture of
// one direction, without ACKs, keeps every flow's ring full). Without
// memory the old ring stays and the oldest bytes are overwritten sooner.
func (t *Table) growRing(c *conn, d Dir, want int) {
	h := &c.half[d]
	size := 1 << (classOf(want) + minClassShift)
	if size <= len(h.ret) || !t.mem.fitsHalf(int64(size)) || !t.mem.reserve(int64(size)) {
		return
	}
	nb := t.pool.get(size)
	nb = nb[:cap(nb)]
	if old := h.ret; len(old) > 0 {
		// Copy the kept bytes to their positions in the larger ring, in at
		// most three pieces (the old ring's wrap and the new one's).
		mask := uint64(len(nb) - 1)
		for o := h.retFrom; o < h.off; {
			src := old[o&uint64(len(old)-1):]
			src = src[:min(uint64(len(src)), h.off-o)]
			dst := nb[o&mask:]
			n := copy(dst, src)
			o += uint64(n)
		}
		t.freeRing(old)
	}
	h.ret = nb
	t.inUse += int64(size)
}

func (t *Table) freeRing(b []byte) {
	t.inUse -= int64(cap(b))
	t.mem.release(int64(cap(b)))
	t.pool.put(b)
}

// releaseRing gives d's ring back: the direction is no longer delivered.
func (t *Table) releaseRing(c *conn, d Dir) {
	h := &c.half[d]
	if h.hasRing() {
		t.freeRing(h.ret)
		h.ret = nil
	}
	h.retFrom = h.off
}

// acked records that the peer of direction d acknowledged sequence number
// ack: the bytes before it are the receiver's and are no longer kept.
func (t *Table) acked(c *conn, d Dir, ack uint32) {
	h := &c.half[d]
	if !h.init {
		return
	}
	off := h.off
	if rel := int32(ack - h.next); rel < 0 {
		if uint64(-int64(rel)) > h.off {
			return
		}
		off = h.off - uint64(-int64(rel))
	} else if rel >= maxWindow {
		return
	}
	if off > h.ackOff {
		h.ackOff = off
	}
	if h.retFrom < h.ackOff {
		h.retFrom = h.ackOff
	}
	if h.retFrom >= h.off && h.hasRing() {
		// All delivered bytes acknowledged: the ring goes back to the pool
		// (for the next flow) rather than sitting idle in this one.
		t.releaseRing(c, d)
	}
}

// ringDiff counts the bytes of b (at stream offset off, within the ring's
// range) that differ from what was delivered.
func (h *half) ringDiff(off uint64, b []byte) uint64 {
	var diff uint64
	if len(h.ret) == 0 {
		return 0
	}
	mask := uint64(len(h.ret) - 1)
	for len(b) > 0 {
		pos := off & mask
		r := h.ret[pos:min(uint64(len(h.ret)), pos+uint64(len(b)))]
		for i := range r {
			if r[i] != b[i] {
				diff++
			}
		}
		b, off = b[len(r):], off+uint64(len(r))
	}
	return diff
}

// appendRing appends the delivered bytes [from, to) (within the ring's
// range) to dst.
func (h *half) appendRing(dst []byte, from, to uint64) []byte {
	if len(h.ret) == 0 {
		return dst
	}
	mask := uint64(len(h.ret) - 1)
	for from < to {
		pos := from & mask
		n := min(to-from, uint64(len(h.ret))-pos)
		dst = append(dst, h.ret[pos:pos+n]...)
		from += n
	}
	return dst
}

// redelivered handles the part of a retransmission that lies before the
// delivery point: b starts at stream offset off and ends at or before h.off.
func (t *Table) redelivered(c *conn, d Dir, off uint64, b []byte, ts int64) {
	h := &c.half[d]
	end := off + uint64(len(b))
	if end <= h.ackOff {
		return // the receiver acknowledged all of it: its copy is settled
	}
	if off < h.ackOff {
		b, off = b[h.ackOff-off:], h.ackOff
	}
	var unchecked, diff uint64
	if off < h.retFrom {
		unchecked = min(h.retFrom, end) - off
	}
	if unchecked < uint64(len(b)) {
		diff = h.ringDiff(off+unchecked, b[unchecked:])
	}
	if diff == 0 && unchecked == 0 {
		return // an ordinary retransmission
	}
	t.st.OverlapUnchecked.Add(unchecked)
	if diff > 0 {
		c.Overlaps += diff
		t.st.OverlapBytes.Add(diff)
	}
	t.st.OverlapEvents.Add(1)
	if !c.wantsOv {
		return
	}
	// The view: kept bytes before, the other copy, kept bytes after; when
	// it reaches the delivery point, the next deliveries continue it.
	from := max(off-min(off, OverlapContext), h.retFrom)
	from = min(from, off)
	to := min(end+OverlapContext, h.off)
	buf := h.appendRing(t.altScratch(len(b)), from, off)
	buf = append(buf, b...)
	if end >= h.retFrom {
		buf = h.appendRing(buf, end, to)
	}
	if end+OverlapContext > h.off {
		h.altEnd = max(h.altEnd, end+OverlapContext)
	}
	c.overlapper().Overlap(d, from, buf, ts)
}

// altScratch returns the table's empty scratch buffer for assembling an
// alternate view around n bytes; it is allocated once per table.
func (t *Table) altScratch(n int) []byte {
	if need := n + 2*OverlapContext; cap(t.alt) < need {
		t.alt = make([]byte, 0, max(need, maxClass+2*OverlapContext))
	}
	return t.alt[:0]
}

// bufferedConflict delivers the alternate view of a retransmission that
// disagreed with buffered (not yet delivered) data: again the other copy
// (at stream offset off) with the buffered copy's bytes around it.
func (t *Table) bufferedConflict(c *conn, d Dir, s *seg, off uint64, b []byte, ts int64) {
	t.st.OverlapEvents.Add(1)
	if !c.wantsOv {
		return
	}
	from := max(s.off, off-min(off, OverlapContext))
	end := off + uint64(len(b))
	to := min(s.end(), end+OverlapContext)
	buf := append(t.altScratch(len(b)), s.b[from-s.off:off-s.off]...)
	buf = append(buf, b...)
	buf = append(buf, s.b[end-s.off:to-s.off]...)
	c.overlapper().Overlap(d, from, buf, ts)
}

// continueAlt passes the start of b (being delivered at h.off) on to the
// alternate view that a conflict at the delivery point opened.
func (t *Table) continueAlt(c *conn, d Dir, b []byte, ts int64) {
	h := &c.half[d]
	if !c.wantsOv || h.altEnd <= h.off {
		return
	}
	n := min(uint64(len(b)), h.altEnd-h.off)
	c.overlapper().Overlap(d, h.off, b[:n], ts)
}
