package pipeline

import (
	"slices"
	"sync"

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
// The copy comes from flowPool and goes back there once the ordered stage
// has written it (releaseFlow): the stage encodes synchronously and keeps
// nothing.
func cloneFlow(r *record.Flow) *record.Flow {
	c := flowPool.Get().(*record.Flow)
	*c = *r
	c.Dst.IOC = clonePtr(r.Dst.IOC)
	c.VLAN = slices.Clone(r.VLAN)
	c.ICMP = clonePtr(r.ICMP)
	c.Tunnel = clonePtr(r.Tunnel)
	if r.Reject != nil {
		j := *r.Reject
		j.Type, j.Code = clonePtr(j.Type), clonePtr(j.Code)
		c.Reject = &j
	}
	c.Reassembly = clonePtr(r.Reassembly)
	if r.TLS != nil {
		t := *r.TLS
		t.ALPN = slices.Clone(t.ALPN)
		c.TLS = &t
	}
	c.HTTP = clonePtr(r.HTTP)
	if r.DNS != nil {
		d := *r.DNS
		d.Answers = slices.Clone(d.Answers)
		c.DNS = &d
	}
	c.GRPC = clonePtr(r.GRPC)
	c.AI = clonePtr(r.AI)
	if r.Sensitive != nil {
		c.Sensitive = make([]record.Finding, len(r.Sensitive))
		for i, f := range r.Sensitive {
			f.Evidence = slices.Clone(f.Evidence)
			f.Hashes = slices.Clone(f.Hashes)
			c.Sensitive[i] = f
		}
	}
	c.Inspected = clonePtr(r.Inspected)
	c.Tags = slices.Clone(r.Tags)
	c.Alerts = slices.Clone(r.Alerts)
	c.Sensor = clonePtr(r.Sensor)
	return c
}

// clonePtr copies what p points to (p must point to a type without
// references of its own).
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// flowPool recycles the records cloneFlow makes: one per emission would
// otherwise be most of the ordered stage's garbage.
var flowPool = sync.Pool{New: func() any { return new(record.Flow) }}

// releaseFlow returns a record made by cloneFlow once nothing refers to it.
func releaseFlow(r *record.Flow) {
	*r = record.Flow{}
	flowPool.Put(r)
}
