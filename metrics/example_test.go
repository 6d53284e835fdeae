package metrics_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/tapdlp/tapdlp/metrics"
)

// StageStats is how a stage declares its counters: tags on its own stats
// struct, no import of package metrics.
type StageStats struct {
	Requests atomic.Uint64 `metric:"tapdlp_http_requests_total" help:"HTTP request heads parsed."`
	Stops    atomic.Uint64 `metric:"tapdlp_http_stops_total" label:"reason=gap" help:"HTTP parsers that stopped on a connection, by reason."`
}

// Example shows how the sensor wires the exporter: the registry first (its
// latency histogram goes to the pipeline), then each stage's stats struct,
// readiness is the sensor's own check, and Serve stops with the run's
// context.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := metrics.New()
	stage := new(StageStats) // normally owned by the stage, e.g. p.HTTPStats()
	if err := metrics.Add(reg, "HTTP", func() *StageStats { return stage }, nil); err != nil {
		slog.Error("metrics", "err", err)
		return
	}
	captureOpen := true
	ready := func() error {
		if !captureOpen {
			return errors.New("capture not open")
		}
		return nil
	}
	go func() {
		if err := metrics.Serve(ctx, metrics.DefaultAddr, reg.Handler(ready)); err != nil {
			slog.Error("metrics endpoint", "err", err)
		}
	}()
	// … p.RunLive(ctx, …)
}
