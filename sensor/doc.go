// Package sensor assembles tapdlp: from a loaded configuration (with the
// command line's overrides already applied) it builds every component — the
// record sinks, the live capture or the capture files, the pipeline, the
// metrics registry and its sources — runs them until the context ends, and
// reloads what can change on SIGHUP. It owns the decisions that join the
// components: the order they are built in (sinks and sockets before
// privileges are dropped; the metrics registry before the pipeline that
// feeds its latency histogram), when to drop privileges, when the sensor is
// ready, and which stage counters the metrics endpoint exposes.
//
// It sits above pipeline and below cmd/tapdlp, which is its only importer:
// the command line parses flags into a Config and calls New(cfg).Run(ctx).
// It must not hold per-packet logic (that is the pipeline's and the
// stages'), must not read flags or the environment, and must not format
// anything a stage could count instead.
package sensor
