package metrics

import (
	httpparse "github.com/tapdlp/tapdlp/appproto/http"
	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/destinations"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/rules"
)

// Sources are the stages' own counters, read at every scrape. Every field
// is optional: a nil field means the stage is not running, and its metrics
// are left out. Pointers are to counters the stage keeps for its lifetime;
// functions are called once per scrape, from the scraping goroutine, and
// must be safe to call concurrently with the stage.
type Sources struct {
	// Pipeline is (*pipeline.Pipeline).Stats(): frames, bytes, records.
	Pipeline *pipeline.Stats
	// Decode is (*pipeline.Pipeline).DecodeStats().
	Decode *capture.DecodeStats
	// Flows is (*pipeline.Pipeline).FlowStats().
	Flows *reassembly.Stats
	// Memory is the global reassembly memory accountant (the pipeline's
	// mem; it needs an accessor).
	Memory *reassembly.Memory
	// HTTP is the HTTP parsers' shared counters (the pipeline's httpStats;
	// it needs an accessor).
	HTTP *httpparse.Stats
	// Interfaces returns what the sensor read per capture interface (the
	// live readers' counts, summed over an interface's sockets by name).
	Interfaces func() []Interface
	// Kernel reads the live capture's kernel counters, e.g.
	// (*live.Capture).Stats (safe to call alongside the pipeline's own
	// reads). Sockets are summed per interface.
	Kernel func() (live.Stats, error)
	// Live is the live path's own counters (pipeline.LiveOptions.Counters).
	Live *pipeline.LiveStats
	// Classify returns the content scanner's totals.
	Classify func() ClassifyStats
	// Destinations is (*destinations.Engine).Stats: DNS cache, first-seen
	// tracker and catalog sizes.
	Destinations func() destinations.EngineStats
	// Rules is (*rules.Engine).Stats.
	Rules func() rules.Stats
	// Sinks is the record router (*sinks.Router): every configured sink's
	// counters, labelled with the sink's configured name.
	Sinks SinkCounters
}

// SinkCounters is the part of the record router the exporter reads;
// *sinks.Router implements it.
type SinkCounters interface {
	// Each calls fn for every counter of every sink, in configuration
	// order, with the names of sinks.Stats.Each.
	Each(fn func(sink, name string, v uint64))
	// Unrouted returns how many records no sink subscribed to.
	Unrouted() uint64
}

// Interface is what the sensor read from one capture interface. Name is
// the configured interface name, which becomes the "interface" label.
type Interface struct {
	Name           string
	Packets, Bytes uint64
}

// ClassifyStats are the content scanner's totals. The classify package
// keeps its counters per stream; whoever sums them (the pipeline, when a
// stream ends) hands the totals over in this shape.
type ClassifyStats struct {
	InspectedBytes       uint64      // decoded plaintext bytes scanned
	TruncatedInspections uint64      // flow directions stopped at inspect_bytes
	EvidenceDropped      uint64      // evidence/hash values not kept because of the caps
	Detections           []Detection // per detection type, in any order
}

// Detection counts the detections of one type. Type is a configured
// detector name (built-in or custom) and Class its class (PCI, PII, PHI,
// SECRET, or a custom detector's): never a detected value.
type Detection struct {
	Type, Class string
	Count       uint64
}
