package pipeline

import (
	"slices"
	"sync"
	"unsafe"

	"github.com/tapdlp/tapdlp/record"
)

// cloneFlow returns a copy of r that shares no memory reachable through
// pointers, slices or maps with r. A worker hands each flow record to the
// ordered stage (order.go) and goes on parsing the flow; the record points
// into the parsers' and the session's state (TLS, HTTP, findings…), so what
// crosses the goroutine boundary must be a copy. It is written out field by
// field: a copy by reflection cost about three times as much, and this runs
// for every record and every re-evaluation of a running flow (never per
// packet). TestCloneFlowSharesNothing fills every field of record.Flow by
// reflection and fails when a field that holds a reference is added to the
// record and not copied here.
//
// The copy comes from the caller's boxes and goes back to flowBoxes once
// it is encoded (releaseFlow): by the ordered stage, or by the writer for
// a flow record the stage handed over (Pipeline.writeFlow); neither keeps
// anything.
func cloneFlow(boxes *boxCache, r *record.Flow) *record.Flow {
	x := boxes.get()
	c := &x.rec
	*c = *r
	c.Dst.IOC = boxed(&x.ioc, r.Dst.IOC)
	c.VLAN = cloneInto(x.vlan[:], r.VLAN)
	c.ICMP = boxed(&x.icmp, r.ICMP)
	c.Tunnel = boxed(&x.tunnel, r.Tunnel)
	if r.Reject != nil {
		c.Reject = boxed(&x.reject, r.Reject)
		c.Reject.Type, c.Reject.Code = boxed(&x.rejType, r.Reject.Type), boxed(&x.rejCode, r.Reject.Code)
	}
	c.Reassembly = boxed(&x.reasm, r.Reassembly)
	if r.TLS != nil {
		c.TLS = boxed(&x.tls, r.TLS)
		c.TLS.ALPN = cloneInto(x.alpn[:], r.TLS.ALPN)
	}
	c.HTTP = boxed(&x.http, r.HTTP)
	if r.DNS != nil {
		c.DNS = boxed(&x.dns, r.DNS)
		c.DNS.Answers = cloneInto(x.answers[:], r.DNS.Answers)
	}
	c.GRPC = boxed(&x.grpc, r.GRPC)
	c.AI = boxed(&x.ai, r.AI)
	if r.Sensitive != nil {
		c.Sensitive = cloneInto(x.finds[:], r.Sensitive)
		strs := x.strs[:0]
		for i := range c.Sensitive {
			f := &c.Sensitive[i]
			f.Evidence, strs = cloneStrs(strs, f.Evidence)
			f.Hashes, strs = cloneStrs(strs, f.Hashes)
		}
	}
	c.Inspected = boxed(&x.insp, r.Inspected)
	if c.Inspected != nil {
		c.Inspected.TruncatedReasons = cloneInto(x.reasons[:], r.Inspected.TruncatedReasons)
	}
	c.Tags = cloneInto(x.tags[:], r.Tags)
	c.Alerts = cloneInto(x.alerts[:], r.Alerts)
	c.Sensor = boxed(&x.sensor, r.Sensor)
	return c
}

// flowBox is a record and room for everything its pointers may point to,
// allocated (and pooled) as one block: a clone then costs one pool Get
// instead of an allocation per present sub-structure.
type flowBox struct {
	rec              record.Flow // first: releaseFlow converts &rec back to the box
	ioc              record.IOC
	icmp             record.ICMP
	tunnel           record.Tunnel
	reject           record.Reject
	rejType, rejCode uint8
	reasm            record.Reassembly
	tls              record.TLS
	http             record.HTTP
	dns              record.DNS
	grpc             record.GRPC
	ai               record.AI
	insp             record.Inspected
	sensor           record.Sensor
	// Room for the short slices most records have, so that copying them
	// allocates nothing (longer ones are cloned).
	vlan                        [2]uint16
	alpn, answers, tags, alerts [4]string
	reasons                     [4]string
	finds                       [2]record.Finding
	strs                        [8]string // the findings' evidence and hashes
}

// cloneInto copies s into room's array when it fits (room is the box's,
// so the copy still shares nothing with s), else into a new slice; nil
// stays nil.
func cloneInto[T any](room []T, s []T) []T {
	if s == nil {
		return nil
	}
	if len(s) <= len(room) {
		return append(room[:0], s...)
	}
	return slices.Clone(s)
}

// cloneStrs copies s into room's free capacity when it fits, capped (so an
// append to the copy cannot reach the next one), else into a new slice;
// nil stays nil. It returns the copy and room with the copy in it.
func cloneStrs(room, s []string) ([]string, []string) {
	if s == nil {
		return nil, room
	}
	if n := len(room); n+len(s) <= cap(room) {
		room = append(room, s...)
		return room[n:len(room):len(room)], room
	}
	return slices.Clone(s), room
}

// boxed copies *p into slot and returns slot, or nil when p is nil.
func boxed[T any](slot *T, p *T) *T {
	if p == nil {
		return nil
	}
	*slot = *p
	return slot
}

// flowBoxes recycles the boxes cloneFlow fills: one per emission would
// otherwise be most of the ordered stage's garbage. It is a bounded free
// list in front of a sync.Pool: with the pool alone, every garbage
// collection emptied it and the records in flight drained it, so a 2 KB
// box was allocated for ~1 record in 6 on the short mix; with the list
// alone, bursts of more records in flight than it keeps (a tick timing
// out thousands of SYN flows) allocated the rest. Goroutines reach it
// through a boxCache of their own.
var flowBoxes = boxList{pool: sync.Pool{New: func() any { return new(flowBox) }}}

// maxFreeBoxes bounds the boxes kept for reuse (about 3.5 MB).
const maxFreeBoxes = 2048

// boxChunk is how many boxes a boxCache takes from or gives back to the
// list at a time. The workers take every box and the ordered stage and the
// writer give them back, each on its own core: one box per lock moved the
// lock's and the list's cache lines between cores twice per record.
const boxChunk = 32

type boxList struct {
	mu   sync.Mutex
	free []*flowBox
	pool sync.Pool // what the list has no room for
}

// take appends up to boxChunk boxes from the list to dst.
func (l *boxList) take(dst []*flowBox) []*flowBox {
	l.mu.Lock()
	n := min(len(l.free), boxChunk)
	rest := len(l.free) - n
	dst = append(dst, l.free[rest:]...)
	clear(l.free[rest:])
	l.free = l.free[:rest]
	l.mu.Unlock()
	return dst
}

// give keeps the cleared boxes xs (what fits in the list, the rest in the
// pool) and clears xs.
func (l *boxList) give(xs []*flowBox) {
	l.mu.Lock()
	n := min(len(xs), maxFreeBoxes-len(l.free))
	l.free = append(l.free, xs[:n]...)
	l.mu.Unlock()
	for _, x := range xs[n:] {
		l.pool.Put(x)
	}
	clear(xs)
}

// boxCache is one goroutine's boxes between it and flowBoxes; the zero
// value is ready. Not safe for concurrent use.
type boxCache struct {
	boxes []*flowBox
}

func (c *boxCache) get() *flowBox {
	if len(c.boxes) == 0 {
		c.boxes = flowBoxes.take(c.boxes)
	}
	if n := len(c.boxes); n > 0 {
		x := c.boxes[n-1]
		c.boxes[n-1] = nil
		c.boxes = c.boxes[:n-1]
		return x
	}
	return flowBoxes.pool.Get().(*flowBox)
}

// put keeps a cleared box, giving boxChunk of them back to the list when
// it holds twice that.
func (c *boxCache) put(x *flowBox) {
	if c.boxes == nil {
		c.boxes = make([]*flowBox, 0, 2*boxChunk)
	}
	c.boxes = append(c.boxes, x)
	if len(c.boxes) >= 2*boxChunk {
		flowBoxes.give(c.boxes[boxChunk:])
		c.boxes = c.boxes[:boxChunk]
	}
}

// releaseFlow returns a record made by cloneFlow once nothing refers to
// it, to the caller's boxes.
func releaseFlow(c *boxCache, r *record.Flow) {
	x := (*flowBox)(unsafe.Pointer(r)) // r is the first field of a flowBox (cloneFlow)
	*x = flowBox{}
	c.put(x)
}
