package reassembly

import (
	"hash/maphash"
	"unsafe"

	"github.com/tapdlp/tapdlp/capture"
)

// The flow index maps a seeded 64-bit hash of a flow's key to its conn;
// conns whose keys share a hash are chained through conn.sameHash (with a
// per-table random seed, a chain longer than one is a 2^-64 event per pair
// that traffic cannot arrange). An 8-byte map key instead of the 38-byte
// flowKey makes a map slot 16 B instead of 48: with 100,000 open flows the
// index took 10.5 MB of heap, and about a third of that now.

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
	for c := t.flows[h]; c != nil; c = c.sameHash {
		if c.key == *k {
			return c
		}
	}
	return nil
}

// index adds c (its key set) to the index.
func (t *Table) index(c *conn) { t.indexAt(t.keyHash(&c.key), c) }

func (t *Table) indexAt(h uint64, c *conn) {
	c.sameHash = t.flows[h]
	t.flows[h] = c
	t.open++
}

// unindex removes c from the index.
func (t *Table) unindex(c *conn) { t.unindexAt(t.keyHash(&c.key), c) }

func (t *Table) unindexAt(h uint64, c *conn) {
	head := t.flows[h]
	switch {
	case head == c && c.sameHash == nil:
		delete(t.flows, h)
	case head == c:
		t.flows[h] = c.sameHash
	default:
		for p := head; p != nil; p = p.sameHash {
			if p.sameHash == c {
				p.sameHash = c.sameHash
				break
			}
		}
	}
	c.sameHash = nil
	t.open--
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
