// Package metrics exposes what every stage of tapdlp already counts, in the
// Prometheus text format on /metrics, together with the /healthz and
// /readyz probes.
//
// It is cross-cutting and read-only: each stage keeps its own counters as
// atomics, and this package reads them when it is scraped (through the
// Sources the CLI wires in), so it adds no accounting and no work to the
// packet path — the only thing it owns is the sampled per-packet latency
// histogram that the pipeline feeds through a LatencyObserver.
//
// It must not change any stage's behaviour, must not be imported by a stage
// (the CLI wires it), and must never put a value taken from traffic in a
// label: label values come only from bounded, configured sets (interface
// names, reason and tunnel-type enums, detection types and classes, rule
// ids, severities, sink names), and are sanitised once more on the way out.
// Every exported metric is listed, with its labels and meaning, in
// METRICS.md, which a test keeps in sync with the catalog in catalog.go.
//
// Nothing here is global: a Registry is built from its Sources, so a test
// or a configuration reload builds a new one instead of re-registering
// names in a process-wide set.
package metrics
