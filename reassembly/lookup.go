package reassembly

import (
	"hash/maphash"
	"unsafe"

	"github.com/tapdlp/tapdlp/capture"
)

// The flow index is an open-addressed, linear-probing table of (hash,
// *conn) slots whose length is a power of two: a seeded 64-bit hash of a
// flow's key picks the first slot, and a lookup walks the slots from there
// to the first empty one, comparing the stored hash (no memory outside the
// slot array) and, when it matches, the whole key in the conn. Keys that
// share a hash simply occupy further slots and are told apart by the key
// compare. The seed is per table and random, so traffic cannot aim many
// flows at one run of slots (hash flooding).
//
// It replaced a map[uint64]*conn (with conns sharing a hash chained): a
// packet's lookup was a probe of the map's control-word group, then its
// slot, then the conn; here it is a run of 16-byte slots (four to a cache
// line) and then the conn. The table grows at three quarters full (a hit
// probes 2.5 slots on average at that load, a miss 8.5, all in adjacent
// memory) and shrinks to a quarter full when under an eighth full, so it
// holds 21 to 64 bytes per open flow (connBytes charges 32) and at most
// 2*MaxFlows slots (see shrink). At half load it was as fast per lookup but, with
// 100,000 flows, twice the size and slower where the map was (cache).
type flowIndex struct {
	slots []slot
	n     int // occupied slots
}

type slot struct {
	h uint64
	c *conn // nil: empty
}

// minIndex is the index's smallest length.
const minIndex = 1024

// keyHash is k's hash in t's index. flowKey has no padding (its fields are
// 2-byte aligned and 38 B in all, TestFlowKeyHasNoPadding), so its memory
// is exactly its value.
func (t *Table) keyHash(k *flowKey) uint64 { return hashKey(t.seed, k) }

func hashKey(seed maphash.Seed, k *flowKey) uint64 {
	return maphash.Bytes(seed, unsafe.Slice((*byte)(unsafe.Pointer(k)), unsafe.Sizeof(*k)))
}

// find returns the open flow with key k, nil when none.
func (t *Table) find(k *flowKey) *conn { return t.findAt(t.keyHash(k), k) }

func (t *Table) findAt(h uint64, k *flowKey) *conn {
	s := t.flows.slots
	if len(s) == 0 {
		return nil
	}
	mask := uint64(len(s) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := &s[i]
		if e.c == nil {
			return nil
		}
		if e.h == h && e.c.key == *k {
			return e.c
		}
	}
}

// index adds c (its key set) to the index.
func (t *Table) index(c *conn) { t.indexAt(t.keyHash(&c.key), c) }

// indexAt adds c under h, its key's hash, which c keeps (conn.kh) for
// unindex.
func (t *Table) indexAt(h uint64, c *conn) {
	c.kh = h
	x := &t.flows
	if 4*(x.n+1) > 3*len(x.slots) {
		x.resize(max(2*len(x.slots), minIndex))
	}
	x.put(h, c)
	x.n++
	t.open++
}

// put stores (h, c) in the first empty slot of h's run; there is one.
func (x *flowIndex) put(h uint64, c *conn) {
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].c != nil {
		i = (i + 1) & mask
	}
	x.slots[i] = slot{h, c}
}

// resize moves every entry into a table of n slots (a power of two, more
// than twice the entries).
func (x *flowIndex) resize(n int) {
	old := x.slots
	x.slots = make([]slot, n)
	for _, e := range old {
		if e.c != nil {
			x.put(e.h, e.c)
		}
	}
}

// unindex removes c from the index.
func (t *Table) unindex(c *conn) { t.unindexAt(c.kh, c) }

func (t *Table) unindexAt(h uint64, c *conn) {
	x := &t.flows
	s := x.slots
	mask := uint64(len(s) - 1)
	i := h & mask
	for s[i].c != c {
		if s[i].c == nil {
			panic("reassembly: unindexing a flow that is not in the index")
		}
		i = (i + 1) & mask
	}
	// Backward-shift deletion: move later entries of the run into the
	// hole when their home slot allows it, so no run is ever broken by an
	// empty slot and no tombstone marker is needed.
	for j := (i + 1) & mask; s[j].c != nil; j = (j + 1) & mask {
		home := s[j].h & mask
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if (j-home)&mask >= (j-i)&mask {
			s[i] = s[j]
			i = j
		}
	}
	s[i] = slot{}
	x.n--
	t.open--
}

// shrink gives memory back when the index is under an eighth full: to the
// smallest length (at least minIndex) it fills at most a quarter, nothing
// when empty (an empty index of minIndex is kept, so a table that sees a
// flow now and then does not allocate one each time). The table calls it after each expiry sweep and flush, not at
// each removal: a flush or a mass expiry would rehash the survivors at
// every halving (measured 4% of the open mix's CPU).
func (x *flowIndex) shrink() {
	n := len(x.slots)
	switch {
	case x.n == 0 && n > minIndex:
		x.slots = nil
	case n > minIndex && 8*x.n < n:
		for n/2 >= minIndex && 4*x.n <= n/2 {
			n /= 2
		}
		x.resize(n)
	}
}

// Lookup returns the open flow p belongs to, or nil when there is none (it
// was never created, or ended). It does not touch the flow. A consumer that
// keeps per-packet state of its own (alert pcaps) calls it after Packet.
func (t *Table) Lookup(p *capture.Packet) *Flow {
	k, _ := makeKey(p)
	if c := t.find(&k); c != nil {
		return &c.Flow
	}
	return nil
}
