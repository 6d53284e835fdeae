package report

import (
	"strings"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

// Report aggregates records as they stream by; WriteHTML renders the page.
// It is not safe for concurrent use (Sink adds the locking a record sink
// needs).
type Report struct {
	opt Options

	inputs       []inputStat
	inputsFolded int

	flows, interim, interimSkipped     uint64
	alerts, volumes                    uint64
	malformed, oversized, unknownType  uint64
	untimed                            uint64
	bytesOut, bytesIn                  uint64
	flowsWithFindings, flowsWithAlerts uint64
	first, last                        time.Time
	haveTime                           bool

	axis                 axis
	catSeries, domSeries *series

	cats    keyTable
	catStat []volumeStat
	domains keyTable
	domStat []volumeStat
	dests   keyTable
	dstStat []destStat
	srcs    keyTable
	srcStat []srcStat

	pairs       map[pair]volumeStat
	pairsFolded volumeStat // (source, destination) pairs refused at MaxCells

	types   keyTable
	typStat []typeStat
	matrix  map[pair]uint64 // (type, category) → outbound finding count

	rules    keyTable // key: rule "\x00" severity
	ruleSt   []ruleStat
	sevKeys  keyTable
	sevN     []uint64
	sevOther uint64

	firstSeen      []firstSeenRow
	firstSeenTotal uint64

	vols  keyTable
	volSt []volStat

	roles // the alerts list and the per-role views (roles.go)

	// inflight holds the cumulative counters of flows that had an interim
	// ("active") record, so later records of the flow add only the delta.
	inflight map[string]record.Counts
}

type inputStat struct {
	name               string
	records, malformed uint64
}

type volumeStat struct {
	bytesOut, flows uint64
}

type destStat struct {
	volumeStat
	category string
}

type pair struct{ a, b int32 }

type typeStat struct {
	class          string
	out, in, flows uint64
	test           uint64
	first, last    time.Time // of outbound findings
}

type ruleStat struct {
	rule, severity string
	count, records uint64
	first, last    time.Time
}

type firstSeenRow struct {
	t                     time.Time
	dst, category, source string
	bytesOut              uint64
}

type volStat struct {
	windows    uint64
	window     string
	peak       uint64
	baseAtPeak float64
	peakAt     time.Time
}

// New returns an empty report.
func New(opt Options) *Report {
	opt = opt.withDefaults()
	r := &Report{
		opt:       opt,
		catSeries: newSeries(opt.MaxCells),
		domSeries: newSeries(opt.MaxCells),
		cats:      newKeyTable(maxCategories),
		domains:   newKeyTable(opt.MaxKeys),
		dests:     newKeyTable(opt.MaxKeys),
		srcs:      newKeyTable(opt.MaxKeys),
		roles:     newRoles(opt),
		pairs:     make(map[pair]volumeStat),
		types:     newKeyTable(maxTypes),
		matrix:    make(map[pair]uint64),
		rules:     newKeyTable(opt.MaxKeys),
		sevKeys:   newKeyTable(maxCategories),
		vols:      newKeyTable(opt.MaxKeys),
		inflight:  make(map[string]record.Counts),
	}
	r.axis = newAxis(opt.MaxBuckets, r.catSeries, r.domSeries, r.srcSeries, r.sevSeries, r.ruleSeries, r.denySeries)
	return r
}

// flowFacts is what the report uses of a flow record, whichever way it came.
type flowFacts struct {
	id, state        string
	ts, start, end   time.Time
	srcIP, srcSvc    string
	dst              *record.Dst
	bytes            record.Counts
	findings, alerts int
	connState        string
	rejectBy         string
	httpURI          string // already redacted by the sensor (path only)
}

// AddFlow aggregates one flow record. It keeps nothing that points into f.
func (r *Report) AddFlow(f *record.Flow) {
	ff := flowFacts{
		id: f.FlowID, state: f.State, ts: f.TS.Time, start: f.Start.Time, end: f.End.Time,
		srcIP: f.Src.IP, srcSvc: f.Src.Service, dst: &f.Dst, bytes: f.Bytes,
		findings: len(f.Sensitive), alerts: len(f.Alerts), connState: f.ConnState,
	}
	if f.Reject != nil {
		ff.rejectBy = f.Reject.By
	}
	if f.HTTP != nil {
		ff.httpURI = f.HTTP.URI
	}
	fk := r.addFlow(ff)
	for i := range f.Sensitive {
		s := &f.Sensitive[i]
		r.addFinding(fk, s.Type, s.Class, s.Direction, s.Count, s.TestNumber)
	}
}

// flowKeys are the ids a flow's findings are attributed to.
type flowKeys struct {
	cat, vendor, src int32
	t                time.Time
}

// addFlow counts a flow and returns the keys its findings go under.
func (r *Report) addFlow(f flowFacts) flowKeys {
	out, in, counted := r.delta(f)
	r.bytesOut += out
	r.bytesIn += in
	r.seeTime(f.start)
	r.seeTime(f.end)
	final := f.state != record.StateActive
	if final {
		r.flows++
		if f.findings > 0 {
			r.flowsWithFindings++
		}
		if f.alerts > 0 {
			r.flowsWithAlerts++
		}
	} else {
		r.interim++
	}
	var one uint64
	if final {
		one = 1 // a flow counts once, on its final record
	}

	category := orDefault(f.dst.Category, "unknown")
	dest := orDefault(f.dst.Name, orDefault(f.dst.IP, "(none)"))
	domain := orDefault(f.dst.Domain, dest)
	source := orDefault(f.srcSvc, orDefault(f.srcIP, "(none)"))

	cat, isNew := r.cats.id(category)
	if isNew {
		r.catStat = append(r.catStat, volumeStat{})
	}
	dom, isNew := r.domains.id(domain)
	if isNew {
		r.domStat = append(r.domStat, volumeStat{})
	}
	dst, isNew := r.dests.id(dest)
	if isNew {
		r.dstStat = append(r.dstStat, destStat{category: r.cats.name(cat)})
	}
	src := r.srcID(source)
	if src != otherID {
		st := &r.srcStat[src]
		st.bytesOut += out
		st.flows += one
		if f.findings > 0 {
			st.findingFlows += one
		}
	}
	if cat != otherID {
		r.catStat[cat].bytesOut += out
		r.catStat[cat].flows += one
	}
	if dom != otherID {
		r.domStat[dom].bytesOut += out
		r.domStat[dom].flows += one
	}
	if dst != otherID {
		r.dstStat[dst].bytesOut += out
		r.dstStat[dst].flows += one
	}
	p := pair{src, dst}
	if st, ok := r.pairs[p]; ok || (len(r.pairs) < r.opt.MaxCells && src != otherID && dst != otherID) {
		st.bytesOut += out
		st.flows += one
		r.pairs[p] = st
	} else {
		r.pairsFolded.bytesOut += out
		r.pairsFolded.flows += one
	}

	t := firstNonZero(f.end, f.ts, f.start)
	if counted && out > 0 {
		if t.IsZero() {
			r.untimed++
		} else {
			b := r.axis.bucket(t)
			r.catSeries.add(cat, b, out)
			r.domSeries.add(dom, b, out)
			r.srcSeries.add(src, b, out)
		}
	}
	vendor := r.addFlowRoles(f, t, out, one, src, dst, cat)
	if f.dst.FirstSeen && final {
		r.addFirstSeen(firstSeenRow{t: firstNonZero(f.start, f.ts, f.end), dst: keep(dest), category: r.cats.name(cat), source: keep(source), bytesOut: f.bytes.Out})
	}
	return flowKeys{cat: cat, vendor: vendor, src: src, t: t}
}

// srcID interns a source (service, else address) with its statistics slot.
func (r *Report) srcID(source string) int32 {
	src, isNew := r.srcs.id(source)
	if isNew {
		r.srcStat = append(r.srcStat, srcStat{})
	}
	return src
}

// delta returns the bytes of f not yet counted: interim records carry
// counters cumulative since the flow started. counted is false when an
// interim record was skipped because the in-flight table was full (its
// bytes are then counted with the flow's final record).
func (r *Report) delta(f flowFacts) (out, in uint64, counted bool) {
	id := clip(f.id)
	prev, tracked := r.inflight[id]
	if f.state == record.StateActive {
		if !tracked && (id == "" || len(r.inflight) >= r.opt.MaxKeys) {
			r.interimSkipped++
			return 0, 0, false
		}
		if !tracked {
			id = strings.Clone(id)
		}
		r.inflight[id] = f.bytes
	} else if tracked {
		delete(r.inflight, id)
	}
	return sub(f.bytes.Out, prev.Out), sub(f.bytes.In, prev.In), true
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0 // a counter that went backwards: count nothing rather than wrap
	}
	return a - b
}

func (r *Report) addFinding(k flowKeys, typ, class, dir string, count int, test bool) {
	if count < 1 {
		count = 1
	}
	id, isNew := r.types.id(orDefault(typ, "(none)"))
	if isNew {
		r.typStat = append(r.typStat, typeStat{class: keep(class)})
	}
	if id == otherID {
		return // folded; counted in types.folded
	}
	st := &r.typStat[id]
	st.flows++
	if test {
		st.test += uint64(count)
	}
	if dir == "in" {
		st.in += uint64(count)
		return
	}
	st.out += uint64(count)
	r.matrix[pair{id, k.cat}] += uint64(count)
	if !k.t.IsZero() {
		if st.first.IsZero() || k.t.Before(st.first) {
			st.first = k.t
		}
		if k.t.After(st.last) {
			st.last = k.t
		}
	}
	if k.src != otherID {
		r.srcStat[k.src].findingsOut += uint64(count)
	}
	r.addCompliance(id, k, uint64(count))
}

func (r *Report) addFirstSeen(row firstSeenRow) {
	r.firstSeenTotal++
	if len(r.firstSeen) < r.opt.MaxFirstSeen {
		r.firstSeen = append(r.firstSeen, row)
		return
	}
	// Keep the earliest: replace the latest kept row if row is earlier.
	late := 0
	for i := range r.firstSeen {
		if r.firstSeen[i].t.After(r.firstSeen[late].t) {
			late = i
		}
	}
	if row.t.Before(r.firstSeen[late].t) {
		r.firstSeen[late] = row
	}
}

// AddAlert aggregates one alert record.
func (r *Report) AddAlert(a *record.Alert) {
	r.addAlert(alertFacts{rule: a.Rule, severity: a.Severity, ts: a.TS.Time, count: a.Count, src: &a.Src, dst: &a.Dst,
		reason: a.Reason, flowID: a.FlowID, communityID: a.CommunityID})
}

// alertFacts is what the report uses of an alert record.
type alertFacts struct {
	rule, severity              string
	ts                          time.Time
	count                       int
	src                         *record.Src
	dst                         *record.Dst
	reason, flowID, communityID string
}

func (r *Report) addAlert(a alertFacts) {
	rule, severity, ts, count := a.rule, a.severity, a.ts, a.count
	r.alerts++
	r.seeTime(ts)
	n := uint64(1)
	if count > 1 {
		n = uint64(count) // firings folded into this alert by de-duplication
	}
	rule, severity = orDefault(keep(rule), "(none)"), orDefault(keep(severity), "(none)")
	sid, isNew := r.sevKeys.id(severity)
	if sid == otherID {
		r.sevOther += n
	} else {
		if isNew {
			r.sevN = append(r.sevN, 0)
		}
		r.sevN[sid] += n
	}
	id, isNew := r.rules.id(rule + "\x00" + severity)
	if isNew {
		r.ruleSt = append(r.ruleSt, ruleStat{rule: rule, severity: severity, first: ts, last: ts})
	}
	r.addAlertRoles(a, rule, severity, sid, id, n)
	if id == otherID {
		return
	}
	st := &r.ruleSt[id]
	st.count += n
	st.records++
	if !ts.IsZero() && (st.first.IsZero() || ts.Before(st.first)) {
		st.first = ts
	}
	if ts.After(st.last) {
		st.last = ts
	}
}

// AddVolume aggregates one volume record.
func (r *Report) AddVolume(v *record.Volume) {
	r.addVolume(v.Key, v.Window, v.TS.Time, v.BytesOut, v.Baseline)
}

func (r *Report) addVolume(key, window string, ts time.Time, out uint64, base float64) {
	r.volumes++
	r.seeTime(ts)
	id, isNew := r.vols.id(orDefault(key, "(none)"))
	if isNew {
		r.volSt = append(r.volSt, volStat{window: keep(window)})
	}
	if id == otherID {
		return
	}
	st := &r.volSt[id]
	st.windows++
	if out > st.peak || st.windows == 1 {
		st.peak, st.baseAtPeak, st.peakAt = out, base, ts
		if window != st.window {
			st.window = keep(window)
		}
	}
}

func (r *Report) seeTime(t time.Time) {
	if t.IsZero() {
		return
	}
	if !r.haveTime || t.Before(r.first) {
		r.first = t
	}
	if !r.haveTime || t.After(r.last) {
		r.last = t
	}
	r.haveTime = true
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}
