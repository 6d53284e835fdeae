// Package metrics exposes what every stage of tapdlp already counts, in the
// Prometheus text format on /metrics, together with the /healthz and
// /readyz probes.
//
// It is cross-cutting and read-only: each stage keeps its own counters as
// atomics in a stats struct whose fields carry metric tags (name, help,
// fixed labels; see Add), and this package reads those structs by
// reflection when it is scraped, so it adds no accounting and no work to
// the packet path. Whoever assembles the sensor registers the structs with
// Add; this package imports no stage and no stage imports it. The only
// thing it owns is the sampled per-packet latency histogram that the
// pipeline feeds through a LatencyObserver.
//
// It must not change any stage's behaviour and must never put a value
// taken from traffic in a label: label values come only from bounded,
// configured sets (interface names, reason and tunnel-type enums, detection
// types and classes, rule ids, severities, sink names), are sanitised once
// more on the way out, and a family's series are capped. Every exported
// metric is listed, with its labels and meaning, in METRICS.md, generated
// from the assembled sensor's catalog: tests in package sensor keep the file
// equal to the catalog and to what a scrape serves, and cmd/tapdlp's keep
// the README table equal to the file.
//
// Nothing here is global: a Registry is built per run, so a test or a
// configuration reload builds a new one instead of re-registering names in
// a process-wide set.
package metrics
