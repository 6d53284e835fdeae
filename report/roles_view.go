package report

import (
	"cmp"
	"slices"
	"strconv"
)

// maxCompRows bounds the compliance table's (type, category, vendor) rows
// on the page; the rest is counted under the table.
const maxCompRows = 200

type alertsView struct {
	Rows          []alertRowView
	Rules, Cats   []string
	Listed, Total string
	Dropped       string
	Timeline      chartView
}

type alertRowView struct {
	Time, TimeV, Rule, Severity, SevClass string
	SevV                                  int
	Source, SrcIP, Dst, DstAddr           string
	Category, Color, Vendor, Reason       string
	FlowID, CommunityID, Count            string
	CountV                                uint64
}

type engView struct {
	Chart   chartView
	Sources []engSource
}

type engSource struct {
	Name, Bytes, Flows, Findings, Alerts, Denials string
	Dests                                         []destView
	Paths                                         []pathView
	PathsMore                                     string
	New                                           []firstSeenView
}

type pathView struct {
	Dst, URI, Flows, Bytes, First, Last string
	BytesV                              uint64
}

type compView struct {
	Types     []compTypeView
	Cells     []compCellView
	CellsMore string
}

type compTypeView struct {
	Type, Class, Out, In, Flows, Test, First, Last string
	OutV                                           uint64
}

type compCellView struct {
	Type, Class, Category, Color, Vendor, Count, Flows, First, Last string
	CountV                                                          uint64
}

type cisoView struct {
	Stats                          []statView
	SevChart, RuleChart, DenyChart chartView
	Rules                          []ruleView
	Offenders                      []offenderView
	Denied                         []deniedView
	Kinds                          []kindView
	Egress                         []shareView
	TotalOut                       string
}

type offenderView struct {
	Name, Alerts, Critical, High, Medium, Low, Denials, Findings, Unknown, Unmatched string
	AlertsV, CriticalV, HighV, DenialsV, FindingsV, UnknownV, UnmatchedV             uint64
}

type deniedView struct {
	Src, Dst, Category, Color, Count, First, Last string
	CountV                                        uint64
}

type kindView struct{ Name, Meaning, Count string }

type shareView struct{ Name, Meaning, Bytes, Pct string }

// severityColors match the badges' CSS classes.
var severityColors = map[string]string{"critical": "#9b1c1c", "high": "#d9480f", "medium": "#e0a100", "low": "#5c7cfa"}

func severityColor(i int, name string) string {
	if c, ok := severityColors[name]; ok {
		return c
	}
	return palette[(i+6)%len(palette)]
}

// denyMeaning explains each way an attempt counts as denied.
var denyMeaning = map[string]string{
	"reject:rst":  "refused by the responder's RST (reject.by rst)",
	"reject:icmp": "refused by an ICMP error from a router or host (reject.by icmp)",
	"REJ":         "conn_state REJ: connection attempt rejected",
	"S0":          "conn_state S0: attempt seen, never answered",
	"RSTOS0":      "conn_state RSTOS0: originator sent SYN then RST, never answered",
}

// resolutionMeaning explains dst.resolution's values.
var resolutionMeaning = map[string]string{
	"matched":      "this client resolved the name to this address",
	"other_name":   "this client resolved a different name to this address",
	"unresolved":   "no DNS answer seen maps the name to this address",
	"not assessed": "no name from the payload to check",
}

func (r *Report) alertsView() alertsView {
	rows := slices.Clone(r.alertRows)
	slices.SortFunc(rows, func(a, b alertRow) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	v := alertsView{Listed: count(uint64(len(rows))), Total: count(r.alerts)}
	if r.alertsDropped > 0 {
		v.Dropped = count(r.alertsDropped) + " more alerts are counted in the charts but not listed (the " + strconv.Itoa(r.opt.MaxAlerts) + " most severe, earliest first, are listed)"
	}
	rules, cats := map[string]bool{}, map[string]bool{}
	for _, a := range rows {
		rules[a.rule], cats[a.category] = true, true
		dst := orDefault(a.dstName, orDefault(a.dstIP, "(none)"))
		addr := a.dstIP
		if a.dstPort != 0 && addr != "" {
			addr = joinHostPort(addr, a.dstPort)
		}
		src := orDefault(a.srcSvc, orDefault(a.srcIP, "(none)"))
		srcIP := ""
		if a.srcSvc != "" {
			srcIP = a.srcIP
		}
		tv := "0"
		if !a.t.IsZero() {
			tv = strconv.FormatFloat(float64(a.t.UnixNano())/1e9, 'f', 3, 64)
		}
		v.Rows = append(v.Rows, alertRowView{Time: fmtTime(a.t), TimeV: tv, Rule: a.rule, Severity: a.severity, SevClass: sevClass(a.severity), SevV: a.rank,
			Source: src, SrcIP: srcIP, Dst: dst, DstAddr: addr, Category: a.category, Color: categoryColor(0, a.category), Vendor: a.vendor,
			Reason: a.reason, FlowID: a.flowID, CommunityID: a.communityID, Count: count(a.count), CountV: a.count})
	}
	v.Rules, v.Cats = sortedKeys(rules), sortedKeys(cats)
	sevs := make([]seriesKey, len(r.sevN))
	for i, n := range r.sevN {
		sevs[i] = seriesKey{int32(i), r.sevKeys.names[i], n, rankOf(r.sevKeys.names[i])}
	}
	v.Timeline = r.stackedChart(r.sevSeries, sevs, 6, severityColor, countUnit)
	v.Timeline.EmptyText = "No alerts with timestamps."
	return v
}

func sortedKeys(m map[string]bool) []string {
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

func joinHostPort(ip string, port uint16) string {
	for i := 0; i < len(ip); i++ {
		if ip[i] == ':' {
			return "[" + ip + "]:" + strconv.Itoa(int(port))
		}
	}
	return ip + ":" + strconv.Itoa(int(port))
}

// topSources returns the ids of the n sources with the most bytes out.
func (r *Report) topSources(n int) []int32 {
	ids := make([]int32, len(r.srcStat))
	for i := range ids {
		ids[i] = int32(i)
	}
	byBytes(ids, func(i int32) uint64 { return r.srcStat[i].bytesOut }, func(i int32) string { return r.srcs.names[i] })
	return ids[:min(len(ids), n)]
}

func (r *Report) engineerView(firstSeen []firstSeenView) engView {
	var v engView
	srcs := make([]seriesKey, len(r.srcStat))
	for i, st := range r.srcStat {
		srcs[i] = seriesKey{id: int32(i), name: r.srcs.names[i], total: st.bytesOut}
	}
	v.Chart = r.stackedChart(r.srcSeries, srcs, r.opt.TopN, paletteColor, bytesUnit)

	top := r.topSources(r.opt.TopN)
	paths := make(map[int32][]pathKey, len(top))
	for _, id := range top {
		paths[id] = nil
	}
	for k := range r.paths {
		if _, ok := paths[k.src]; ok {
			paths[k.src] = append(paths[k.src], k)
		}
	}
	for _, s := range r.sourcesViewOf(top) {
		st := r.srcStat[r.srcs.ids[s.Name]]
		es := engSource{Name: s.Name, Bytes: s.Bytes, Flows: s.Flows, Dests: s.Dests, Findings: count(st.findingsOut), Alerts: count(st.alerts), Denials: count(st.denials)}
		ps := paths[r.srcs.ids[s.Name]]
		slices.SortFunc(ps, func(a, b pathKey) int {
			x, y := r.paths[a], r.paths[b]
			if c := cmp.Compare(y.bytesOut, x.bytesOut); c != 0 {
				return c
			}
			if c := cmp.Compare(y.flows, x.flows); c != 0 {
				return c
			}
			return cmp.Compare(r.dests.names[a.dst]+r.uris.names[a.uri], r.dests.names[b.dst]+r.uris.names[b.uri])
		})
		const showPaths = 8
		for _, k := range ps[:min(len(ps), showPaths)] {
			st := r.paths[k]
			es.Paths = append(es.Paths, pathView{Dst: r.dests.names[k.dst], URI: r.uris.names[k.uri], Flows: count(st.flows), Bytes: humanBytes(st.bytesOut), BytesV: st.bytesOut,
				First: fmtTime(st.first), Last: fmtTime(st.last)})
		}
		if len(ps) > showPaths {
			es.PathsMore = count(uint64(len(ps)-showPaths)) + " more paths"
		}
		for _, f := range firstSeen {
			if f.Source == s.Name {
				es.New = append(es.New, f)
			}
		}
		v.Sources = append(v.Sources, es)
	}
	return v
}

func (r *Report) complianceView() compView {
	var v compView
	ids := make([]int32, len(r.typStat))
	for i := range ids {
		ids[i] = int32(i)
	}
	byBytes(ids, func(i int32) uint64 { return r.typStat[i].out }, func(i int32) string { return r.types.names[i] })
	for _, id := range ids {
		st := r.typStat[id]
		v.Types = append(v.Types, compTypeView{Type: r.types.names[id], Class: st.class, Out: count(st.out), OutV: st.out, In: count(st.in), Flows: count(st.flows),
			Test: count(st.test), First: fmtTime(st.first), Last: fmtTime(st.last)})
	}
	keys := make([]findKey, 0, len(r.findCells))
	for k := range r.findCells {
		keys = append(keys, k)
	}
	name := func(k findKey) string {
		return r.types.names[k.typ] + "\x00" + r.cats.name(k.cat) + "\x00" + r.vendors.name(k.vendor)
	}
	byBytes(keys, func(k findKey) uint64 { return r.findCells[k].count }, name)
	for _, k := range keys[:min(len(keys), maxCompRows)] {
		st := r.findCells[k]
		cat := r.cats.name(k.cat)
		v.Cells = append(v.Cells, compCellView{Type: r.types.names[k.typ], Class: r.typStat[k.typ].class, Category: cat, Color: categoryColor(0, cat),
			Vendor: r.vendors.name(k.vendor), Count: count(st.count), CountV: st.count, Flows: count(st.flows), First: fmtTime(st.first), Last: fmtTime(st.last)})
	}
	if len(keys) > maxCompRows {
		v.CellsMore = count(uint64(len(keys)-maxCompRows)) + " smaller rows not shown"
	}
	return v
}

func (r *Report) cisoView(rules []ruleView) cisoView {
	v := cisoView{Rules: rules, TotalOut: humanBytes(r.bytesOut)}
	var unmatched uint64
	for i, n := range r.resBytes {
		if name := r.resKeys.names[i]; name == "other_name" || name == "unresolved" {
			unmatched += n
		}
	}
	var critical uint64
	for _, st := range r.srcStat {
		critical += st.alertsByRank[0] + st.alertsByRank[1]
	}
	v.Stats = []statView{
		{"alerts", count(r.alerts), count(critical) + " critical or high firings"},
		{"denied attempts", count(r.denials), "reject, or conn_state REJ, S0, RSTOS0"},
		{"egress to unknown", pct(r.unknownOut, r.bytesOut) + "%", humanBytes(r.unknownOut) + " of " + humanBytes(r.bytesOut) + " out"},
		{"egress not matched by DNS", pct(unmatched, r.bytesOut) + "%", humanBytes(unmatched) + " to dst.resolution other_name or unresolved"},
	}

	sevs := make([]seriesKey, len(r.sevN))
	for i, n := range r.sevN {
		sevs[i] = seriesKey{int32(i), r.sevKeys.names[i], n, rankOf(r.sevKeys.names[i])}
	}
	v.SevChart = r.stackedChart(r.sevSeries, sevs, 6, severityColor, countUnit)
	v.SevChart.EmptyText = "No alerts with timestamps."
	rk := make([]seriesKey, len(r.ruleSt))
	for i, st := range r.ruleSt {
		rk[i] = seriesKey{id: int32(i), name: st.rule + " (" + st.severity + ")", total: st.count}
	}
	v.RuleChart = r.stackedChart(r.ruleSeries, rk, r.opt.TopN, paletteColor, countUnit)
	v.RuleChart.EmptyText = "No alerts with timestamps."
	dk := make([]seriesKey, len(r.denyN))
	for i, n := range r.denyN {
		dk[i] = seriesKey{id: int32(i), name: r.denyKinds.names[i], total: n}
		v.Kinds = append(v.Kinds, kindView{Name: r.denyKinds.names[i], Meaning: denyMeaning[r.denyKinds.names[i]], Count: count(n)})
	}
	if r.denyOther > 0 {
		v.Kinds = append(v.Kinds, kindView{Name: "other", Count: count(r.denyOther)})
	}
	v.DenyChart = r.stackedChart(r.denySeries, dk, 6, paletteColor, countUnit)
	v.DenyChart.EmptyText = "No denied attempts with timestamps."

	// Top offending services: worst alerts first, then denials, findings.
	ids := make([]int32, 0, len(r.srcStat))
	for i, st := range r.srcStat {
		if st.alerts > 0 || st.denials > 0 || st.findingsOut > 0 {
			ids = append(ids, int32(i))
		}
	}
	slices.SortFunc(ids, func(a, b int32) int {
		x, y := &r.srcStat[a], &r.srcStat[b]
		for k := range x.alertsByRank {
			if c := cmp.Compare(y.alertsByRank[k], x.alertsByRank[k]); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(y.denials, x.denials); c != 0 {
			return c
		}
		if c := cmp.Compare(y.findingsOut, x.findingsOut); c != 0 {
			return c
		}
		return cmp.Compare(r.srcs.names[a], r.srcs.names[b])
	})
	for _, id := range ids[:min(len(ids), 2*r.opt.TopN)] {
		st := &r.srcStat[id]
		v.Offenders = append(v.Offenders, offenderView{Name: r.srcs.names[id], Alerts: count(st.alerts), AlertsV: st.alerts,
			Critical: count(st.alertsByRank[0]), CriticalV: st.alertsByRank[0], High: count(st.alertsByRank[1]), HighV: st.alertsByRank[1],
			Medium: count(st.alertsByRank[2]), Low: count(st.alertsByRank[3]),
			Denials: count(st.denials), DenialsV: st.denials, Findings: count(st.findingsOut), FindingsV: st.findingsOut,
			Unknown: humanBytes(st.unknownOut), UnknownV: st.unknownOut, Unmatched: humanBytes(st.unmatchedOut), UnmatchedV: st.unmatchedOut})
	}

	pairs := make([]pair, 0, len(r.denyPairs))
	for p := range r.denyPairs {
		pairs = append(pairs, p)
	}
	byBytes(pairs, func(p pair) uint64 { return r.denyPairs[p].count }, func(p pair) string { return r.srcs.name(p.a) + "\x00" + r.dests.name(p.b) })
	for _, p := range pairs[:min(len(pairs), 2*r.opt.TopN)] {
		st := r.denyPairs[p]
		cat := r.dstStat[p.b].category
		v.Denied = append(v.Denied, deniedView{Src: r.srcs.name(p.a), Dst: r.dests.name(p.b), Category: cat, Color: categoryColor(0, cat),
			Count: count(st.count), CountV: st.count, First: fmtTime(st.first), Last: fmtTime(st.last)})
	}

	v.Egress = append(v.Egress, shareView{Name: "dst.category unknown", Meaning: "no name, or a name no catalog entry covers", Bytes: humanBytes(r.unknownOut), Pct: pct(r.unknownOut, r.bytesOut)})
	res := make([]int32, len(r.resBytes))
	for i := range res {
		res[i] = int32(i)
	}
	order := map[string]int{"matched": 0, "other_name": 1, "unresolved": 2, "not assessed": 3}
	slices.SortFunc(res, func(a, b int32) int {
		x, okx := order[r.resKeys.names[a]]
		y, oky := order[r.resKeys.names[b]]
		if !okx {
			x = len(order)
		}
		if !oky {
			y = len(order)
		}
		if c := cmp.Compare(x, y); c != 0 {
			return c
		}
		return cmp.Compare(r.resKeys.names[a], r.resKeys.names[b])
	})
	for _, id := range res {
		name := r.resKeys.names[id]
		v.Egress = append(v.Egress, shareView{Name: "dst.resolution " + name, Meaning: resolutionMeaning[name], Bytes: humanBytes(r.resBytes[id]), Pct: pct(r.resBytes[id], r.bytesOut)})
	}
	if r.resOther > 0 {
		v.Egress = append(v.Egress, shareView{Name: "dst.resolution other", Bytes: humanBytes(r.resOther), Pct: pct(r.resOther, r.bytesOut)})
	}
	return v
}
