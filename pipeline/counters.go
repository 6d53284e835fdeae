package pipeline

import (
	"slices"
	"strings"
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
// record is written. The tags name their metrics (see package metrics).
type InspectionStats struct {
	InspectedBytes       atomic.Uint64 `metric:"tapdlp_classify_inspected_bytes_total" help:"Decoded plaintext bytes scanned by the content detectors."`
	TruncatedInspections atomic.Uint64 `metric:"tapdlp_classify_truncated_inspections_total" help:"Flow directions whose scan stopped at the inspect_bytes cap."`
	// EvidenceDropped is not counted yet: the per-stream figure
	// (classify.Stream.Dropped) is not summed by the sessions.
	EvidenceDropped atomic.Uint64 `metric:"tapdlp_classify_evidence_dropped_total" help:"Evidence or hash values not kept in a record because of the per-record caps."`
	EncryptedFlows  atomic.Uint64 `metric:"-"` // in the replay summary only

	// truncated counts final records by the reasons their inspection
	// stopped early or was degraded (see Truncations).
	truncated [demux.NumTruncations]atomic.Uint64

	// detections is read-only once published; adding detection types (a
	// reload with new custom detectors) publishes a new map that keeps the
	// existing counters, so counts never go back and workers count
	// without locks.
	detections atomic.Pointer[map[string]*detection]
}

type detection struct {
	class string
	count atomic.Uint64
}

func newInspectionStats(types, classes []string) *InspectionStats {
	s := new(InspectionStats)
	s.addTypes(types, classes)
	return s
}

// addTypes makes sure every detection type has a counter. Types that
// disappear keep theirs (a counter must not vanish or restart); a type
// whose class changed is counted under the new class from now on.
// Callers serialise addTypes (construction, Reload).
func (s *InspectionStats) addTypes(types, classes []string) {
	old := s.detections.Load()
	m := make(map[string]*detection, len(types))
	if old != nil {
		for t, d := range *old {
			m[t] = d
		}
	}
	for i, t := range types {
		if d := m[t]; d == nil || d.class != classes[i] {
			m[t] = &detection{class: classes[i]}
		}
	}
	s.detections.Store(&m)
}

// DetectionCount is how often one detection type was found. Type is a
// configured detector name (built-in or custom) and Class its class:
// never a detected value.
type DetectionCount struct {
	Type  string `label:"type"`
	Class string `label:"class"`
	Count uint64 `metric:"tapdlp_classify_detections_total" help:"Sensitive-data detections, by detection type and class."`
}

// Detections returns every detection type's count, sorted by type.
func (s *InspectionStats) Detections() []DetectionCount {
	mp := s.detections.Load()
	if mp == nil {
		return nil
	}
	m := *mp
	out := make([]DetectionCount, 0, len(m))
	for t, d := range m {
		out = append(out, DetectionCount{Type: t, Class: d.class, Count: d.count.Load()})
	}
	slices.SortFunc(out, func(a, b DetectionCount) int { return strings.Compare(a.Type, b.Type) })
	return out
}

// TruncationCount is how many flows' inspection stopped early or was
// degraded for one reason.
type TruncationCount struct {
	Reason string `label:"reason"`
	Count  uint64 `metric:"tapdlp_classify_inspection_truncated_total" help:"Flows whose content inspection stopped early or fell back to raw bytes, by reason (a flow counts once per reason; see inspected.truncated_reasons)."`
}

// Truncations returns every reason's count, in the reasons' fixed order.
func (s *InspectionStats) Truncations() []TruncationCount {
	out := make([]TruncationCount, 0, demux.NumTruncations-1)
	for t := demux.TruncNone + 1; t < demux.NumTruncations; t++ {
		out = append(out, TruncationCount{Reason: t.String(), Count: s.truncated[t].Load()})
	}
	return out
}

// count adds a final record's inspection results.
func (s *InspectionStats) count(rec *record.Flow) {
	if in := rec.Inspected; in != nil {
		s.InspectedBytes.Add(in.Out + in.In)
		for _, r := range in.TruncatedReasons {
			for t := demux.TruncNone + 1; t < demux.NumTruncations; t++ {
				if t.String() == r {
					s.truncated[t].Add(1)
					if t == demux.TruncInspectBytes {
						s.TruncatedInspections.Add(1)
					}
					break
				}
			}
		}
		if in.Encrypted {
			s.EncryptedFlows.Add(1)
		}
	}
	if len(rec.Sensitive) == 0 {
		return
	}
	mp := s.detections.Load()
	if mp == nil {
		return
	}
	m := *mp
	for i := range rec.Sensitive {
		if d := m[rec.Sensitive[i].Type]; d != nil {
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

// rejectCategories are the destination categories rejects are counted by
// (the catalog's; any other value counts as "other").
var rejectCategories = [...]string{
	"ai_ml", "cloud_storage", "saas", "analytics", "social", "advertising",
	"cdn", "internal", "threat", "unknown", "other",
}

var rejectBy = [...]string{"rst", "icmp"}

// RejectStats count final flow records that carry a reject, by how the
// attempt was refused and by destination category.
type RejectStats struct {
	n [len(rejectBy)][len(rejectCategories)]atomic.Uint64
}

// RejectCount is one (by, category) counter for the metrics registry.
type RejectCount struct {
	By       string `label:"reason"`
	Category string `label:"category"`
	Count    uint64 `metric:"tapdlp_flows_rejects_total" help:"Flows refused by the responder's RST (reason=rst) or by an ICMP error quoting them (reason=icmp), by destination category."`
}

func (s *RejectStats) count(rec *record.Flow) {
	if rec.Reject == nil {
		return
	}
	b := 0
	if rec.Reject.By == "icmp" {
		b = 1
	}
	c := len(rejectCategories) - 1
	cat := rec.Dst.Category
	if cat == "" {
		cat = "unknown"
	}
	for i, n := range rejectCategories[:c] {
		if n == cat {
			c = i
			break
		}
	}
	s.n[b][c].Add(1)
}

// Counts returns every counter, zero ones included, in a fixed order.
func (s *RejectStats) Counts() []RejectCount {
	out := make([]RejectCount, 0, len(rejectBy)*len(rejectCategories))
	for b := range rejectBy {
		for c := range rejectCategories {
			out = append(out, RejectCount{By: rejectBy[b], Category: rejectCategories[c], Count: s.n[b][c].Load()})
		}
	}
	return out
}

// Rejects returns the reject counters.
func (p *Pipeline) Rejects() *RejectStats { return &p.rejects }
