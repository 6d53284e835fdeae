package classify

import (
	"slices"

	"github.com/tapdlp/tapdlp/record"
)

// Parked is what an idle Stream (see Idle) needs to go on exactly as if it
// had been kept: its look-back context (window carry-over and the encoded
// pass's label tail), where the scan resumes in it and the bytes inspected
// so far. It is a few hundred bytes where a Stream and its buffers are
// kilobytes, so a flow waiting between messages can give its Stream back.
// It holds plaintext: keep it no longer than the flow.
type Parked struct {
	b []byte // window carry-over, then the encoded pass's tail
	// The findings so far: the Stream's aggregates then its encoded
	// ones (from nagg on), copied (their evidence and hash lists are not:
	// a Stream given back is Reset before it is written again, and Unpark
	// hands them back).
	aggs      []typeAgg
	base      int64
	inspected uint64
	dropped   uint64
	ncarry    int32 // offsets within a window: under 64 KiB (see Idle)
	next      int32
	cnext     int32
	nagg      int32
	cont      uint8
	ntail     uint8
}

// Bytes returns the plaintext p holds (what it costs a bounded store).
func (p *Parked) Bytes() int { return cap(p.b) }

// Idle reports whether st holds nothing a Parked cannot keep: no decoder
// state, no candidate waiting for more bytes (Sync judged
// everything), not stopped, not seeded by a continuation.
func (st *Stream) Idle() bool {
	w, e := &st.w, &st.enc
	return !st.truncated && !st.flushed && !st.seeded && !st.active &&
		st.url == urlDec{} && st.js == jsonDec{} && st.b64 == b64Dec{} &&
		(st.mp == nil || st.mp.trunc == 0 && !st.mp.arch.Active()) &&
		w.next >= len(w.carry) && w.cnext >= len(w.carry) && w.next < 1<<16 && w.cnext < 1<<16 &&
		e.nrun == 0 && !e.long && !e.trig && e.nb64 == 0 && !e.inRun
}

// Park copies an Idle st's state into p (reusing p's buffer).
func (st *Stream) Park(p *Parked) {
	w, e := &st.w, &st.enc
	p.b = append(append(slices.Grow(p.b[:0], len(w.carry)+e.ntail), w.carry...), e.tail[:e.ntail]...) // one allocation
	p.ncarry, p.next, p.cnext, p.cont = int32(len(w.carry)), int32(w.next), int32(w.cnext), w.cont
	p.ntail, p.base, p.inspected = uint8(e.ntail), w.base, st.inspected
	p.aggs, p.nagg = append(append(p.aggs[:0], st.aggs...), st.encAggs...), int32(len(st.aggs))
	p.dropped = st.dropped
}

// Unpark makes st, fresh from Init or Reset with the scanner the parked
// Stream used, continue where p's Stream stopped.
func (st *Stream) Unpark(p *Parked) {
	w, e := &st.w, &st.enc
	w.carry = append(w.carry[:0], p.b[:p.ncarry]...)
	w.next, w.cnext, w.cont, w.base = int(p.next), int(p.cnext), p.cont, p.base
	e.ntail = copy(e.tail[:], p.b[p.ncarry:])
	st.inspected = p.inspected
	st.aggs, st.encAggs, st.dropped = append(st.aggs[:0], p.aggs[:p.nagg]...), append(st.encAggs[:0], p.aggs[p.nagg:]...), p.dropped
	clear(p.aggs) // st holds them now
	p.aggs, p.nagg = p.aggs[:0], 0
}

// Inspected returns how many bytes p's Stream had scanned.
func (p *Parked) Inspected() uint64 { return p.inspected }

// Findings appends the findings of p's Stream, as Stream.Findings would
// (sc and dir are what the Stream was set up with).
func (p *Parked) Findings(sc *Scanner, dir string, dst []record.Finding) []record.Finding {
	if len(p.aggs) == 0 {
		return dst
	}
	st := Stream{sc: sc, dir: dir, aggs: p.aggs[:p.nagg:p.nagg], encAggs: p.aggs[p.nagg:]}
	return st.Findings(dst)
}
