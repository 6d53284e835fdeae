package rules

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tapdlp/tapdlp/record"

	"github.com/tapdlp/tapdlp/config"
)

// Options configure Compile; zero values mean defaults.
type Options struct {
	// DisableDefaults leaves the embedded default pack out. Without it, a
	// user rule with a default rule's id replaces that default (and
	// `enabled: false` turns it off).
	DisableDefaults bool
	// DedupWindow is the de-duplication window for rules without a dedup:
	// setting; default 10m, negative disables de-duplication.
	DedupWindow time.Duration
	// Dedup and Volume carry state across reloads: pass the previous
	// Engine's Dedup() and Volume(). Nil creates new ones.
	Dedup  *Dedup
	Volume *Volume
	// DedupMaxKeys and VolumeOptions size new state (ignored when Dedup or
	// Volume is given).
	DedupMaxKeys  int
	VolumeOptions VolumeOptions
	// TrackVolume counts bytes out per default key (src.service or src.ip,
	// dst.domain) even when no threshold rule needs it, so Volume.Records
	// has something to report (the pipeline's periodic volume records).
	TrackVolume bool
}

// Engine is a compiled rule set. It is immutable after Compile and shared by
// all workers; reload by compiling a new one and swapping the pointer.
type Engine struct {
	rules []compiled
	// byCat lists, per flow category (index as categoryBit's bit, the last
	// for unknown values), the rules that can match it, in rule order. With
	// many category-scoped rules this halves the work per record.
	byCat [len(categoryNames) + 1][]int32
	// hot holds, per rule, only what the per-record loop reads, packed so
	// 200 rules fit in a few KB of cache instead of striding over compiled.
	hot   []hotRule
	kinds []keyKind // distinct volume keys threshold rules need
	dedup *Dedup
	vol   *Volume
}

type compiled struct {
	id, severity, desc string
	when               node
	catMask            uint32 // prefilter: categories the rule can match
	needSens           bool   // prefilter: needs at least one finding
	thr                *thresholdC
	dedupWindow        int64
	dedupKind          keyKind
	cnt                *ruleCounters
}

// hotRule is a rule's evaluation data: the top-level conjunction flattened
// (one interface call per condition, no andNode in between).
type hotRule struct {
	conj     []node
	needSens bool
	thr      bool
}

// holds reports whether the rule's conditions hold on x.
func (h *hotRule) holds(x *facts) bool {
	if h.needSens && !x.sensOK {
		return false
	}
	for _, c := range h.conj {
		if !c.eval(x) {
			return false
		}
	}
	return true
}

// ruleCounters sit behind a pointer so compiled stays copyable; workers
// only touch them when a rule fires.
type ruleCounters struct {
	fired, alerts, suppressed atomic.Uint64
}

type thresholdC struct {
	flows    int // > 0: a flow-count threshold (flowCounts); the byte fields are unused
	bytesOut uint64
	factor   float64
	minBytes uint64
	kind     keyKind
	nFine    int64
	window   time.Duration
	kindIdx  int // index into Engine.kinds and FlowState.vol
}

// Compile merges the default pack (unless disabled) with rules and compiles
// them. All problems are returned together as a config.Errors.
func Compile(rules []Rule, opts Options) (*Engine, error) {
	var all []Rule
	if !opts.DisableDefaults {
		defs, err := DefaultRules()
		if err != nil {
			return nil, err
		}
		all = defs
	}
	var errs config.Errors
	seen := map[string]*Rule{}
	for i := range rules {
		r := &rules[i]
		if first, dup := seen[r.ID]; dup {
			errs = append(errs, &config.Error{File: r.File, Line: r.Line, Key: "id",
				Msg: fmt.Sprintf("duplicate rule id %q (first at %s)", r.ID, first.Pos())})
			continue
		}
		seen[r.ID] = r
		if j := slices.IndexFunc(all, func(d Rule) bool { return d.ID == r.ID }); j >= 0 {
			all[j] = *r
		} else {
			all = append(all, *r)
		}
	}
	if opts.Volume == nil {
		opts.Volume = NewVolume(opts.VolumeOptions)
	}
	if opts.Dedup == nil {
		opts.Dedup = NewDedup(opts.DedupMaxKeys)
	}
	dw := opts.DedupWindow
	if dw == 0 {
		dw = 10 * time.Minute
	}
	e := &Engine{dedup: opts.Dedup, vol: opts.Volume}
	e.rules = make([]compiled, 0, len(all))
	for i := range all {
		r := &all[i]
		if !r.Enabled {
			continue
		}
		d := &diags{file: r.File}
		c := compiled{id: r.ID, severity: r.Severity, desc: r.Description, catMask: ^uint32(0), dedupKind: defaultKind, cnt: &ruleCounters{}}
		if r.When != nil {
			cc := condCompiler{d: d}
			c.when = cc.compileMap(r.When, "when", dirAny, 0)
		} else if r.Threshold == nil {
			d.add(r.Line, "", "rule %q has neither when: nor threshold:", r.ID)
		}
		if t := r.Threshold; t != nil {
			if t.Window > e.vol.MaxWindow() {
				d.add(r.Line, "threshold.window", "%s is longer than the %s volume history", t.Window, e.vol.MaxWindow())
			}
			if t.Flows == 0 && t.BytesOut == 0 && t.BaselineFactor == 0 {
				d.add(r.Line, "threshold", "needs flows, bytes_out or baseline_factor")
			}
			kind, err := kindOf(t.Per)
			if err != nil {
				d.add(r.Line, "threshold.per", "%v", err)
			}
			c.thr = &thresholdC{flows: t.Flows, bytesOut: t.BytesOut, factor: t.BaselineFactor, minBytes: t.MinBytes,
				kind: kind, nFine: e.vol.windowBuckets(t.Window), window: t.Window}
			c.dedupKind = c.thr.kind
			c.thr.kindIdx = slices.Index(e.kinds, c.thr.kind)
			if t.Flows > 0 {
				c.thr.kindIdx = -1 // counts flows, not bytes: no volume key
			} else if c.thr.kindIdx < 0 {
				c.thr.kindIdx = len(e.kinds)
				e.kinds = append(e.kinds, c.thr.kind)
			}
		}
		c.dedupWindow = int64(max(dw, 0))
		if s := r.Dedup; s != nil {
			if s.Window >= 0 {
				c.dedupWindow = int64(s.Window)
			}
			if len(s.Per) > 0 {
				kind, err := kindOf(s.Per)
				if err != nil {
					d.add(r.Line, "dedup.per", "%v", err)
				}
				c.dedupKind = kind
			}
		}
		if len(d.list) > 0 {
			errs = append(errs, d.list...)
			continue
		}
		c.catMask, c.needSens = prefilter(c.when)
		e.rules = append(e.rules, c)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	e.hot = make([]hotRule, len(e.rules))
	for i := range e.rules {
		r := &e.rules[i]
		h := hotRule{needSens: r.needSens, thr: r.thr != nil}
		if a, ok := r.when.(*andNode); ok {
			h.conj = a.kids
		} else if r.when != nil {
			h.conj = []node{r.when}
		}
		e.hot[i] = h
		for c := range e.byCat {
			if e.rules[i].catMask&(1<<c) != 0 {
				e.byCat[c] = append(e.byCat[c], int32(i))
			}
		}
	}
	if opts.TrackVolume && !slices.Contains(e.kinds, defaultKind) {
		e.kinds = append(e.kinds, defaultKind)
	}
	return e, nil
}

// prefilter extracts from the top-level AND what lets Eval skip a rule with
// two bit tests: the categories it can match and whether it needs findings.
func prefilter(n node) (uint32, bool) {
	mask, sens := ^uint32(0), false
	kids := []node{n}
	if a, ok := n.(*andNode); ok {
		kids = a.kids
	}
	for _, k := range kids {
		switch k := k.(type) {
		case *catNode:
			mask &= k.mask
		case *sensNode:
			sens = true
		}
	}
	return mask, sens
}

// Dedup returns the de-duplication state, to hand to the next Compile.
func (e *Engine) Dedup() *Dedup { return e.dedup }

// Volume returns the volume tracker, to hand to the next Compile and to
// Save at shutdown.
func (e *Engine) Volume() *Volume { return e.vol }

// Len is the number of enabled rules.
func (e *Engine) Len() int { return len(e.rules) }

// FlowState is what the engine remembers about one flow between Eval calls:
// which rules already fired and how many bytes out were already counted. The
// zero value is ready to use (it sizes itself on first Eval), so the
// pipeline may embed it in its flow struct. Not safe for concurrent use: a
// flow belongs to one worker.
//
// A FlowState must not be copied once used: with up to 64 rules its
// bitmaps live in the state itself (small), which the slices point into,
// so a state costs no allocation (the pipeline keeps one per open flow;
// 100k open flows made 200k bitmap allocations).
type FlowState struct {
	eng     *Engine
	fired   []uint64
	counted []uint64 // flows: threshold rules that already counted this flow
	lastOut uint64
	vol     []volRef // per Engine.kinds
	sc      *Scratch // Eval's scratch, allocated on its first call (EvalWith callers bring theirs)
	small   [2]uint64
}

// Scratch is what one evaluation works in (the record's facts reduced to
// what conditions test). It outlives no call, so one per goroutine (a
// pipeline worker) serves all the flows it evaluates instead of one per
// flow in every FlowState (measured ~100 B per open flow). Not safe for
// concurrent use.
type Scratch struct{ x facts }

// NewFlowState returns a state sized for e.
func (e *Engine) NewFlowState() *FlowState {
	st := &FlowState{}
	st.bind(e)
	return st
}

// Reset prepares st for a new flow, keeping its buffers.
func (st *FlowState) Reset() {
	clear(st.fired)
	clear(st.counted)
	st.lastOut = 0
	clear(st.vol)
}

func (st *FlowState) bind(e *Engine) {
	st.eng = e
	n := (len(e.rules) + 63) / 64
	switch {
	case n <= 1:
		st.small = [2]uint64{}
		st.fired, st.counted = st.small[0:n:1], st.small[1:1+n:2]
	case cap(st.fired) >= n && cap(st.counted) >= n: // not small's (cap 1)
		st.fired, st.counted = st.fired[:n], st.counted[:n]
		clear(st.fired)
		clear(st.counted)
	default:
		both := make([]uint64, 2*n) // one allocation for the two
		st.fired, st.counted = both[:n:n], both[n:]
	}
	if cap(st.vol) >= len(e.kinds) {
		st.vol = st.vol[:len(e.kinds)]
		clear(st.vol)
	} else {
		st.vol = make([]volRef, len(e.kinds))
	}
}

// Eval runs every rule over the record f at packet time now and returns the
// alerts to write (nil when none). Call it whenever the record changed
// materially (new finding, destination learned, byte counters moved, interim
// and final record) with the same FlowState for the whole flow: a rule fires
// at most once per flow, its id is appended to f.Alerts, and bytes out are
// counted as the difference from the previous call so interim and final
// records never count twice. Conditions see only what the record knows at
// the call: a negated condition (`not: {dst.name: [...]}`) holds while the
// name is still empty, so the pipeline should make its first call once the
// destination step has run. After an engine swap a flow's state is rebound
// and its rules may fire again (de-duplication absorbs that).
func (e *Engine) Eval(st *FlowState, f *record.Flow, now int64) []record.Alert {
	if st.sc == nil {
		st.sc = new(Scratch)
	}
	return e.EvalWith(st.sc, st, f, now)
}

// EvalWith is Eval working in sc, which the caller keeps for its next
// evaluations (of any flow): a worker's evaluations then allocate nothing
// but the alerts they return.
func (e *Engine) EvalWith(sc *Scratch, st *FlowState, f *record.Flow, now int64) []record.Alert {
	return e.eval(sc, st, f, now, nil, true)
}

// EvalAppend is EvalWith for a caller that writes the alerts before f
// changes and before its next evaluation: they are appended to dst
// (returned with them), so the caller passes the same array back (dst[:0])
// instead of growing a new one per evaluation that fires (an Alert is
// ~400 B: the growth was a third of the cost of a firing evaluation), and
// they share f's findings (their evidence and hashes) instead of copying
// them.
func (e *Engine) EvalAppend(sc *Scratch, st *FlowState, f *record.Flow, now int64, dst []record.Alert) []record.Alert {
	return e.eval(sc, st, f, now, dst, false)
}

// eval is EvalWith and EvalAppend: copyFindings gives each alert its own
// copy of f's findings.
func (e *Engine) eval(sc *Scratch, st *FlowState, f *record.Flow, now int64, dst []record.Alert, copyFindings bool) []record.Alert {
	if st.eng != e {
		st.bind(e)
	}
	x := &sc.x
	x.reset(f, now)
	if len(e.kinds) > 0 {
		out := f.Bytes.Out
		delta := out - st.lastOut
		if out < st.lastOut {
			delta = out // counters restarted: a reused state
		}
		st.lastOut = out
		if delta > 0 {
			for j, k := range e.kinds {
				e.vol.add(&st.vol[j], k.of(f), delta, now)
			}
		}
	}
	alerts := dst
rules:
	for _, i := range e.byCat[bits.TrailingZeros32(x.cat)] {
		h := &e.hot[i]
		bit := uint64(1) << (i & 63)
		if st.fired[i>>6]&bit != 0 || h.needSens && !x.sensOK {
			continue
		}
		for _, c := range h.conj {
			if !c.eval(x) {
				continue rules
			}
		}
		r := &e.rules[i]
		var thrReason string
		if h.thr {
			var ok bool
			var why string
			if r.thr.flows > 0 {
				add := st.counted[i>>6]&bit == 0
				st.counted[i>>6] |= bit
				ok, why = e.flowThreshold(r, f, now, add)
			} else {
				ok, why = e.threshold(st, r.thr, f, now)
			}
			if !ok {
				continue
			}
			thrReason = why
		}
		st.fired[i>>6] |= bit
		f.Alerts = append(f.Alerts, r.id)
		r.cnt.fired.Add(1)
		emit, count := e.dedup.fire(r.id, r.dedupKind.of(f), now, r.dedupWindow)
		if !emit {
			r.cnt.suppressed.Add(1)
			continue
		}
		r.cnt.alerts.Add(1)
		alerts = append(alerts, record.Alert{})
		newAlert(&alerts[len(alerts)-1], r, x, thrReason, count, copyFindings)
	}
	// The scratch outlives the call: it must not keep the caller's record
	// alive (measured: a whole record per open flow while it was per flow).
	x.f = nil
	return alerts
}

// TracksVolume reports whether an evaluation counts the flow's bytes out
// into volume keys (byte thresholds, volume records): then every
// evaluation of a flow whose bytes moved has an effect, whatever its rules.
func (e *Engine) TracksVolume() bool { return len(e.kinds) > 0 }

// MayFire reports whether some rule's conditions hold for f at now, with
// dst.first_seen either true or false (the caller may not know it yet):
// when it is false, an EvalWith of f fires nothing, counts nothing for
// flow thresholds and (unless TracksVolume) has no effect at all, so the
// caller may skip it. It reads the conditions only: no threshold, dedup or
// per-flow state, and it changes nothing but sc (f.Dst.FirstSeen is
// toggled during the call and restored).
func (e *Engine) MayFire(sc *Scratch, f *record.Flow, now int64) bool {
	x := &sc.x
	x.reset(f, now)
	defer func() { x.f = nil }()
	fs := f.Dst.FirstSeen
	defer func() { f.Dst.FirstSeen = fs }()
	for _, v := range [2]bool{fs, !fs} {
		f.Dst.FirstSeen = v
		if e.conditionsHold(x) {
			return true
		}
	}
	return false
}

// Holding is MayFire in detail, for a running flow evaluated again and
// again (a transfer whose every new finding is a change): which rules'
// conditions hold for f at now, as bitmaps of rule indexes below 64, one
// per value of dst.first_seen (held[0]: false, held[1]: true). other is
// true when the conditions of a rule that the bitmaps cannot stand for
// hold: a threshold rule (an evaluation counts towards it and may fire it
// later, conditions unchanged) or a rule of index 64 or more. MayFire(f)
// is held[0]|held[1] != 0 || other.
//
// A rule without a threshold whose conditions hold when a flow is
// evaluated fires then (FlowState), de-duplicated or not, and never again
// for that flow. So when each bitmap of a later record of the flow is
// within the union of that bitmap over the evaluations made so far with
// this engine (and other was false for all), and the flow's first_seen is
// the same as at those evaluations, the later evaluation fires nothing and
// changes no state: the caller may skip it, as for MayFire false. Like
// MayFire it reads the conditions only and changes nothing but sc (and
// restores f.Dst.FirstSeen).
func (e *Engine) Holding(sc *Scratch, f *record.Flow, now int64) (held [2]uint64, other bool) {
	x := &sc.x
	x.reset(f, now)
	defer func() { x.f = nil }()
	fs := f.Dst.FirstSeen
	defer func() { f.Dst.FirstSeen = fs }()
	for j, v := range [2]bool{false, true} {
		f.Dst.FirstSeen = v
		for _, i := range e.byCat[bits.TrailingZeros32(x.cat)] {
			h := &e.hot[i]
			if !h.holds(x) {
				continue
			}
			if h.thr || i >= 64 {
				other = true
				continue
			}
			held[j] |= 1 << i
		}
	}
	return held, other
}

// conditionsHold reports whether any rule's conditions hold on x.
func (e *Engine) conditionsHold(x *facts) bool {
	for _, i := range e.byCat[bits.TrailingZeros32(x.cat)] {
		if e.hot[i].holds(x) {
			return true
		}
	}
	return false
}

func (e *Engine) threshold(st *FlowState, t *thresholdC, f *record.Flow, now int64) (bool, string) {
	k := t.kind.of(f)
	s, ok := e.vol.sample(&st.vol[t.kindIdx], k, t.nFine, now)
	if !ok {
		return false, ""
	}
	// The reason string is built only once the rule is known to fire: this
	// runs per record for every threshold rule whose conditions hold.
	switch {
	case t.bytesOut > 0 && s.total > t.bytesOut:
		return true, thresholdHead(k, t, s) + " > " + strconv.FormatUint(t.bytesOut, 10)
	case t.factor > 0 && s.warm && s.total >= t.minBytes && float64(s.total) > t.factor*s.expected:
		return true, thresholdHead(k, t, s) + " > " + strconv.FormatFloat(t.factor, 'g', -1, 64) + "×baseline " +
			strconv.FormatFloat(s.expected, 'f', 0, 64)
	}
	return false, ""
}

// flowThreshold counts the flow (once: add is false on its later records)
// and tests whether its key reached the rule's flow count within the
// window.
func (e *Engine) flowThreshold(r *compiled, f *record.Flow, now int64, add bool) (bool, string) {
	t := r.thr
	k := t.kind.of(f)
	n := e.vol.flows.count(r.id, k, t.flows, int64(t.window), now, add)
	if n < t.flows {
		return false, ""
	}
	return true, "flows[" + k.String() + " " + t.window.String() + "]=" + strconv.Itoa(n) + " >= " + strconv.Itoa(t.flows)
}

func thresholdHead(k key, t *thresholdC, s volumeSample) string {
	return "bytes_out[" + k.String() + " " + t.window.String() + "]=" + strconv.FormatUint(s.total, 10)
}

// newAlert fills *a (zero) with r's alert on the flow x holds; its
// findings are a copy of the flow's when copyFindings, else the flow's.
func newAlert(a *record.Alert, r *compiled, x *facts, thrReason string, count int, copyFindings bool) {
	f := x.f
	reason := x.reason[:0] // built in the scratch's buffer: one allocation, the string
	if r.when != nil {
		reason = r.when.reason(x, reason)
	}
	if thrReason != "" {
		if len(reason) > 0 {
			reason = append(reason, " and "...)
		}
		reason = append(reason, thrReason...)
	}
	x.reason = reason[:0]
	*a = record.Alert{
		Type: "alert", TS: record.TimeFromNanos(x.now), Rule: r.id, Severity: r.severity,
		Description: r.desc, FlowID: f.FlowID, CommunityID: f.CommunityID,
		Src: f.Src, Dst: f.Dst, Reason: string(reason), Count: count,
	}
	if f.Dst.IOC != nil {
		ioc := *f.Dst.IOC
		a.Dst.IOC = &ioc
	}
	if !copyFindings {
		a.Sensitive = f.Sensitive
	} else if len(f.Sensitive) > 0 {
		// Findings are already masked; copy so later changes to the flow's
		// slices cannot alter an alert waiting in a sink queue.
		a.Sensitive = make([]record.Finding, len(f.Sensitive))
		for i, s := range f.Sensitive {
			s.Evidence = slices.Clone(s.Evidence)
			s.Hashes = slices.Clone(s.Hashes)
			a.Sensitive[i] = s
		}
	}
}
