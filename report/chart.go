package report

import (
	"cmp"
	"slices"
	"strconv"
)

// Chart geometry, in SVG user units.
const (
	chartW     = 1160
	chartH     = 250
	plotLeft   = 72
	plotRight  = 12
	plotTop    = 12
	plotBottom = 26
	plotW      = chartW - plotLeft - plotRight
	plotH      = chartH - plotTop - plotBottom
)

// palette colours series without a colour of their own; otherColor is
// always the folded remainder.
var palette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6", "#d37295", "#8cd17d"}

const otherColor = "#bab0ac"

// categoryColors keeps a category's colour stable across reports.
var categoryColors = map[string]string{
	"ai_ml": "#7b4fd6", "cloud_storage": "#4e79a7", "saas": "#2a9d8f", "analytics": "#f28e2b",
	"social": "#e377c2", "advertising": "#edc948", "cdn": "#86a6c4", "internal": "#59a14f",
	"threat": "#d62728", "unknown": "#9d9d9d",
}

type chartView struct {
	W, H      int
	Rects     []rectView
	YTicks    []tickView
	XTicks    []tickView
	Legend    []legendView
	Empty     bool
	EmptyText string
	Caption   string
	// Plot area for the axis lines.
	X0, Y0, X1, Y1 int
}

// unit formats a chart's values: bytes or counts.
type unit struct {
	value   func(uint64) string
	tick    func(float64) string
	integer bool
}

var (
	bytesUnit = unit{humanBytes, func(v float64) string { return humanBytes(uint64(v)) }, false}
	countUnit = unit{count, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }, true}
)

type rectView struct {
	X, Y, W, H string
	Fill       string
	Title      string
}

type tickView struct {
	X, Y  string
	Label string
}

type legendView struct {
	Fill, Name, Total, Pct string
}

type seriesKey struct {
	id    int32
	name  string
	total uint64
	rank  int // orders series before their totals do (severities: worst first)
}

// stackedChart draws s as stacked bars per bucket: the top n keys by total
// as their own series, everything else (and what caps folded) as "other".
func (r *Report) stackedChart(s *series, keys []seriesKey, n int, color func(i int, name string) string, u unit) chartView {
	cv := chartView{W: chartW, H: chartH, X0: plotLeft, Y0: plotTop, X1: plotLeft + plotW, Y1: plotTop + plotH, EmptyText: "No outbound bytes with timestamps."}
	if !r.axis.any {
		cv.Empty = true
		return cv
	}
	slices.SortFunc(keys, func(a, b seriesKey) int {
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		if c := cmp.Compare(b.total, a.total); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	keys = slices.DeleteFunc(keys, func(k seriesKey) bool { return k.total == 0 })
	shown := keys[:min(n, len(keys))]
	slot := make(map[int32]int, len(shown)) // key id → series index; others get len(shown)
	for i, k := range shown {
		slot[k.id] = i
	}
	nb := int(r.axis.hi-r.axis.lo) + 1
	other := len(shown)
	vals := make([][]uint64, nb) // bucket → series → bytes
	for i := range vals {
		vals[i] = make([]uint64, len(shown)+1)
	}
	totals := make([]uint64, len(shown)+1)
	put := func(b int64, i int, v uint64) {
		vals[b-r.axis.lo][i] += v
		totals[i] += v
	}
	for c, v := range s.cells {
		i, ok := slot[c.key]
		if !ok {
			i = other
		}
		put(c.bucket, i, v)
	}
	for b, v := range s.other {
		put(b, other, v)
	}
	var peak, all uint64
	for _, row := range vals {
		var sum uint64
		for _, v := range row {
			sum += v
		}
		peak = max(peak, sum)
		all += sum
	}
	if all == 0 {
		cv.Empty = true
		return cv
	}
	top := niceCeil(float64(peak))
	if u.integer {
		top = 4 * niceCeil(float64(peak)/4) // whole, round ticks for counts
		if top < 4 {
			top = 4
		}
	}
	colors := make([]string, len(shown)+1)
	for i, k := range shown {
		colors[i] = color(i, k.name)
	}
	colors[other] = otherColor
	names := make([]string, len(shown)+1)
	for i, k := range shown {
		names[i] = k.name
	}
	names[other] = "other"

	bw := float64(plotW) / float64(nb)
	gap := min(bw*0.15, 3)
	layout := tickLayout(r.axis.width())
	for bi, row := range vals {
		x := float64(plotLeft) + float64(bi)*bw
		y := float64(plotTop + plotH)
		start := r.axis.start(r.axis.lo + int64(bi))
		for i, v := range row {
			if v == 0 {
				continue
			}
			h := float64(v) / top * plotH
			y -= h
			cv.Rects = append(cv.Rects, rectView{
				X: f1(x + gap/2), Y: f1(y), W: f1(max(bw-gap, 0.5)), H: f1(max(h, 0.5)), Fill: colors[i],
				Title: names[i] + " · " + start.Format(layout) + " · " + u.value(v),
			})
		}
	}
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		cv.YTicks = append(cv.YTicks, tickView{X: f1(plotLeft - 6), Y: f1(float64(plotTop+plotH) - float64(plotH)*float64(i)/4), Label: u.tick(v)})
	}
	step := max(1, (nb+7)/8)
	for bi := 0; bi < nb; bi += step {
		cv.XTicks = append(cv.XTicks, tickView{X: f1(float64(plotLeft) + (float64(bi)+0.5)*bw), Y: f1(chartH - 8), Label: r.axis.start(r.axis.lo + int64(bi)).Format(layout)})
	}
	for i := range names {
		if totals[i] == 0 {
			continue
		}
		cv.Legend = append(cv.Legend, legendView{Fill: colors[i], Name: names[i], Total: u.value(totals[i]), Pct: pct(totals[i], all)})
	}
	cv.Caption = "bucket " + fmtDuration(r.axis.width()) + " · " + count(uint64(nb)) + " buckets · peak " + u.value(peak) + " per bucket"
	return cv
}

func categoryColor(i int, name string) string {
	if c, ok := categoryColors[name]; ok {
		return c
	}
	return palette[(i+4)%len(palette)]
}

func paletteColor(i int, _ string) string { return palette[i%len(palette)] }
