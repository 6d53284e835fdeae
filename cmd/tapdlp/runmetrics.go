package main

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/metrics"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/record/sinks"
	"github.com/tapdlp/tapdlp/rules"
)

// latencyProxy lets the pipeline be built before the metrics registry that
// needs the pipeline's counters: it forwards to the registry once set.
type latencyProxy struct {
	to atomic.Pointer[metrics.Latency]
}

func (l *latencyProxy) Observe(s float64) {
	if t := l.to.Load(); t != nil {
		t.Observe(s)
	}
}

// metricsSources connects every stage's counters to the metrics registry.
func metricsSources(p *pipeline.Pipeline, c *live.Capture, ls *pipeline.LiveStats, router *sinks.Router) metrics.Sources {
	src := metrics.Sources{
		Pipeline: p.Stats(),
		Decode:   p.DecodeStats(),
		Flows:    p.FlowStats(),
		Memory:   p.Memory(),
		HTTP:     p.HTTPStats(),
		Live:     ls,
		Interfaces: func() []metrics.Interface {
			var out []metrics.Interface
			for _, c := range ls.Interfaces() {
				out = append(out, metrics.Interface{Name: c.Name, Packets: c.Packets, Bytes: c.Bytes})
			}
			return out
		},
		Destinations: p.Destinations().Stats,
		Rules:        func() rules.Stats { return p.Rules().Stats() },
		Classify:     func() metrics.ClassifyStats { return classifyStats(p.InspectionStats()) },
	}
	if c != nil {
		src.Kernel = c.Stats
	}
	if router != nil {
		src.Sinks = router
	}
	return src
}

func classifyStats(s *pipeline.InspectionStats) metrics.ClassifyStats {
	out := metrics.ClassifyStats{
		InspectedBytes:       s.InspectedBytes.Load(),
		TruncatedInspections: s.TruncatedInspections.Load(),
	}
	s.EachDetection(func(typ, class string, n uint64) {
		out.Detections = append(out.Detections, metrics.Detection{Type: typ, Class: class, Count: n})
	})
	return out
}

// readiness reports ready while the capture is open and every sink either
// delivers or spools: a sink whose spool-full drops grew since the previous
// check makes the sensor not ready (records are being lost).
func readiness(c *live.Capture, router *sinks.Router) func() error {
	var mu sync.Mutex
	lastDrops := map[string]uint64{}
	return func() error {
		if c == nil {
			return errors.New("capture not open")
		}
		if _, err := c.Stats(); err != nil {
			return fmt.Errorf("capture: %w", err)
		}
		if router == nil {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		var losing []string
		router.Each(func(sink, name string, v uint64) {
			if name == "dropped_spool_full_total" {
				if v > lastDrops[sink] {
					losing = append(losing, sink)
				}
				lastDrops[sink] = v
			}
		})
		if len(losing) > 0 {
			return fmt.Errorf("sink %v dropping records: spool full", losing)
		}
		return nil
	}
}
