package pipeline

import "github.com/tapdlp/tapdlp/record"

// encodable is a record with its own JSON encoder (record/json.go), byte
// for byte what encoding/json writes.
type encodable interface {
	record.Routed
	AppendJSON(dst []byte) []byte
}

// recordSlab is the size of the blocks records are carved from.
const recordSlab = 64 << 10

// recordEncoder encodes the records of one goroutine (a worker or the
// dispatcher). A record is appended into a reused scratch buffer, then
// copied into a slice carved from a 64 KiB slab: the JSON must outlive the
// call (it waits in the writer's queue), and one slab instead of one
// allocation per record made encoding allocation-free in steady state for
// all but one record in ~100. Each record's slice is capped at its length,
// so a sink or renderer that appends to it (the router adds the sensor)
// copies instead of writing over its neighbour. A slab is garbage once
// every record carved from it has been written.
type recordEncoder struct {
	scratch []byte
	slab    []byte
}

func (e *recordEncoder) encode(v encodable) []byte {
	e.scratch = v.AppendJSON(e.scratch[:0])
	n := len(e.scratch)
	if cap(e.slab)-len(e.slab) < n {
		e.slab = make([]byte, 0, max(recordSlab, n))
	}
	start := len(e.slab)
	e.slab = append(e.slab, e.scratch...)
	return e.slab[start : start+n : start+n]
}
