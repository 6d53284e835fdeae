package metrics

import (
	"io"
	"reflect"
	"sync"

	vm "github.com/VictoriaMetrics/metrics"
)

// Registry exposes one sensor's sources. It is built once per run and
// filled with Add; nothing in it is global.
type Registry struct {
	set     *vm.Set
	latency *Latency

	// mu serialises scrapes (so several scrapers cannot multiply the small
	// load a scrape puts on the stages, e.g. the DNS cache's shard locks)
	// and registration.
	mu       sync.Mutex
	sources  []*source
	families []*family // the catalog, in exposition order: as registered, latency last
	lastSize int       // size of the previous scrape, to presize the next
}

// New builds an empty Registry. Its latency histogram exists from the
// start, so the pipeline that feeds it can be built before the sources it
// exposes are added.
func New() *Registry {
	r := &Registry{set: vm.NewSet(), latency: newLatency()}
	// The stages' counters are read by a metrics writer at scrape time
	// instead of being mirrored into vm counters: no second accounting,
	// nothing to keep in step.
	r.set.RegisterMetricsWriter(r.writeAll)
	return r
}

// Latency returns the per-packet latency histogram for the pipeline to
// feed (see LatencyObserver).
func (r *Registry) Latency() *Latency { return r.latency }

// WritePrometheus writes every metric in the Prometheus text format.
func (r *Registry) WritePrometheus(w io.Writer) { r.set.WritePrometheus(w) }

func (r *Registry) writeAll(w io.Writer) {
	r.mu.Lock()
	c := &collection{m: make(map[string]*accum, len(r.families))}
	for _, s := range r.sources {
		v := s.read()
		for v.IsValid() && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v = reflect.Value{}
				break
			}
			v = v.Elem()
		}
		if v.IsValid() {
			s.walkValue(v, "", nil, c)
		}
	}
	e := newExpo(r.lastSize + 1024)
	for _, f := range r.families {
		if a := c.m[f.name]; a != nil {
			a.write(e, f)
		}
	}
	r.latency.write(e)
	r.lastSize = len(e.b)
	r.mu.Unlock()
	_, _ = w.Write(e.b) // a failed scrape write is the scraper's problem
}

// collection gathers one scrape's values per family.
type collection struct {
	m map[string]*accum
}

// accum is one family's series in first-seen order, summed by label set
// and capped at maxSeries (the rest folded into label value "other", so
// totals stay right).
type accum struct {
	series []series
	idx    map[string]int
}

type series struct {
	lv []string
	n  number
}

func (c *collection) get(name string) *accum {
	a := c.m[name]
	if a == nil {
		a = &accum{idx: map[string]int{}}
		c.m[name] = a
	}
	return a
}

func (c *collection) add(name string, n number, lv []string) {
	a := c.get(name)
	for i, s := range lv {
		lv[i] = sanitize(s)
	}
	key := string(appendSeries(nil, "", "", lv, lv))
	j, ok := a.idx[key]
	if !ok && len(a.series) >= maxSeries-1 {
		for i := range lv {
			lv[i] = "other"
		}
		key = string(appendSeries(nil, "", "", lv, lv))
		j, ok = a.idx[key]
	}
	if !ok {
		j = len(a.series)
		a.idx[key] = j
		a.series = append(a.series, series{lv: lv})
	}
	s := &a.series[j]
	s.n.u += n.u
	s.n.f += n.f
	s.n.float = s.n.float || n.float
}

// touch marks the families declared under element type t as present, so a
// family whose list is empty still documents itself.
func (c *collection) touch(s *source, t reflect.Type, path string, labels []string) {
	_ = s.walkType(t, path, labels, func(f *family) error {
		c.get(f.name)
		return nil
	})
}

func (a *accum) write(e *expo, f *family) {
	if len(a.series) == 0 {
		e.head(f)
		return
	}
	for _, s := range a.series {
		if s.n.float {
			e.f(f, s.n.f, s.lv...)
		} else {
			e.u(f, s.n.u, s.lv...)
		}
	}
}
