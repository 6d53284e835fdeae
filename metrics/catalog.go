package metrics

import "slices"

// kind is a metric family's Prometheus type.
type kind string

const (
	counter   kind = "counter"
	gauge     kind = "gauge"
	histogram kind = "histogram"
)

// family is one metric family: its name, type, help text and the names of
// its labels. The exposition writer only takes a *family, so nothing can be
// exported without one; a Registry's families are its catalog, declared by
// the sources' tags (see Add) plus the latency histogram it owns.
type family struct {
	name   string
	typ    kind
	labels []string
	help   string
	source string // the source (Add's name, or Registry part) it is read from
}

// The registry's own families: the sampled per-packet latency.
var (
	famLatency   = &family{name: "tapdlp_pipeline_packet_latency_seconds", typ: histogram, source: "Latency", help: "Sampled wall-clock time from the dispatcher reading a packet to its worker finishing it (Prometheus le buckets)."}
	famLatencyVM = &family{name: "tapdlp_pipeline_packet_latency_vm_seconds", typ: histogram, source: "Latency", help: "The same samples as tapdlp_pipeline_packet_latency_seconds, in VictoriaMetrics vmrange buckets (finer, log-spaced)."}
)

// Family describes one metric family of a Registry's catalog, for the
// generated documentation (METRICS.md).
type Family struct {
	Name   string
	Type   string // counter, gauge or histogram
	Labels []string
	Help   string
	Source string
}

// Catalog returns every family the registry can write, in exposition
// order: the sources' in the order they were added, then the latency
// histogram.
func (r *Registry) Catalog() []Family {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Family
	for _, f := range append(slices.Clone(r.families), famLatency, famLatencyVM) {
		out = append(out, Family{Name: f.name, Type: string(f.typ), Labels: slices.Clone(f.labels), Help: f.help, Source: f.source})
	}
	return out
}

// LatencyBuckets returns the le bounds of the latency histogram.
func LatencyBuckets() []float64 { return slices.Clone(latencyLE[:]) }
