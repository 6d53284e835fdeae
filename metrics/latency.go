package metrics

import (
	"bytes"
	"math"
	"strconv"
	"strings"

	vm "github.com/VictoriaMetrics/metrics"
)

// LatencyObserver receives per-packet pipeline latencies. The pipeline
// declares the same one-method interface on its side and calls it for a
// sample of packets, so it never imports this package.
type LatencyObserver interface {
	Observe(seconds float64)
}

// latencyLE are the upper bounds of the Prometheus-style buckets. They are
// decades because decades are exact boundaries of the VictoriaMetrics
// buckets (18 per decade) that back the histogram, so the cumulative le
// counts are derived from them without error and without a second count.
var latencyLE = [...]float64{1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10}

// Latency is the per-packet latency histogram, backed by a VictoriaMetrics
// histogram in a private Set (nothing global). It is exported twice from
// the one set of counts: as a classic histogram with le buckets, which
// Prometheus's histogram_quantile understands, and in vmrange buckets for
// VictoriaMetrics (version v1.35 of the library has no PrometheusHistogram,
// hence the derivation).
type Latency struct {
	set *vm.Set
	h   *vm.Histogram
}

var _ LatencyObserver = (*Latency)(nil)

func newLatency() *Latency {
	s := vm.NewSet()
	return &Latency{set: s, h: s.NewHistogram(famLatencyVM.name)}
}

// Observe records one latency in seconds; negative and NaN values (a clock
// step) are ignored. It takes one short mutex and does not allocate once
// the value's decade has been seen, so it is meant for a sample of packets
// (1 in 64), not every one.
func (l *Latency) Observe(seconds float64) {
	if !(seconds >= 0) || math.IsInf(seconds, 1) {
		return
	}
	l.h.Update(seconds)
}

// write appends both exposition forms.
func (l *Latency) write(e *expo) {
	var vmOut bytes.Buffer
	l.set.WritePrometheus(&vmOut)
	var sum string
	var vmLines []string
	for line := range strings.Lines(vmOut.String()) {
		if strings.HasPrefix(line, "#") {
			continue // vm.ExposeMetadata(true) elsewhere must not duplicate our HELP/TYPE
		}
		if rest, ok := strings.CutPrefix(line, famLatencyVM.name+"_sum "); ok {
			sum = strings.TrimSpace(rest)
		}
		vmLines = append(vmLines, line)
	}

	var cum [len(latencyLE)]uint64
	var count uint64
	l.h.VisitNonZeroBuckets(func(vmrange string, n uint64) {
		count += n
		_, end, _ := strings.Cut(vmrange, "...")
		hi, err := strconv.ParseFloat(end, 64)
		if err != nil {
			return // "+Inf" (or an unknown form): only in the +Inf bucket
		}
		for i, le := range latencyLE {
			// vmrange ends are printed with 4 significant digits; the
			// decades among them are exact, the others are >13% apart.
			if hi <= le*(1+1e-9) {
				cum[i] += n
			}
		}
	})
	if sum == "" {
		sum = "0"
	}

	e.head(famLatency)
	for i, le := range latencyLE {
		e.b = appendSeries(e.b, famLatency.name, "_bucket", []string{"le"}, []string{strconv.FormatFloat(le, 'g', -1, 64)})
		e.b = append(e.b, ' ')
		e.b = strconv.AppendUint(e.b, cum[i], 10)
		e.b = append(e.b, '\n')
	}
	e.b = append(e.b, famLatency.name+`_bucket{le="+Inf"} `...)
	e.b = strconv.AppendUint(e.b, count, 10)
	e.b = append(e.b, '\n')
	e.b = append(e.b, famLatency.name+"_sum "...)
	e.b = append(e.b, sum...)
	e.b = append(e.b, '\n')
	e.b = append(e.b, famLatency.name+"_count "...)
	e.b = strconv.AppendUint(e.b, count, 10)
	e.b = append(e.b, '\n')

	e.head(famLatencyVM)
	for _, line := range vmLines {
		e.b = append(e.b, line...)
	}
}
