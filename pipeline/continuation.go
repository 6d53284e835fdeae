package pipeline

import (
	"net/netip"
	"sync/atomic"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/reassembly"
)

// A TCP connection paused for longer than the idle timeout ends as one flow
// and comes back as another, picked up mid-stream, which the flow table
// marks as continuing it (reassembly.Flow.Continues). A value straddling
// the pause (the first digits of a card before it, the rest after) is in
// neither flow's bytes alone, so the scanner's carry-over of each
// direction — the bytes a candidate not judged yet still needs, with their
// look-back context, under 1.5 KiB — is kept when a flow ends by idle
// timeout, and the continuing flow's scanners start from it: the value is
// found, once, on the continuing flow's record. A flow ended by a RST is
// not kept: the flow table only ends a flow on a RST the host accepts
// (RFC 5961), after which the host takes no more data on the connection,
// so nothing continues it (reassembly never marks such a flow's successor
// as continuing; see TestContinuationJoinsSplitValues).

// DefaultContinuationBytes bounds the carry-overs kept, over all workers,
// when Options.ContinuationBytes is 0. The flow table remembers at most
// 4096 timed-out flows per worker; a carry-over costs about 1.5 KiB per
// direction at most, and most flows have nothing pending.
const DefaultContinuationBytes = 4 << 20

// carryEntryCost is the accounted overhead of one kept flow besides its
// bytes: the entry, its map slot and list links.
const carryEntryCost = 192

// ContinuationStats count the carry-overs kept for continuing flows; the
// tags name their metrics.
type ContinuationStats struct {
	Kept    atomic.Uint64 `metric:"tapdlp_classify_carryover_kept_total" help:"Flows ended by idle timeout whose scanner carry-over (bytes a value not judged yet may still need) was kept for a continuation of the connection."`
	Joined  atomic.Uint64 `metric:"tapdlp_classify_carryover_joined_total" help:"Flows picked up mid-stream that continue a timed-out flow and whose scanners started from its carry-over, so a value straddling the pause is found."`
	Evicted atomic.Uint64 `metric:"tapdlp_classify_carryover_evicted_total" help:"Carry-overs dropped, oldest first, to stay within the bound on their bytes (a value straddling that pause is not joined)."`
	Unused  atomic.Uint64 `metric:"tapdlp_classify_carryover_unused_total" help:"Carry-overs dropped when the flow continuing them ended without scanning anything (its bytes went to a parser that scans none): nothing it carried could be joined."`
	Bytes   atomic.Int64  `metric:"tapdlp_classify_carryover_bytes" help:"Bytes of carry-over held for continuations, over all workers."`
}

// ContinuationStats returns the carry-over counters.
func (p *Pipeline) ContinuationStats() *ContinuationStats { return &p.contStats }

// carryKey names an ended flow the way its continuation names it: by the
// same orientation (reassembly orients a continuation like the flow it
// continues) and that flow's start (Flow.PrevStart).
type carryKey struct {
	src, dst     netip.Addr
	sport, dport uint16
	start        int64
}

// carryEntry is one ended flow's carry-overs, per direction, in the
// store's least-recently-kept list.
type carryEntry struct {
	key        carryKey
	c          [2]classify.Carry
	cost       int
	prev, next *carryEntry
}

// carryStore holds one worker's carry-overs (a connection's flows all go
// to the same worker), bounded in bytes: the oldest are evicted and
// counted. It is used by its worker's goroutine only.
type carryStore struct {
	limit int
	used  int
	m     map[carryKey]*carryEntry
	head  *carryEntry // oldest
	tail  *carryEntry // newest
	free  *carryEntry // one recycled entry (its buffers kept)
	st    *ContinuationStats
}

func newCarryStore(limit int, st *ContinuationStats) *carryStore {
	return &carryStore{limit: limit, m: make(map[carryKey]*carryEntry), st: st}
}

func (cs *carryStore) unlink(e *carryEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		cs.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		cs.tail = e.prev
	}
	e.prev, e.next = nil, nil
	delete(cs.m, e.key)
	cs.used -= e.cost
	cs.st.Bytes.Add(-int64(e.cost))
}

// release recycles an entry, wiping the plaintext it held.
func (cs *carryStore) release(e *carryEntry) {
	for d := range e.c {
		e.c[d].Wipe()
	}
	cs.free = e
}

// keep stores the carry-overs of streams for key, evicting the oldest
// entries to stay within the limit; a flow with nothing pending, or more
// than the whole limit, is not kept.
func (cs *carryStore) keep(key carryKey, streams *[2]classify.Stream) {
	e := cs.free
	if e == nil {
		e = new(carryEntry)
	}
	cs.free = nil
	pending := false
	for d := range streams {
		streams[d].CarryOver(&e.c[d])
		pending = pending || e.c[d].Pending()
	}
	e.cost = carryEntryCost + e.c[0].Len() + e.c[1].Len()
	if !pending || e.cost > cs.limit {
		cs.release(e)
		return
	}
	if old := cs.m[key]; old != nil {
		cs.unlink(old)
	}
	for cs.used+e.cost > cs.limit && cs.head != nil {
		old := cs.head
		cs.unlink(old)
		cs.release(old)
		cs.st.Evicted.Add(1)
	}
	e.key = key
	cs.m[key] = e
	e.prev = cs.tail
	if cs.tail != nil {
		cs.tail.next = e
	} else {
		cs.head = e
	}
	cs.tail = e
	cs.used += e.cost
	cs.st.Bytes.Add(int64(e.cost))
	cs.st.Kept.Add(1)
}

// take seeds streams with the carry-overs kept for key, if any, and
// forgets them.
func (cs *carryStore) take(key carryKey, streams *[2]classify.Stream) bool {
	e := cs.m[key]
	if e == nil {
		return false
	}
	cs.unlink(e)
	for d := range streams {
		streams[d].Seed(&e.c[d])
	}
	cs.release(e)
	cs.st.Joined.Add(1)
	return true
}

// drop forgets the carry-overs kept for key, if any, unused.
func (cs *carryStore) drop(key carryKey) {
	if e := cs.m[key]; e != nil {
		cs.unlink(e)
		cs.release(e)
		cs.st.Unused.Add(1)
	}
}

// continued is the key of the flow a continuing flow f continues.
func continued(f *reassembly.Flow) carryKey {
	return carryKey{f.Src, f.Dst, f.SrcPort, f.DstPort, f.PrevStart}
}

// carries returns the worker's carry store, made on first use; nil when
// continuations are off (Options.ContinuationBytes < 0).
func (h *flowHandler) carries() *carryStore {
	if h.carry == nil {
		n := h.p.opts.ContinuationBytes
		if n < 0 {
			return nil
		}
		if n == 0 {
			n = DefaultContinuationBytes
		}
		h.carry = newCarryStore(n/max(h.p.nworkers, 1), &h.p.contStats)
	}
	return h.carry
}

// keepCarry keeps an ending TCP flow's scanner carry-over when a
// continuation may follow: it ended by idle timeout with its
// scanners still open. Call it before the record is filled (Flush).
func (h *flowHandler) keepCarry(s *session, f *reassembly.Flow, why reassembly.EndReason) {
	if why != reassembly.EndTimeout || !s.scanning || s.closed || !s.inspect || f.Proto != capture.ProtoTCP ||
		s.c.scanState == nil { // parked: everything was judged (see park), nothing pending to carry
		return
	}
	if cs := h.carries(); cs != nil {
		cs.keep(carryKey{f.Src, f.Dst, f.SrcPort, f.DstPort, f.Start}, &s.c.scan)
	}
}

// dropCarry forgets, when a continuing flow ends, the carry-over kept for
// the flow it continues if it is still there: the continuation never set
// up its scanners (its bytes went to a parser that scans nothing, such as
// a response head without a body), so nothing can take it any more, and
// it would hold its bytes, and room other connections' carry-overs need,
// until evicted.
func (h *flowHandler) dropCarry(f *reassembly.Flow) {
	if f.Continues && h.carry != nil {
		h.carry.drop(continued(f))
	}
}

// seedCarry starts a continuing flow's scanners from the carry-over of the
// flow it continues (called when its scanning state is set up).
func (s *session) seedCarry() {
	f := s.flow
	if !f.Continues || !s.inspect {
		return
	}
	if cs := s.h.carries(); cs != nil {
		cs.take(continued(f), &s.c.scan)
	}
}
