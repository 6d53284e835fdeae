package report

import (
	"container/heap"
	"time"
)

// roles holds what the alerts tab and the per-role views (engineer,
// compliance, CISO) aggregate beyond the overview. Every map and list here
// is capped (Options.MaxAlerts, MaxKeys, MaxCells, or a small fixed
// vocabulary cap) and what a cap refused is counted for the page's notes.
type roles struct {
	// The alerts listed one by one: the most severe, earliest first within
	// a severity, at most maxAlerts.
	alertRows     alertHeap
	alertSeq      uint64
	alertsDropped uint64
	maxAlerts     int

	srcSeries  *series // bytes out per source (srcs ids)
	sevSeries  *series // alert firings per severity (sevKeys ids)
	ruleSeries *series // alert firings per rule and severity (rules ids)
	denySeries *series // denied attempts per kind (denyKinds ids)

	// Engineer: HTTP paths per (source, destination), already redacted by
	// the sensor (path only, no query string).
	uris        keyTable
	paths       map[pathKey]pathStat
	pathsFolded uint64
	maxCells    int

	// Compliance: outbound findings per (type, category, vendor).
	vendors    keyTable
	findCells  map[findKey]findStat
	findFolded uint64

	// CISO: denied attempts and where egress bytes went.
	denials         uint64
	denyKinds       keyTable
	denyN           []uint64
	denyOther       uint64
	denyPairs       map[pair]denyStat
	denyPairsFolded uint64
	resKeys         keyTable // dst.resolution, "not assessed" when absent
	resBytes        []uint64
	resOther        uint64
	unknownOut      uint64 // bytes out to dst.category unknown
}

// srcStat is everything counted per source (src.service, else src.ip).
type srcStat struct {
	volumeStat
	findingFlows, findingsOut uint64
	alerts                    uint64
	alertsByRank              [5]uint64 // critical, high, medium, low, other
	denials                   uint64
	unknownOut, unmatchedOut  uint64 // bytes out to unknown categories / resolution not matched
}

type pathKey struct{ src, dst, uri int32 }

type pathStat struct {
	flows, bytesOut uint64
	first, last     time.Time
}

type findKey struct{ typ, cat, vendor int32 }

type findStat struct {
	count, flows uint64
	first, last  time.Time
}

type denyStat struct {
	count       uint64
	first, last time.Time
}

func newRoles(opt Options) roles {
	return roles{
		maxAlerts:  opt.MaxAlerts,
		srcSeries:  newSeries(opt.MaxCells),
		sevSeries:  newSeries(opt.MaxCells),
		ruleSeries: newSeries(opt.MaxCells),
		denySeries: newSeries(opt.MaxCells),
		uris:       newKeyTable(opt.MaxKeys),
		paths:      make(map[pathKey]pathStat),
		maxCells:   opt.MaxCells,
		vendors:    newKeyTable(opt.MaxKeys),
		findCells:  make(map[findKey]findStat),
		denyKinds:  newKeyTable(maxCategories),
		denyPairs:  make(map[pair]denyStat),
		resKeys:    newKeyTable(maxCategories),
	}
}

// widen stretches [first, last] to include t.
func widen(first, last *time.Time, t time.Time) {
	if t.IsZero() {
		return
	}
	if first.IsZero() || t.Before(*first) {
		*first = t
	}
	if t.After(*last) {
		*last = t
	}
}

// deniedKind says whether a final flow record is a denied attempt — the
// responder or a router refused it (reject set) or it was never answered
// or reset before any answer (Zeek's REJ, S0, RSTOS0) — and how.
func deniedKind(f *flowFacts) (string, bool) {
	if f.rejectBy != "" {
		return "reject:" + f.rejectBy, true
	}
	switch f.connState {
	case "REJ", "S0", "RSTOS0":
		return f.connState, true
	}
	return "", false
}

// addFlowRoles counts a flow for the role views and returns its vendor id
// for its findings.
func (r *Report) addFlowRoles(f flowFacts, t time.Time, out, one uint64, src, dst, cat int32) int32 {
	vendor := otherID
	if f.findings > 0 { // only findings are kept per vendor
		vendor, _ = r.vendors.id(orDefault(f.dst.Vendor, "(none)"))
	}

	res := orDefault(f.dst.Resolution, "not assessed")
	if rid, isNew := r.resKeys.id(res); rid == otherID {
		r.resOther += out
	} else {
		if isNew {
			r.resBytes = append(r.resBytes, 0)
		}
		r.resBytes[rid] += out
	}
	unknown := r.cats.name(cat) == "unknown"
	unmatched := f.dst.Resolution == "other_name" || f.dst.Resolution == "unresolved"
	if unknown {
		r.unknownOut += out
	}
	if src != otherID {
		st := &r.srcStat[src]
		if unknown {
			st.unknownOut += out
		}
		if unmatched {
			st.unmatchedOut += out
		}
	}

	if f.httpURI != "" {
		uri, _ := r.uris.id(f.httpURI)
		k := pathKey{src, dst, uri}
		if st, ok := r.paths[k]; ok || (len(r.paths) < r.maxCells && src != otherID && dst != otherID && uri != otherID) {
			st.flows += one
			st.bytesOut += out
			widen(&st.first, &st.last, t)
			r.paths[k] = st
		} else {
			r.pathsFolded++
		}
	}

	if one == 1 {
		if kind, ok := deniedKind(&f); ok {
			r.denials++
			kid, isNew := r.denyKinds.id(kind)
			if kid == otherID {
				r.denyOther++
			} else {
				if isNew {
					r.denyN = append(r.denyN, 0)
				}
				r.denyN[kid]++
			}
			if src != otherID {
				r.srcStat[src].denials++
			}
			p := pair{src, dst}
			if st, ok := r.denyPairs[p]; ok || (len(r.denyPairs) < r.maxCells && src != otherID && dst != otherID) {
				st.count++
				widen(&st.first, &st.last, t)
				r.denyPairs[p] = st
			} else {
				r.denyPairsFolded++
			}
			if !t.IsZero() {
				r.denySeries.add(kid, r.axis.bucket(t), 1)
			}
		}
	}
	return vendor
}

// addCompliance counts an outbound finding under its type, destination
// category and vendor.
func (r *Report) addCompliance(typ int32, k flowKeys, n uint64) {
	fk := findKey{typ, k.cat, k.vendor}
	st, ok := r.findCells[fk]
	if !ok && (len(r.findCells) >= r.maxCells || k.vendor == otherID) {
		r.findFolded++
		return
	}
	st.count += n
	st.flows++
	widen(&st.first, &st.last, k.t)
	r.findCells[fk] = st
}

// addAlertRoles lists the alert (bounded) and counts it per source and on
// the timelines. sev and rule are the ids addAlert gave it.
func (r *Report) addAlertRoles(a alertFacts, rule, severity string, sev, ruleID int32, n uint64) {
	rank := rankOf(severity)
	var srcSvc, srcIP string
	if a.src != nil {
		srcSvc, srcIP = a.src.Service, a.src.IP
	}
	source := orDefault(srcSvc, orDefault(srcIP, "(none)"))
	if src := r.srcID(source); src != otherID {
		st := &r.srcStat[src]
		st.alerts += n
		st.alertsByRank[rank] += n
	}
	if !a.ts.IsZero() {
		b := r.axis.bucket(a.ts)
		r.sevSeries.add(sev, b, n)
		r.ruleSeries.add(ruleID, b, n)
	}

	row := alertRow{t: a.ts, rank: rank, seq: r.alertSeq, count: n}
	r.alertSeq++
	if len(r.alertRows) >= r.maxAlerts {
		r.alertsDropped++
		if !row.better(&r.alertRows[0]) {
			return
		}
	}
	row.rule, row.severity = rule, severity // already kept copies
	row.srcSvc, row.srcIP = keep(srcSvc), keep(srcIP)
	if d := a.dst; d != nil {
		row.dstName, row.dstIP, row.category, row.vendor = keep(d.Name), keep(d.IP), keep(orDefault(d.Category, "unknown")), keep(d.Vendor)
		row.dstPort = d.Port
	} else {
		row.category = "unknown"
	}
	row.reason, row.flowID, row.communityID = keep(a.reason), keep(a.flowID), keep(a.communityID)
	if len(r.alertRows) >= r.maxAlerts {
		r.alertRows[0] = row
		heap.Fix(&r.alertRows, 0)
		return
	}
	heap.Push(&r.alertRows, row)
}

// rankOf indexes a severity into srcStat.alertsByRank, worst first.
func rankOf(severity string) int {
	if v, ok := severityRank[severity]; ok {
		return v
	}
	return len(severityRank)
}

// alertRow is one listed alert; strings are clipped copies.
type alertRow struct {
	t                                time.Time
	rank                             int
	seq                              uint64
	count                            uint64
	rule, severity                   string
	srcSvc, srcIP                    string
	dstName, dstIP, category, vendor string
	dstPort                          uint16
	reason, flowID, communityID      string
}

// better orders rows for keeping: more severe, then earlier (an untimed
// alert counts as latest), then first read.
func (a *alertRow) better(b *alertRow) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	if at, bt := a.t.IsZero(), b.t.IsZero(); at != bt {
		return bt
	}
	if !a.t.Equal(b.t) {
		return a.t.Before(b.t)
	}
	return a.seq < b.seq
}

// alertHeap keeps the worst kept row on top, to be replaced first.
type alertHeap []alertRow

func (h alertHeap) Len() int           { return len(h) }
func (h alertHeap) Less(i, j int) bool { return h[j].better(&h[i]) }
func (h alertHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *alertHeap) Push(x any)        { *h = append(*h, x.(alertRow)) }
func (h *alertHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
