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
// The copy comes from flowPool and goes back there once it is encoded
// (releaseFlow): by the ordered stage, or by the writer for a flow record
// the stage handed over (Pipeline.writeFlow); neither keeps anything.
func cloneFlow(r *record.Flow) *record.Flow {
	x := flowPool.Get().(*flowBox)
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
		c.Sensitive = make([]record.Finding, len(r.Sensitive))
		for i, f := range r.Sensitive {
			f.Evidence = slices.Clone(f.Evidence)
			f.Hashes = slices.Clone(f.Hashes)
			c.Sensitive[i] = f
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

// boxed copies *p into slot and returns slot, or nil when p is nil.
func boxed[T any](slot *T, p *T) *T {
	if p == nil {
		return nil
	}
	*slot = *p
	return slot
}

// flowPool recycles the boxes cloneFlow fills: one per emission would
// otherwise be most of the ordered stage's garbage.
var flowPool = sync.Pool{New: func() any { return new(flowBox) }}

// releaseFlow returns a record made by cloneFlow once nothing refers to it.
func releaseFlow(r *record.Flow) {
	x := (*flowBox)(unsafe.Pointer(r)) // r is the first field of a flowBox (cloneFlow)
	*x = flowBox{}
	flowPool.Put(x)
}
