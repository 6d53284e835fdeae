package reassembly

import (
	"math/bits"
	"sync/atomic"
)

// DefaultMemcap is the global reassembly memcap when NewMemory gets 0.
const DefaultMemcap = 256 << 20

// Memory is the global reassembly memory accountant shared by every worker's
// Table: buffered out-of-order bytes (by buffer capacity) are reserved here
// before they are kept and released when delivered or dropped. It is one
// atomic counter, touched only on the out-of-order path, never per in-order
// packet.
type Memory struct {
	used  atomic.Int64
	limit int64
}

// NewMemory returns an accountant with the given memcap in bytes (0 means
// DefaultMemcap).
func NewMemory(limit int64) *Memory {
	if limit <= 0 {
		limit = DefaultMemcap
	}
	return &Memory{limit: limit}
}

// Used returns the bytes currently reserved by all tables.
func (m *Memory) Used() int64 { return m.used.Load() }

// Limit returns the memcap.
func (m *Memory) Limit() int64 { return m.limit }

// reserve takes n bytes if that stays within the memcap. Add-then-undo keeps
// it to one atomic op in the common case; concurrent reservers may see the
// counter briefly above the limit, never succeed past it.
func (m *Memory) reserve(n int64) bool {
	if m.used.Add(n) > m.limit {
		m.used.Add(-n)
		return false
	}
	return true
}

func (m *Memory) fits(n int64) bool { return m.used.Load()+n <= m.limit }

// fitsHalf reports whether n more bytes keep the total within half the
// memcap: the share kept copies of delivered bytes may take.
func (m *Memory) fitsHalf(n int64) bool { return m.used.Load()+n <= m.limit/2 }

func (m *Memory) release(n int64) { m.used.Add(-n) }

// Buffer size classes for out-of-order segments: powers of two from 64 B to
// 64 KiB (the largest TCP segment, GRO included). Larger payloads are split.
const (
	minClassShift = 6
	maxClassShift = 16
	nClasses      = maxClassShift - minClassShift + 1
	maxClass      = 1 << maxClassShift

	// poolMaxFree bounds the bytes a table keeps in its free lists. Free
	// buffers are not reserved in Memory (so Used returns to 0 after a
	// flush); this cap keeps them bounded per worker instead.
	poolMaxFree = 4 << 20
)

func classOf(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minClassShift
}

// bufPool recycles out-of-order segment buffers per table. It pays because
// OOO bursts allocate and free many same-sized buffers within milliseconds;
// unlike sync.Pool it is single-goroutine and its size is bounded.
type bufPool struct {
	free      [nClasses][][]byte
	freeBytes int
}

// get returns a buffer of length n (n <= maxClass) and its capacity class.
func (p *bufPool) get(n int) []byte {
	c := classOf(n)
	if l := len(p.free[c]); l > 0 {
		b := p.free[c][l-1]
		p.free[c][l-1] = nil
		p.free[c] = p.free[c][:l-1]
		p.freeBytes -= cap(b)
		return b[:n]
	}
	return make([]byte, n, 1<<(c+minClassShift))
}

func (p *bufPool) put(b []byte) {
	if p.freeBytes+cap(b) > poolMaxFree {
		return
	}
	c := classOf(cap(b))
	p.free[c] = append(p.free[c], b[:0])
	p.freeBytes += cap(b)
}
