package pipeline

import (
	"sync/atomic"
	"time"

	"github.com/tapdlp/tapdlp/appproto/demux"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
)

// LatencyObserver receives the time one packet took from the dispatcher's
// read to the end of its worker's processing (metrics implement it). It is
// declared here, by its consumer, so the pipeline never imports metrics.
type LatencyObserver interface {
	Observe(seconds float64)
}

// latencySampleEvery: one packet in this many carries a timestamp. Reading
// the clock for every packet would cost more than the measurement is worth.
const latencySampleEvery = 64

// InspectionStats are content-inspection totals, counted when a flow's final
// record is written.
type InspectionStats struct {
	InspectedBytes       atomic.Uint64 // decoded plaintext bytes scanned
	TruncatedInspections atomic.Uint64 // flow directions stopped at inspect_bytes
	EncryptedFlows       atomic.Uint64 // flows whose payload was TLS/QUIC or a tunnel
	detections           map[string]*detection
}

type detection struct {
	class string
	count atomic.Uint64
}

func newInspectionStats(types, classes []string) *InspectionStats {
	s := &InspectionStats{detections: make(map[string]*detection, len(types))}
	for i, t := range types {
		s.detections[t] = &detection{class: classes[i]}
	}
	return s
}

// EachDetection calls fn for every detection type (built-in and custom).
func (s *InspectionStats) EachDetection(fn func(typ, class string, n uint64)) {
	for t, d := range s.detections {
		fn(t, d.class, d.count.Load())
	}
}

// count adds a final record's inspection results. The map is read-only
// after construction, so workers count without locks.
func (s *InspectionStats) count(rec *record.Flow) {
	if in := rec.Inspected; in != nil {
		s.InspectedBytes.Add(in.Out + in.In)
		if in.Truncated {
			s.TruncatedInspections.Add(1)
		}
		if in.Encrypted {
			s.EncryptedFlows.Add(1)
		}
	}
	for i := range rec.Sensitive {
		if d := s.detections[rec.Sensitive[i].Type]; d != nil {
			d.count.Add(uint64(rec.Sensitive[i].Count))
		}
	}
}

// Memory returns the shared reassembly memory accountant.
func (p *Pipeline) Memory() *reassembly.Memory { return p.mem }

// HTTPStats returns the HTTP parsers' counters.
func (p *Pipeline) HTTPStats() *demux.HTTPStats { return p.httpStats }

// InspectionStats returns the content-inspection totals.
func (p *Pipeline) InspectionStats() *InspectionStats { return p.inspStats }

// clockBase anchors the monotonic clock used for latency stamps.
var clockBase = time.Now()

func monoNow() int64 { return int64(time.Since(clockBase)) }
