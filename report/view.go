package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"math"
	"slices"
	"strconv"
)

// pageScript is the page's only script; the Content-Security-Policy admits
// it by hash and nothing else. It makes tables with class "sortable"
// sortable by clicking a header (numeric cells sort by their data-v),
// switches the role views with the tabs (the URL fragment names the view,
// so a link can open one), and filters the alerts table by rule, category,
// source and destination. It reads only the page's own DOM and writes only
// text and the hidden flag. The data-js mark lets the browser test prove
// the policy let it run.
const pageScript = `(function(){var d=document;
d.querySelectorAll("table.sortable th").forEach(function(th){th.addEventListener("click",function(){var t=th.closest("table"),b=t.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th),asc=th.dataset.dir!=="asc";th.parentNode.querySelectorAll("th").forEach(function(h){delete h.dataset.dir});th.dataset.dir=asc?"asc":"desc";Array.from(b.rows).sort(function(x,y){var a=x.cells[i].dataset.v,c=y.cells[i].dataset.v,r=(a!==undefined&&c!==undefined)?parseFloat(a)-parseFloat(c):x.cells[i].textContent.localeCompare(y.cells[i].textContent);return asc?r:-r}).forEach(function(r){b.appendChild(r)})})});
var tabs=d.querySelectorAll("nav.tabs button"),views=d.querySelectorAll("div.view");
function show(n){var ok=false;views.forEach(function(v){ok=ok||v.dataset.view===n});if(!ok)n="overview";views.forEach(function(v){v.hidden=v.dataset.view!==n});tabs.forEach(function(b){b.setAttribute("aria-selected",b.dataset.tab===n?"true":"false")})}
tabs.forEach(function(b){b.addEventListener("click",function(){show(b.dataset.tab);try{history.replaceState(null,"","#"+b.dataset.tab)}catch(e){}})});
show(location.hash.slice(1));
var t=d.getElementById("alert-table");
if(t){var fr=d.getElementById("f-rule"),fc=d.getElementById("f-cat"),fs=d.getElementById("f-src"),fd=d.getElementById("f-dst"),out=d.getElementById("alert-shown");
var f=function(){var r=fr.value,c=fc.value,s=fs.value.toLowerCase(),q=fd.value.toLowerCase(),n=0;Array.from(t.tBodies[0].rows).forEach(function(row){var ok=(!r||row.dataset.rule===r)&&(!c||row.dataset.cat===c)&&(!s||row.dataset.s.toLowerCase().indexOf(s)>=0)&&(!q||row.dataset.d.toLowerCase().indexOf(q)>=0);row.hidden=!ok;if(ok)n++});out.textContent=String(n)};
[fr,fc,fs,fd].forEach(function(e){e.addEventListener("input",f);e.addEventListener("change",f)});f()}
d.documentElement.setAttribute("data-js","ok")})();`

var csp = func() string {
	h := sha256.Sum256([]byte(pageScript))
	return "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}()

type page struct {
	Title     string
	CSP       string
	Script    template.JS
	Span      string
	InputLine string
	Totals    []statView
	Inputs    []inputView
	Notes     []string
	Cat, Dom  chartView
	Sources   []sourceView
	Matrix    matrixView
	Rules     []ruleView
	Sev       []sevView
	FirstSeen []firstSeenView
	FSMore    string
	Volumes   []volView
	Alerts    alertsView
	Eng       engView
	Comp      compView
	Ciso      cisoView
}

type statView struct{ Label, Value, Sub string }

type inputView struct{ Name, Records, Malformed string }

type sourceView struct {
	Name, Bytes, Flows string
	BytesV             uint64
	Dests              []destView
}

type destView struct {
	Name, Category, Color, Bytes, Flows, Pct string
}

type matrixView struct {
	Cols []string
	Rows []matrixRow
}

type matrixRow struct {
	Type, Class, Total, In, Test string
	TotalV, InV                  uint64
	Cells                        []matrixCell
}

type matrixCell struct {
	Value string
	V     uint64
	Alpha string
}

type ruleView struct {
	Rule, Severity, SevClass, Count, Records, First, Last, Pct string
	CountV                                                     uint64
}

type sevView struct{ Name, Class, Count string }

type firstSeenView struct {
	Time, Dst, Category, Color, Source, Bytes string
	BytesV                                    uint64
}

type volView struct {
	Key, Window, Windows, Peak, Baseline, Ratio, At string
	PeakV                                           uint64
	RatioV                                          string
}

func (r *Report) view() page {
	p := page{Title: r.opt.Title, CSP: csp, Script: template.JS(pageScript)}
	if r.haveTime {
		p.Span = fmtTime(r.first) + " → " + fmtTime(r.last) + " (" + fmtDuration(r.last.Sub(r.first)) + ")"
	} else {
		p.Span = "no timestamps"
	}
	p.Totals = []statView{
		{"flows", count(r.flows), count(r.interim) + " interim records"},
		{"bytes out", humanBytes(r.bytesOut), count(r.bytesOut) + " B"},
		{"bytes in", humanBytes(r.bytesIn), count(r.bytesIn) + " B"},
		{"flows with findings", count(r.flowsWithFindings), pct(r.flowsWithFindings, r.flows) + "% of flows"},
		{"alerts", count(r.alerts), count(r.flowsWithAlerts) + " flows with alerts"},
		{"destinations", count(uint64(len(r.dests.names))), count(uint64(len(r.domains.names))) + " domains"},
		{"sources", count(uint64(len(r.srcs.names))), "services or addresses"},
		{"volume windows", count(r.volumes), count(uint64(len(r.vols.names))) + " keys"},
	}
	for _, in := range r.inputs {
		p.Inputs = append(p.Inputs, inputView{in.name, count(in.records), count(in.malformed)})
	}
	p.InputLine = r.inputLine()
	p.Notes = r.notes()

	cats := make([]seriesKey, len(r.catStat))
	for i, st := range r.catStat {
		cats[i] = seriesKey{id: int32(i), name: r.cats.names[i], total: st.bytesOut}
	}
	p.Cat = r.stackedChart(r.catSeries, cats, r.opt.TopN+2, categoryColor, bytesUnit)
	doms := make([]seriesKey, len(r.domStat))
	for i, st := range r.domStat {
		doms[i] = seriesKey{id: int32(i), name: r.domains.names[i], total: st.bytesOut}
	}
	p.Dom = r.stackedChart(r.domSeries, doms, r.opt.TopN, paletteColor, bytesUnit)

	p.Sources = r.sourcesView()
	p.Matrix = r.matrixView()
	p.Rules, p.Sev = r.rulesView()
	p.FirstSeen = r.firstSeenView()
	if r.firstSeenTotal > uint64(len(r.firstSeen)) {
		p.FSMore = count(r.firstSeenTotal-uint64(len(r.firstSeen))) + " later first-seen destinations not listed (cap " + strconv.Itoa(r.opt.MaxFirstSeen) + ")"
	}
	p.Volumes = r.volumesView()
	p.Alerts = r.alertsView()
	p.Eng = r.engineerView(p.FirstSeen)
	p.Comp = r.complianceView()
	p.Ciso = r.cisoView(p.Rules)
	return p
}

// notes says what the caps and the input refused, so a reader knows when
// "other" hides something and when the numbers are partial.
func (r *Report) notes() []string {
	var n []string
	add := func(v uint64, what string) {
		if v > 0 {
			n = append(n, count(v)+" "+what)
		}
	}
	add(r.malformed, "malformed lines skipped")
	add(r.oversized, "lines longer than "+humanBytes(uint64(r.opt.MaxLine))+" skipped")
	add(r.unknownType, "records of unknown type ignored")
	add(r.untimed, "flows without timestamps left out of the time charts")
	add(r.interimSkipped, "interim records skipped (in-flight table full; counted with their final record)")
	add(r.cats.folded+r.domains.folded+r.dests.folded+r.srcs.folded, "flow records folded into \"other\" (more than "+strconv.Itoa(r.opt.MaxKeys)+" distinct keys)")
	add(r.catSeries.folded+r.domSeries.folded, "chart values folded into \"other\" (cell cap "+strconv.Itoa(r.opt.MaxCells)+")")
	add(r.pairsFolded.flows, "flows not attributed to a source–destination pair (cap reached)")
	add(r.types.folded, "findings of types beyond the first "+strconv.Itoa(maxTypes)+" not shown")
	add(r.rules.folded, "alerts of rules beyond the key cap not shown")
	add(r.vols.folded, "volume records of keys beyond the key cap not shown")
	add(uint64(r.inputsFolded), "inputs not listed")
	add(r.alertsDropped, "alerts counted but not listed one by one (the "+strconv.Itoa(r.opt.MaxAlerts)+" most severe are listed)")
	add(r.pathsFolded, "HTTP flows whose path was not tracked (key or cell cap reached)")
	add(r.findFolded, "findings left out of the compliance table (vendor or cell cap reached)")
	add(r.denyPairsFolded, "denied attempts not attributed to a source–destination pair (cap reached)")
	add(r.sevSeries.folded+r.ruleSeries.folded+r.denySeries.folded+r.srcSeries.folded, "timeline values folded into \"other\" (cell cap "+strconv.Itoa(r.opt.MaxCells)+")")
	return n
}

func byBytes[T any](s []T, key func(T) uint64, name func(T) string) {
	slices.SortFunc(s, func(a, b T) int {
		if c := cmp.Compare(key(b), key(a)); c != 0 {
			return c
		}
		return cmp.Compare(name(a), name(b))
	})
}

func (r *Report) sourcesView() []sourceView { return r.sourcesViewOf(r.topSources(r.opt.TopN)) }

// sourcesViewOf shows the given sources, each with its five busiest
// destinations.
func (r *Report) sourcesViewOf(ids []int32) []sourceView {
	type src struct {
		id int32
		volumeStat
	}
	srcs := make([]src, len(ids))
	for i, id := range ids {
		srcs[i] = src{id, r.srcStat[id].volumeStat}
	}
	want := make(map[int32][]pair, len(srcs))
	for _, s := range srcs {
		want[s.id] = nil
	}
	for p := range r.pairs {
		if _, ok := want[p.a]; ok {
			want[p.a] = append(want[p.a], p)
		}
	}
	out := make([]sourceView, 0, len(srcs))
	for _, s := range srcs {
		ps := want[s.id]
		byBytes(ps, func(p pair) uint64 { return r.pairs[p].bytesOut }, func(p pair) string { return r.dests.names[p.b] })
		sv := sourceView{Name: r.srcs.names[s.id], Bytes: humanBytes(s.bytesOut), BytesV: s.bytesOut, Flows: count(s.flows)}
		for _, p := range ps[:min(len(ps), 5)] {
			st, d := r.pairs[p], r.dstStat[p.b]
			sv.Dests = append(sv.Dests, destView{Name: r.dests.names[p.b], Category: d.category, Color: categoryColor(0, d.category), Bytes: humanBytes(st.bytesOut), Flows: count(st.flows), Pct: pct(st.bytesOut, max(s.bytesOut, 1))})
		}
		out = append(out, sv)
	}
	return out
}

func (r *Report) matrixView() matrixView {
	colTotal := map[int32]uint64{}
	var peak uint64
	for k, v := range r.matrix {
		colTotal[k.b] += v
		peak = max(peak, v)
	}
	cols := make([]int32, 0, len(colTotal))
	for c := range colTotal {
		cols = append(cols, c)
	}
	byBytes(cols, func(c int32) uint64 { return colTotal[c] }, r.cats.name)
	var m matrixView
	for _, c := range cols {
		m.Cols = append(m.Cols, r.cats.name(c))
	}
	ids := make([]int32, len(r.typStat))
	for i := range ids {
		ids[i] = int32(i)
	}
	byBytes(ids, func(i int32) uint64 { return r.typStat[i].out*2 + r.typStat[i].in }, func(i int32) string { return r.types.names[i] })
	for _, id := range ids {
		st := r.typStat[id]
		row := matrixRow{Type: r.types.names[id], Class: st.class, Total: count(st.out), TotalV: st.out, In: count(st.in), InV: st.in, Test: count(st.test)}
		for _, c := range cols {
			v := r.matrix[pair{id, c}]
			cell := matrixCell{V: v, Alpha: "0"}
			if v > 0 {
				cell.Value = count(v)
				cell.Alpha = strconv.FormatFloat(0.12+0.78*math.Sqrt(float64(v)/float64(peak)), 'f', 2, 64)
			}
			row.Cells = append(row.Cells, cell)
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}

// severityRank orders the rules' severities, worst first.
var severityRank = map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 3}

func sevClass(s string) string {
	if _, ok := severityRank[s]; ok {
		return "sev-" + s
	}
	return "sev-other"
}

func (r *Report) rulesView() ([]ruleView, []sevView) {
	st := slices.Clone(r.ruleSt)
	rank := func(s string) int {
		if v, ok := severityRank[s]; ok {
			return v
		}
		return len(severityRank)
	}
	slices.SortFunc(st, func(a, b ruleStat) int {
		if c := cmp.Compare(rank(a.severity), rank(b.severity)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		return cmp.Compare(a.rule+"\x00"+a.severity, b.rule+"\x00"+b.severity)
	})
	var peak uint64
	for _, s := range st {
		peak = max(peak, s.count)
	}
	var rules []ruleView
	for _, s := range st[:min(len(st), 50)] {
		rules = append(rules, ruleView{Rule: s.rule, Severity: s.severity, SevClass: sevClass(s.severity), Count: count(s.count), CountV: s.count,
			Records: count(s.records), First: fmtTime(s.first), Last: fmtTime(s.last), Pct: pct(s.count, max(peak, 1))})
	}
	ids := make([]int32, len(r.sevN))
	for i := range ids {
		ids[i] = int32(i)
	}
	slices.SortFunc(ids, func(a, b int32) int {
		if c := cmp.Compare(rank(r.sevKeys.names[a]), rank(r.sevKeys.names[b])); c != 0 {
			return c
		}
		return cmp.Compare(r.sevKeys.names[a], r.sevKeys.names[b])
	})
	var sev []sevView
	for _, id := range ids {
		n := r.sevKeys.names[id]
		sev = append(sev, sevView{Name: n, Class: sevClass(n), Count: count(r.sevN[id])})
	}
	if r.sevOther > 0 {
		sev = append(sev, sevView{Name: "other", Class: "sev-other", Count: count(r.sevOther)})
	}
	return rules, sev
}

func (r *Report) firstSeenView() []firstSeenView {
	rows := slices.Clone(r.firstSeen)
	slices.SortStableFunc(rows, func(a, b firstSeenRow) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.dst, b.dst)
	})
	out := make([]firstSeenView, 0, len(rows))
	for _, f := range rows {
		out = append(out, firstSeenView{Time: fmtTime(f.t), Dst: f.dst, Category: f.category, Color: categoryColor(0, f.category), Source: f.source, Bytes: humanBytes(f.bytesOut), BytesV: f.bytesOut})
	}
	return out
}

func (r *Report) volumesView() []volView {
	ids := make([]int32, len(r.volSt))
	for i := range ids {
		ids[i] = int32(i)
	}
	byBytes(ids, func(i int32) uint64 { return r.volSt[i].peak }, func(i int32) string { return r.vols.names[i] })
	var out []volView
	for _, id := range ids[:min(len(ids), r.opt.TopN*2)] {
		st := r.volSt[id]
		ratio, ratioV := "—", "0"
		if st.baseAtPeak > 0 {
			x := float64(st.peak) / st.baseAtPeak
			ratio, ratioV = strconv.FormatFloat(x, 'f', 1, 64)+"×", strconv.FormatFloat(x, 'f', 3, 64)
		}
		out = append(out, volView{Key: r.vols.names[id], Window: st.window, Windows: count(st.windows), Peak: humanBytes(st.peak), PeakV: st.peak,
			Baseline: humanBytes(uint64(max(st.baseAtPeak, 0))), Ratio: ratio, RatioV: ratioV, At: fmtTime(st.peakAt)})
	}
	return out
}

// inputLine names the inputs in the header, the first few in full.
func (r *Report) inputLine() string {
	const show = 4
	if len(r.inputs) == 0 {
		return "no inputs"
	}
	s := "inputs: "
	for i, in := range r.inputs[:min(len(r.inputs), show)] {
		if i > 0 {
			s += ", "
		}
		s += in.name + " (" + count(in.records) + " records)"
	}
	if more := len(r.inputs) - show + r.inputsFolded; more > 0 {
		s += " and " + strconv.Itoa(more) + " more"
	}
	return s
}
