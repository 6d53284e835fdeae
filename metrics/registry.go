package metrics

import (
	"io"
	"strings"
	"sync"
	"sync/atomic"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/rules"
)

// Registry exposes one sensor's Sources. It is built once per run; nothing
// in it is global.
type Registry struct {
	src     Sources
	set     *vm.Set
	latency *Latency

	// mu serialises scrapes, so several scrapers cannot multiply the (small)
	// load a scrape puts on the stages, e.g. the DNS cache's shard locks.
	mu           sync.Mutex
	lastSize     int           // size of the previous scrape, to presize the next
	kernelErrors atomic.Uint64 // scrapes on which Sources.Kernel failed
}

// New builds a Registry that reads src at every scrape.
func New(src Sources) *Registry {
	r := &Registry{src: src, set: vm.NewSet(), latency: newLatency()}
	// The stages' counters are read by a metrics writer at scrape time
	// instead of being mirrored into vm counters: no second accounting,
	// nothing to keep in step.
	r.set.RegisterMetricsWriter(r.writeAll)
	return r
}

// Latency returns the per-packet latency histogram for the pipeline to
// feed (see LatencyObserver).
func (r *Registry) Latency() *Latency { return r.latency }

// WritePrometheus writes every metric in the Prometheus text format.
func (r *Registry) WritePrometheus(w io.Writer) { r.set.WritePrometheus(w) }

func (r *Registry) writeAll(w io.Writer) {
	r.mu.Lock()
	e := newExpo(r.lastSize + 1024)
	r.writeCapture(e)
	r.writeDecode(e)
	r.writeFlows(e)
	r.writeHTTP(e)
	r.writeClassify(e)
	r.writeDestinations(e)
	r.writeRules(e)
	r.writeSinks(e)
	r.latency.write(e)
	r.lastSize = len(e.b)
	r.mu.Unlock()
	_, _ = w.Write(e.b) // a failed scrape write is the scraper's problem
}

func (r *Registry) writeCapture(e *expo) {
	if p := r.src.Pipeline; p != nil {
		e.u(famCapturePackets, p.Packets.Load())
		e.u(famCaptureBytes, p.WireBytes.Load())
		e.u(famCaptureFiltered, p.Filtered.Load())
	}
	if r.src.Interfaces != nil {
		ifs := r.src.Interfaces()
		e.vec(famIfacePackets, func(add func(uint64, ...string)) {
			for _, i := range ifs {
				add(i.Packets, i.Name)
			}
		})
		e.vec(famIfaceBytes, func(add func(uint64, ...string)) {
			for _, i := range ifs {
				add(i.Bytes, i.Name)
			}
		})
	}
	if r.src.Kernel != nil {
		st, err := r.src.Kernel()
		if err != nil {
			r.kernelErrors.Add(1)
		}
		for _, m := range []struct {
			f   *family
			get func(s *live.SocketStats) uint64
		}{
			{famKernelPackets, func(s *live.SocketStats) uint64 { return s.Packets }},
			{famKernelDrops, func(s *live.SocketStats) uint64 { return s.Drops }},
			{famKernelFreezes, func(s *live.SocketStats) uint64 { return s.Freezes }},
			{famKernelStale, func(s *live.SocketStats) uint64 { return s.Stale }},
		} {
			e.vec(m.f, func(add func(uint64, ...string)) {
				for i := range st.Sockets {
					add(m.get(&st.Sockets[i]), st.Sockets[i].Interface)
				}
			})
		}
		k := &st.Reassembly
		e.u(famKernelReasmFails, k.V4Fails, "ipv4", "failed")
		e.u(famKernelReasmFails, k.V4Timeouts, "ipv4", "timeout")
		e.u(famKernelReasmFails, k.V6Fails, "ipv6", "failed")
		e.u(famKernelReasmFails, k.V6Timeouts, "ipv6", "timeout")
		e.u(famKernelStatErrors, r.kernelErrors.Load())
	}
	if l := r.src.Live; l != nil {
		e.u(famLiveReaderStalls, l.ReaderStalls.Load())
		e.u(famLiveLatePackets, l.LatePackets.Load())
		e.u(famLiveInnerVLANs, l.ExtraVLANs.Load())
		e.u(famLiveReadErrors, l.ReadErrors.Load())
	}
	if p := r.src.Pipeline; p != nil {
		e.u(famPipelineRecords, p.Records.Load())
		e.u(famPipelineRecordErrs, p.RecordErrors.Load())
		e.u(famPipelinePanics, p.WorkerPanics.Load())
	}
}

// decodeErrors are the results the replay summary counts as decode errors.
var decodeErrors = []capture.Result{capture.Truncated, capture.Malformed, capture.FragmentDropped, capture.Unsupported, capture.TooDeep}

func (r *Registry) writeDecode(e *expo) {
	d := r.src.Decode
	if d == nil {
		return
	}
	for _, res := range capture.Results() {
		e.u(famDecodeFrames, d.Result(res), res.String())
	}
	for _, res := range decodeErrors {
		e.u(famDecodeErrors, d.Result(res), res.String())
	}
	for _, t := range capture.TunnelTypes() {
		e.u(famDecodeDecaps, d.Decaps(t), t.String())
	}
	e.u(famDecodeExtraVLANs, d.ExtraVLANs())
	ip, tcp, udp := d.BadChecksums()
	e.u(famDecodeBadChecksums, ip, "ipv4")
	e.u(famDecodeBadChecksums, tcp, "tcp")
	e.u(famDecodeBadChecksums, udp, "udp")
	e.u(famDecodeChecksumOffload, d.ChecksumPartials())
	f := &d.Defrag
	e.u(famDefragHeld, f.Held.Load())
	e.u(famDefragReassembled, f.Reassembled.Load())
	e.u(famDefragOverlaps, f.Overlaps.Load())
	e.u(famDefragConflicts, f.Conflicts.Load())
	e.u(famDefragDuplicates, f.Duplicates.Load())
	e.u(famDefragFragsDropped, f.Malformed.Load(), "malformed")
	e.u(famDefragFragsDropped, f.Unfinishable.Load(), "unfinishable")
	e.u(famDefragDatagramsDropped, f.TooMany.Load(), "too_many")
	e.u(famDefragDatagramsDropped, f.Timeouts.Load(), "timeout")
	e.u(famDefragDatagramsDropped, f.Evicted.Load(), "evicted")
}

// flowNames maps reassembly.Stats.Each names to families, in exposition
// order. A name Each reports that is missing here is not exported, and
// TestEveryStageCounterIsMapped fails until it is added.
var flowNames = []struct {
	each  string
	f     *family
	label string
}{
	{"flows_open", famFlowsActive, ""},
	{"flows_created", famFlowsCreated, ""},
	{"flows_expired_timeout", famFlowsExpired, "timeout"},
	{"flows_closed", famFlowsExpired, "closed"},
	{"flows_reset", famFlowsExpired, "reset"},
	{"flows_shutdown", famFlowsExpired, "shutdown"},
	{"flows_evicted", famFlowsExpired, "evicted"},
	{"flows_reused", famFlowsReused, ""},
	{"flows_continued", famFlowsContinued, ""},
	{"interim_records", famFlowsInterim, ""},
	{"streams_declined", famFlowsDeclined, ""},
	{"ooo_bytes_buffered", famReasmOOOBuffered, ""},
	{"ooo_bytes_dropped", famReasmOOODropped, ""},
	{"memcap_drops", famReasmMemcapDrops, ""},
	{"cap_gaps", famReasmGaps, "cap"},
	{"ack_gaps", famReasmGaps, "ack"},
	{"end_gaps", famReasmGaps, "end"},
	{"missed_bytes", famReasmMissed, ""},
	{"overlap_bytes", famReasmOverlap, ""},
	{"overlap_events", famReasmOverlapEvents, ""},
	{"overlap_unchecked_bytes", famReasmUnchecked, ""},
	{"checksum_drops", famReasmBadChecksum, "dropped"},
	{"checksum_kept", famReasmBadChecksum, "kept"},
	{"rst_accepted", famReasmRST, "accepted"},
	{"rst_challenged", famReasmRST, "challenged"},
	{"rst_out_of_window", famReasmRST, "out_of_window"},
	{"syn_data_accepted_bytes", famReasmSynData, "accepted"},
	{"syn_data_ignored_bytes", famReasmSynData, "ignored"},
	{"depth_reached", famReasmDepthReached, ""},
}

func (r *Registry) writeFlows(e *expo) {
	if fs := r.src.Flows; fs != nil {
		vals := make(map[string]uint64, len(flowNames))
		fs.Each(func(name string, v uint64) { vals[name] = v })
		for _, m := range flowNames {
			v, ok := vals[m.each]
			if !ok {
				continue
			}
			if m.label == "" {
				e.u(m.f, v)
			} else {
				e.u(m.f, v, m.label)
			}
		}
	}
	if m := r.src.Memory; m != nil {
		e.i(famReasmMemory, m.Used())
		e.i(famReasmMemoryLimit, m.Limit())
	}
}

// writeHTTP passes httpparse's ready-made names through, keeping only
// those in the catalog (so their HELP text and labels are known).
func (r *Registry) writeHTTP(e *expo) {
	h := r.src.HTTP
	if h == nil {
		return
	}
	h.Each(func(name string, v uint64) {
		fam, labels, _ := strings.Cut(name, "{")
		f := byName[fam]
		if f == nil || f.source != "HTTP" {
			return
		}
		var lv []string
		for _, kv := range strings.Split(strings.TrimSuffix(labels, "}"), ",") {
			if _, val, ok := strings.Cut(kv, "="); ok {
				lv = append(lv, strings.Trim(val, `"`))
			}
		}
		e.u(f, v, lv...)
	})
}

func (r *Registry) writeClassify(e *expo) {
	if r.src.Classify == nil {
		return
	}
	c := r.src.Classify()
	e.u(famInspectedBytes, c.InspectedBytes)
	e.u(famInspectTrunc, c.TruncatedInspections)
	e.u(famEvidenceDropped, c.EvidenceDropped)
	e.vec(famDetections, func(add func(uint64, ...string)) {
		for _, d := range c.Detections {
			add(d.Count, d.Type, d.Class)
		}
	})
}

func (r *Registry) writeDestinations(e *expo) {
	if r.src.Destinations == nil {
		return
	}
	s := r.src.Destinations()
	d := s.DNS
	e.i(famDNSEntries, int64(d.Size))
	e.i(famDNSAddrEntries, int64(d.AddrSize))
	e.u(famDNSLookups, d.Hits, "hit")
	e.u(famDNSLookups, d.FallbackHits, "fallback_hit")
	e.u(famDNSLookups, d.Misses, "miss")
	ratio := 0.0
	if all := d.Hits + d.FallbackHits + d.Misses; all > 0 {
		ratio = float64(d.Hits+d.FallbackHits) / float64(all)
	}
	e.f(famDNSHitRatio, ratio)
	e.u(famDNSEvictions, d.Evictions)
	e.u(famDNSExpired, d.Expired)
	e.u(famDNSRejected, d.RejectedAnswer)
	fs := s.FirstSeen
	e.i(famFirstSeenEntries, int64(fs.Size))
	e.i(famFirstSeenLoaded, int64(fs.Loaded))
	e.u(famFirstSeenNew, fs.New)
	e.u(famFirstSeenEvicted, fs.Evictions)
	e.u(famDestReloads, s.Reloads)
	e.i(famDestCatalog, int64(s.CatalogEntries))
	e.i(famDestRanges, int64(s.RangeEntries))
	e.i(famDestIOCs, int64(s.IOCDomains), "domain")
	e.i(famDestIOCs, int64(s.IOCPrefixes), "prefix")
}

func (r *Registry) writeRules(e *expo) {
	if r.src.Rules == nil {
		return
	}
	s := r.src.Rules()
	for _, m := range []struct {
		f   *family
		get func(*rules.RuleStats) uint64
	}{
		{famRuleFired, func(rs *rules.RuleStats) uint64 { return rs.Fired }},
		{famRuleAlerts, func(rs *rules.RuleStats) uint64 { return rs.Alerts }},
		{famRuleSuppressed, func(rs *rules.RuleStats) uint64 { return rs.Suppressed }},
	} {
		e.vec(m.f, func(add func(uint64, ...string)) {
			for i := range s.Rules {
				add(m.get(&s.Rules[i]), s.Rules[i].ID, s.Rules[i].Severity)
			}
		})
	}
	e.i(famDedupKeys, int64(s.Dedup.Keys))
	e.u(famDedupEvicted, s.Dedup.Evicted)
	e.u(famDedupEvictedSupp, s.Dedup.EvictedSuppressed)
	e.i(famVolumeKeys, int64(s.Volume.Keys))
	e.u(famVolumeEvicted, s.Volume.Evicted)
	e.u(famVolumeLateBytes, s.Volume.LateBytes)
}

// sinkNames maps sinks.Stats.Each names to families, in exposition order;
// "dropped_<reason>_total" names go to famSinkDropped with their reason.
var sinkNames = []struct {
	each string
	f    *family
}{
	{"written_total", famSinkWritten},
	{"failed_total", famSinkFailed},
	{"spooled_total", famSinkSpooled},
	{"dropped_", famSinkDropped},
	{"reconnects_total", famSinkReconnects},
	{"rotations_total", famSinkRotations},
	{"spool_corrupt_segments_total", famSinkCorrupt},
	{"spool_bytes", famSinkSpoolBytes},
	{"queue_length", famSinkQueueLen},
}

// dropReason returns the reason of a "dropped_<reason>_total" name.
func dropReason(name string) (string, bool) {
	r, ok := strings.CutPrefix(name, "dropped_")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(r, "_total")
}

func (r *Registry) writeSinks(e *expo) {
	if r.src.Sinks == nil {
		return
	}
	// One pass over the router, then one family at a time: the format
	// wants each family's series together, Each gives them sink by sink.
	type reading struct {
		sink string
		vals map[string]uint64
		drop []string // drop reasons, in Each order
	}
	var all []*reading
	r.src.Sinks.Each(func(sink, name string, v uint64) {
		if len(all) == 0 || all[len(all)-1].sink != sink {
			all = append(all, &reading{sink: sink, vals: make(map[string]uint64, 16)})
		}
		rd := all[len(all)-1]
		rd.vals[name] = v
		if reason, ok := dropReason(name); ok {
			rd.drop = append(rd.drop, reason)
		}
	})
	for _, m := range sinkNames {
		e.vec(m.f, func(add func(uint64, ...string)) {
			for _, rd := range all {
				if m.f == famSinkDropped {
					for _, reason := range rd.drop {
						add(rd.vals["dropped_"+reason+"_total"], rd.sink, reason)
					}
					continue
				}
				if v, ok := rd.vals[m.each]; ok {
					add(v, rd.sink)
				}
			}
		})
	}
	e.u(famSinkUnrouted, r.src.Sinks.Unrouted())
}
