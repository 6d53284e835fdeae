package metrics_test

import (
	"context"
	"errors"
	"log/slog"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/metrics"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/record/sinks"
)

// Example shows how the CLI wires the exporter: the stages' accessors go
// into Sources, readiness is the CLI's own check, and Serve stops with the
// run's context.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, _ := config.Parse("default.yaml", config.Default())
	router := sinks.NewRouter() // normally sinks.Build(cfg…)
	p, err := pipeline.New(cfg, pipeline.Options{Sink: router})
	if err != nil {
		return
	}
	reg := metrics.New(metrics.Sources{
		Pipeline:     p.Stats(),
		Decode:       p.DecodeStats(),
		Flows:        p.FlowStats(),
		Rules:        p.Rules().Stats,
		Destinations: p.Destinations().Stats,
		Sinks:        router,
	})
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
	// … p.RunLive(ctx, …) or p.Replay(ctx, …)
}
