package reassembly

import (
	"hash/maphash"
	"unsafe"

	"github.com/tapdlp/tapdlp/capture"
)

// Closing early. A TCP flow whose close completed — FIN both ways and both
// FINs acknowledged, or an accepted RST — with nothing left that the table
// could still deliver or compare a retransmission with (the condition
// Closer uses) is emitted at once, not after Config.TCPClosedLinger: the
// last ACK of the four-way close is in its record, and its state (the
// conn, the consumer's session, everything the record reads) is recycled
// for the next flow instead of waiting out the linger. A tombstone keeps
// its key for the rest of the linger, so packets that still arrive
// (a retransmitted FIN, an ACK after the RST, stray data) are absorbed and
// counted (Stats.LatePackets) instead of opening a spurious mid-stream
// flow. A pure SYN on the key starts a new flow, as on a lingering one.
//
// On a busy link the linger held every closed flow whole: 44,000 new flows
// a second for 5 s are 220,000 flows of about 2 KB each (conn, session,
// parser results, the ordered stage's state); a tombstone is 56 B plus its
// index entry.
//
// A flow is kept whole for the linger, as before, when its consumer asks
// for it (Closer.Closed returning false: TLS that keys arriving later may
// still decrypt), or when the close never completes (a FIN not
// acknowledged, data still buffered).

// tomb is a closed flow's tombstone. The flow key is kept whole, so a
// packet of another flow whose key shares the hash is never taken for a
// late packet.
type tomb struct {
	key     flowKey
	touched int64 // table clock at the flow's or a late packet's arrival
	queued  int64 // touched when it was last put in the queue
}

// tombBytes is what one tombstone costs: its queue slot and its index
// entry (a 16-byte posIndex slot at a load between 3/8 and 3/4, 21 to 43
// B), counted in the table's byte budget (FlowBytes).
const tombBytes = int64(unsafe.Sizeof(tomb{})) + 24

// minTombRing is the queue's smallest capacity once it exists.
const minTombRing = 64

// tombs is a table's tombstones: a queue in order of insertion (a ring of
// absolute positions) and an index from the key's hash to the position.
// Every tombstone has the same lifetime (the linger), so the queue's head
// is the first to expire; one refreshed by a late packet is put back at
// the tail when it reaches the head still alive. Flows buried at the end
// of their grace are queued in nearly that order (one whose packet comes
// after its grace is buried before the next tick buries older ones), so a
// tombstone may outstay its linger by a tick; late() checks the linger
// itself, so it never absorbs a packet after it. A position whose index
// entry points elsewhere is stale (its tombstone was removed or queued
// again) and skipped.
type tombs struct {
	idx        posIndex     // key hash (Table.keyHash) -> absolute position
	ring       []tomb       // power-of-two capacity
	head, tail uint64       // absolute positions: [head, tail) are queued
	seed       maphash.Seed // the table's, to find a queued tombstone's index entry
}

// posIndex maps a key hash to a queue position: an open-addressed,
// linear-probing table like the flow index (see flowIndex), which it
// replaced a map[uint64]uint64 with for the same reason (a new flow's first
// packet and every closed flow look it up). One entry per hash.
type posIndex struct {
	slots []posSlot
	n     int
}

type posSlot struct {
	h    uint64
	pos1 uint64 // position + 1; 0: empty
}

// minPosIndex is the smallest length of a posIndex that exists.
const minPosIndex = 2 * minTombRing

func (x *posIndex) len() int { return x.n }

// get returns the position stored under h.
func (x *posIndex) get(h uint64) (uint64, bool) {
	s := x.slots
	if len(s) == 0 {
		return 0, false
	}
	mask := uint64(len(s) - 1)
	for i := h & mask; s[i].pos1 != 0; i = (i + 1) & mask {
		if s[i].h == h {
			return s[i].pos1 - 1, true
		}
	}
	return 0, false
}

// set stores pos under h, replacing what h had.
func (x *posIndex) set(h, pos uint64) {
	if 4*(x.n+1) > 3*len(x.slots) {
		x.resize(max(2*len(x.slots), minPosIndex))
	}
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for ; x.slots[i].pos1 != 0; i = (i + 1) & mask {
		if x.slots[i].h == h {
			x.slots[i].pos1 = pos + 1
			return
		}
	}
	x.slots[i] = posSlot{h, pos + 1}
	x.n++
}

func (x *posIndex) resize(n int) {
	old := x.slots
	x.slots = make([]posSlot, n)
	mask := uint64(n - 1)
	for _, e := range old {
		if e.pos1 != 0 {
			i := e.h & mask
			for x.slots[i].pos1 != 0 {
				i = (i + 1) & mask
			}
			x.slots[i] = e
		}
	}
}

// del removes h's entry, if any (backward-shift deletion, as in
// Table.unindexAt), and shrinks the table when under an eighth full.
func (x *posIndex) del(h uint64) {
	s := x.slots
	if len(s) == 0 {
		return
	}
	mask := uint64(len(s) - 1)
	i := h & mask
	for s[i].h != h || s[i].pos1 == 0 {
		if s[i].pos1 == 0 {
			return
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; s[j].pos1 != 0; j = (j + 1) & mask {
		if home := s[j].h & mask; (j-home)&mask >= (j-i)&mask {
			s[i] = s[j]
			i = j
		}
	}
	s[i] = posSlot{}
	x.n--
	if len(s) > minPosIndex && 8*x.n < len(s) {
		x.resize(len(s) / 2)
	}
}

// hash is tb's key hash, as Table.keyHash computes it.
func (q *tombs) hash(tb *tomb) uint64 { return hashKey(q.seed, &tb.key) }

// live reports whether the tombstone at pos is current (not stale) and
// returns its hash.
func (q *tombs) live(pos uint64) (uint64, bool) {
	h := q.hash(q.at(pos))
	p, ok := q.idx.get(h)
	return h, ok && p == pos
}

func (q *tombs) len() int { return q.idx.len() }

func (q *tombs) at(pos uint64) *tomb { return &q.ring[pos&uint64(len(q.ring)-1)] }

// push queues tb under hash h; the caller made room (the ring is not full
// at the cap).
func (q *tombs) push(h uint64, tb tomb) {
	if q.tail-q.head == uint64(len(q.ring)) {
		q.grow(max(2*len(q.ring), minTombRing))
	}
	*q.at(q.tail) = tb
	q.idx.set(h, q.tail)
	q.tail++
}

// grow moves the queue into a ring of n slots (a power of two, larger):
// every position keeps its number, so the index stays as it is.
func (q *tombs) grow(n int) {
	ring := make([]tomb, n)
	for pos := q.head; pos != q.tail; pos++ {
		ring[pos&uint64(n-1)] = *q.at(pos)
	}
	q.ring = ring
}

// resize moves the queue into a ring of n slots (a power of two, at least
// the live tombstones), dropping stale positions and rebuilding the index,
// which a Go map never shrinks by itself.
func (q *tombs) resize(n int) {
	ring := make([]tomb, n)
	var idx posIndex
	var tail uint64
	for pos := q.head; pos != q.tail; pos++ {
		h, ok := q.live(pos)
		if !ok {
			continue
		}
		ring[tail&uint64(n-1)] = *q.at(pos)
		idx.set(h, tail)
		tail++
	}
	q.ring, q.idx, q.head, q.tail = ring, idx, 0, tail
}

// maxTombs is the most tombstones a table keeps (the queue's capacity at
// most): MaxFlows, rounded up to a power of two.
func (t *Table) maxTombs() int {
	n := 1
	for n < t.cfg.MaxFlows {
		n <<= 1
	}
	return n
}

// bury emits c, whose close completed, and leaves its tombstone, its
// linger counted from last (the time of the flow's last packet: a flow
// buried at the end of its grace, at a tick, is not remembered longer).
func (t *Table) bury(c *conn, last int64) {
	k, h := c.key, c.kh
	t.st.FlowsTombstoned.Add(1)
	t.finish(c, c.closeState(), false)
	q := &t.tombs
	if _, ok := q.idx.get(h); ok {
		// A tombstone whose key shares the hash (a 2^-64 event): it goes.
		q.idx.del(h)
		t.st.Tombstones.Add(-1)
	}
	for q.len() > 0 && (q.len() >= t.maxTombs() || t.cfg.Memcap > 0 && t.FlowBytes()+tombBytes > t.cfg.Memcap) {
		t.evictTomb()
	}
	if t.cfg.Memcap > 0 && t.FlowBytes()+tombBytes > t.cfg.Memcap {
		t.st.TombstonesEvicted.Add(1) // no room even for this one
		return
	}
	if q.tail-q.head == uint64(len(q.ring)) && len(q.ring) >= t.maxTombs() {
		q.resize(len(q.ring)) // stale positions fill the ring: drop them
	}
	q.push(h, tomb{key: k, touched: last, queued: last})
	t.st.Tombstones.Add(1)
}

// late reports whether p (key k, hash h, no open flow) belongs to a flow
// that closed and is still within its linger: it is counted and absorbed.
// A pure SYN removes the tombstone (a new connection on the tuple) and is
// not absorbed.
func (t *Table) late(h uint64, k *flowKey, p *capture.Packet) bool {
	pos, ok := t.tombs.idx.get(h)
	if !ok {
		return false
	}
	tb := t.tombs.at(pos)
	if tb.key != *k {
		return false
	}
	switch {
	case tb.touched <= t.now-t.timeouts[clsTCPClosed]:
		// Its linger is over (with ExpireOnAdvance no sweep may have run
		// since): as if it had expired before this packet.
		t.dropTomb(h)
		return false
	case p.TCPFlags&(capture.TCPSyn|capture.TCPAck|capture.TCPRst) == capture.TCPSyn:
		t.st.FlowsReused.Add(1)
		t.dropTomb(h)
		return false
	}
	tb.touched = t.now
	t.st.LatePackets.Add(1)
	t.st.LateBytes.Add(uint64(max(p.IPLen, 0)))
	return true
}

// dropTomb removes the tombstone indexed under h (its queue position goes
// stale).
func (t *Table) dropTomb(h uint64) {
	t.tombs.idx.del(h)
	t.st.Tombstones.Add(-1)
	t.shrinkTombs()
}

// evictTomb removes the oldest tombstone for room (counted).
func (t *Table) evictTomb() {
	q := &t.tombs
	for q.head != q.tail {
		h, ok := q.live(q.head)
		q.head++
		if ok {
			q.idx.del(h)
			t.st.Tombstones.Add(-1)
			t.st.TombstonesEvicted.Add(1)
			return
		}
	}
}

// expireTombs removes the tombstones whose linger ended; one refreshed by
// a late packet goes back to the tail.
func (t *Table) expireTombs() {
	q := &t.tombs
	limit := t.now - t.timeouts[clsTCPClosed]
	for q.head != q.tail {
		h, ok := q.live(q.head)
		if !ok {
			q.head++ // stale
			continue
		}
		tb := q.at(q.head)
		if tb.touched > limit {
			if tb.touched == tb.queued {
				break // every later one was queued later
			}
			moved := *tb
			moved.queued = moved.touched
			q.head++
			q.push(h, moved)
			continue
		}
		q.idx.del(h)
		q.head++
		t.st.Tombstones.Add(-1)
	}
	t.shrinkTombs()
}

// shrinkTombs gives back the queue's memory when few tombstones remain.
func (t *Table) shrinkTombs() {
	q := &t.tombs
	switch n := len(q.ring); {
	case q.len() == 0 && n > minTombRing:
		q.ring, q.idx, q.head, q.tail = nil, posIndex{}, 0, 0
	case q.len() == 0:
		// Small: kept, so a table that closes a flow now and then does
		// not allocate a map and a ring for each.
		q.head, q.tail = 0, 0
	case n > 4*minTombRing && q.len() < n/8:
		q.resize(n / 2)
	}
}

// Tombstones returns the number of tombstones the table holds.
func (t *Table) Tombstones() int { return t.tombs.len() }

// clearTombs forgets every tombstone (the table is being flushed).
func (t *Table) clearTombs() {
	t.st.Tombstones.Add(-int64(t.tombs.len()))
	t.tombs = tombs{seed: t.seed}
}
