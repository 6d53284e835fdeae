package pipeline

import (
	"context"
	"io"
	"testing"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/record"
)

// BenchmarkStartup is what every replay and sensor pays before its first
// packet, in process: loading the default configuration, New (destination
// tables, rules, detectors) and a whole replay of the smallest capture
// (one worker's state, the dispatcher, the ordered stage, shutdown).
// Process start (exec, runtime and package init) comes on top; see
// BENCHMARKS.md "boot7: start-up cost".
func BenchmarkStartup(b *testing.B) {
	b.Run("config.Load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := config.Load(""); err != nil {
				b.Fatal(err)
			}
		}
	})
	cfg, err := config.Load("")
	if err != nil {
		b.Fatal(err)
	}
	cfg.Workers = 1
	b.Run("New", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := New(cfg, Options{Sink: record.NewWriterSink(io.Discard)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("New+Replay_demo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := New(cfg, Options{Sink: record.NewWriterSink(io.Discard)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Replay(context.Background(), []string{"../testdata/pcap/demo.pcap"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
