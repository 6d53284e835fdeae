package pipeline

import (
	"sync/atomic"

	"github.com/tapdlp/tapdlp/record"
)

// encodable is a record with its own JSON encoder (record/json.go), byte
// for byte what encoding/json writes.
type encodable interface {
	record.Routed
	AppendJSON(dst []byte) []byte
}

const (
	// recordSlabSize is the size of the blocks records are carved from.
	recordSlabSize = 64 << 10
	// inPlaceRoom is the room left in the current slab from which a
	// record is encoded in place (most records are under 2 KiB).
	inPlaceRoom = 4 << 10
	// maxFreeSlabs bounds the slabs an encoder keeps for reuse (4 MiB):
	// what the writer's queue holds at once (4096 records of ~800 B on
	// the benchmark mixes: 50 slabs). With 32, the end-of-input flush of
	// 100k open flows freed ~15 MB of slabs to the garbage collector.
	maxFreeSlabs = 64
)

// recordEncoder encodes the records of one goroutine (a worker or the
// dispatcher). A record is appended into a reused scratch buffer, then
// copied into a slice carved from a 64 KiB slab, capped at its length (so
// a sink or renderer that appends to it, like the router adding the
// sensor, copies instead of writing over its neighbour). The JSON must
// outlive the call: it waits in the writer's queue. The writer releases
// each record's slab after the sink's Write (which must not retain the
// JSON), and a slab whose records are all written goes back to its
// encoder. Recycling pays: fresh memory for every record (what
// json.Marshal's copy was) cost a SYN flood more CPU in page faults and GC
// than the encoding itself.
type recordEncoder struct {
	scratch []byte
	cur     *recordSlab
	free    chan *recordSlab
}

// recordSlab is a block records are carved from. refs counts its records
// not yet written, plus one while it is its encoder's current slab.
type recordSlab struct {
	buf  []byte
	refs atomic.Int32
	free chan *recordSlab // the owning encoder's free list
}

// release drops one reference; the last one returns the slab to its
// encoder (or to the garbage collector when the free list is full).
func (s *recordSlab) release() {
	if s == nil || s.refs.Add(-1) != 0 {
		return
	}
	s.buf = s.buf[:0]
	select {
	case s.free <- s:
	default:
	}
}

// encode returns v's JSON and the slab holding it (nil for a record larger
// than a slab, which gets its own buffer); the caller passes the slab to
// release once the JSON has been written.
func (e *recordEncoder) encode(v encodable) ([]byte, *recordSlab) {
	if s := e.cur; s != nil && cap(s.buf)-len(s.buf) >= inPlaceRoom {
		// Straight into the slab, without the copy from scratch: only the
		// slab's unused tail is written, which no record handed out
		// covers.
		start := len(s.buf)
		b := v.AppendJSON(s.buf)
		if cap(b) == cap(s.buf) { // it fit (growing would have moved it)
			s.buf = b
			s.refs.Add(1)
			return b[start:len(b):len(b)], s
		}
		e.scratch = append(e.scratch[:0], b[start:]...) // it did not: as below
	} else {
		e.scratch = v.AppendJSON(e.scratch[:0])
	}
	n := len(e.scratch)
	if n > recordSlabSize/4 {
		return append([]byte(nil), e.scratch...), nil
	}
	if e.cur == nil || cap(e.cur.buf)-len(e.cur.buf) < n {
		e.cur.release() // the encoder's own reference
		e.cur = e.newSlab()
	}
	s := e.cur
	start := len(s.buf)
	s.buf = append(s.buf, e.scratch...)
	s.refs.Add(1)
	return s.buf[start : start+n : start+n], s
}

func (e *recordEncoder) newSlab() *recordSlab {
	if e.free == nil {
		e.free = make(chan *recordSlab, maxFreeSlabs)
	}
	var s *recordSlab
	select {
	case s = <-e.free:
	default:
		s = &recordSlab{buf: make([]byte, 0, recordSlabSize), free: e.free}
	}
	s.refs.Store(1)
	return s
}
