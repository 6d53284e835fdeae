package sensor

import (
	"github.com/tapdlp/tapdlp/appproto/demux"
	"github.com/tapdlp/tapdlp/appproto/http2"
	"github.com/tapdlp/tapdlp/appproto/tlsdecrypt"
	"github.com/tapdlp/tapdlp/appproto/websocket"
	"sync/atomic"
	"time"

	httpparse "github.com/tapdlp/tapdlp/appproto/http"
	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/destinations"
	"github.com/tapdlp/tapdlp/metrics"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record/pcaplog"
	"github.com/tapdlp/tapdlp/record/sinks"
	"github.com/tapdlp/tapdlp/rules"
)

// sources are the stages a run exposes to the metrics registry; a nil
// field is a stage that is not running (its families are left out).
type sources struct {
	pipeline     *pipeline.Stats
	decode       *capture.DecodeStats
	flows        *reassembly.Stats
	memory       *reassembly.Memory
	http         *httpparse.Stats
	parsers      *demux.ParserStats
	pending      *tlsdecrypt.PendingBudget
	tlsOutcomes  *pipeline.TLSStats
	ai           *pipeline.AIStats
	continuation *pipeline.ContinuationStats
	keys         *tlsdecrypt.Store
	demux        *demux.Stats
	classify     func() classifyView
	destinations func() destinations.EngineStats
	rules        func() rules.Stats
	rejects      *pipeline.RejectStats
	kernel       func() (live.Stats, error) // the live capture's socket counters
	live         func() liveView
	router       *sinks.Router
	sinks        []string // the router's sink names, in configuration order
	build        *BuildInfo
	reloads      *reloadStats
	alertPcap    func() pcaplog.View // alert pcaps (alerts.pcap_dir); nil when off
}

// pipelineSources are the counters of p's stages. Rules and detections
// are read through p at every scrape, so what a reload replaced is what
// is exposed.
func pipelineSources(p *pipeline.Pipeline) sources {
	return sources{
		pipeline: p.Stats(), decode: p.DecodeStats(), flows: p.FlowStats(), memory: p.Memory(), http: p.HTTPStats(),
		parsers: p.ParserStats(), demux: p.DemuxStats(), pending: p.PendingBudget(),
		tlsOutcomes: p.TLSStats(), keys: p.Keys(), ai: p.AIStats(),
		continuation: p.ContinuationStats(),
		classify: func() classifyView {
			s := p.InspectionStats()
			return classifyView{s, s.Detections(), s.Truncations()}
		},
		destinations: p.Destinations().Stats,
		rules:        (&ruleCarry{eng: p.Rules()}).reader(p.Rules),
		rejects:      p.Rejects(),
		alertPcap:    alertPcapSource(p),
	}
}

func alertPcapSource(p *pipeline.Pipeline) func() pcaplog.View {
	if !p.AlertPcaps() {
		return nil
	}
	return p.AlertPcapStats
}

// register adds every running stage's counters to reg. Each stage's stats
// struct declares its metrics with struct tags (see metrics.Add); for the
// stages whose packages do not carry the tags yet, the tags are given here
// (the Tags maps below), which is the same declaration one step removed:
// moving a map's entries onto the struct's fields is mechanical. Stages
// that keep per-value counters behind methods (arrays indexed by an enum)
// are read into small views whose fields carry the labels.
func (src sources) register(reg *metrics.Registry) error {
	var add []func() error
	on := func(running bool, f func() error) {
		if running {
			add = append(add, f)
		}
	}
	on(src.pipeline != nil, func() error {
		return metrics.Add(reg, "Pipeline", func() *pipeline.Stats { return src.pipeline }, pipelineTags)
	})
	on(src.live != nil, func() error { return metrics.Add(reg, "Live", src.live, nil) })
	on(src.kernel != nil, func() error {
		kv := &kernelView{read: src.kernel}
		return metrics.Add(reg, "Kernel", kv.scrape, kernelTags)
	})
	on(src.decode != nil, func() error {
		return metrics.Add(reg, "Decode", func() decodeView { return readDecode(src.decode) }, decodeTags)
	})
	on(src.flows != nil, func() error {
		return metrics.Add(reg, "Flows", func() *reassembly.Stats { return src.flows }, flowTags)
	})
	on(src.memory != nil, func() error {
		return metrics.Add(reg, "Memory", func() memoryView { return memoryView{src.memory.Used(), src.memory.Limit()} }, nil)
	})
	on(src.pending != nil, func() error {
		return metrics.Add(reg, "TLS", func() tlsView { return readTLS(src.pending, src.tlsOutcomes, src.keys) }, nil)
	})
	on(src.continuation != nil, func() error {
		return metrics.Add(reg, "Continuation", func() *pipeline.ContinuationStats { return src.continuation }, nil)
	})
	on(src.ai != nil, func() error { return metrics.Add(reg, "AI", func() *pipeline.AIStats { return src.ai }, nil) })
	on(src.demux != nil, func() error {
		return metrics.Add(reg, "Demux", func() *demux.Stats { return src.demux }, demuxTags)
	})
	on(src.parsers != nil, func() error {
		return metrics.Add(reg, "Parsers", func() parsersView { return readParsers(src.parsers) }, parserTags)
	})
	on(src.http != nil, func() error { return metrics.Add(reg, "HTTP", func() httpView { return readHTTP(src.http) }, httpTags) })
	on(src.classify != nil, func() error { return metrics.Add(reg, "Classify", src.classify, nil) })
	on(src.destinations != nil, func() error {
		return metrics.Add(reg, "Destinations", func() destinationsView { return readDestinations(src.destinations()) }, nil)
	})
	on(src.rules != nil, func() error { return metrics.Add(reg, "Rules", src.rules, ruleTags) })
	on(src.rejects != nil, func() error {
		return metrics.Add(reg, "Rejects", func() rejectsView { return rejectsView{src.rejects.Counts()} }, nil)
	})
	on(src.alertPcap != nil, func() error { return metrics.Add(reg, "AlertPcap", src.alertPcap, nil) })
	on(src.router != nil, func() error {
		return metrics.Add(reg, "Sinks", func() sinksView { return readSinks(src.router, src.sinks) }, sinkTags)
	})
	on(src.build != nil, func() error {
		return metrics.Add(reg, "Build", func() buildView { return buildView{[]buildRow{{src.build.Version, src.build.Commit, 1}}} }, nil)
	})
	on(src.reloads != nil, func() error { return metrics.Add(reg, "Reload", src.reloads.view, nil) })
	for _, f := range add {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

var pipelineTags = metrics.Tags{
	"Packets":          `metric:"tapdlp_capture_packets_total" help:"Frames read from every capture source (files or sockets)."`,
	"WireBytes":        `metric:"tapdlp_capture_bytes_total" help:"Frame bytes read from every capture source, as on the wire."`,
	"Filtered":         `metric:"tapdlp_capture_filtered_total" help:"Frames the capture filter expression rejected (counted, not decoded)."`,
	"Records":          `metric:"tapdlp_pipeline_records_total" help:"Flow records handed to the sinks (final and interim)."`,
	"Flows":            `metric:"-"`, // the sum of tapdlp_flows_expired_total
	"WorkerPanics":     `metric:"tapdlp_pipeline_worker_panics_total" help:"Packets dropped because a worker recovered from a panic (a bug: report it)."`,
	"RecordErrors":     `metric:"tapdlp_pipeline_record_errors_total" help:"Records that could not be encoded or that the sink refused."`,
	"OrderForced":      `metric:"tapdlp_pipeline_order_forced_total" help:"Worker outputs the ordered stage applied before every worker's watermark passed them, because its buffer was full (replay order no longer guaranteed)."`,
	"FlushWaits":       `metric:"tapdlp_pipeline_flush_waits_total" help:"Times a worker flushing the flows open at the end of the input waited for the ordered stage to apply the records it had sent, so the records in flight stay bounded."`,
	"AnnotationResets": `metric:"tapdlp_pipeline_annotation_resets_total" help:"Times a worker's table of shared destination annotations was full and started over (costs CPU and memory, not correctness)."`,
}

// liveView is the live path's counters and its per-interface counts.
type liveView struct {
	*pipeline.LiveStats
	Interfaces []pipeline.InterfaceCount
}

func readLive(ls *pipeline.LiveStats) func() liveView {
	return func() liveView { return liveView{ls, ls.Interfaces()} }
}

// kernelView reads the kernel's socket counters; a failed read is counted,
// and what could be read is still exported.
type kernelView struct {
	read   func() (live.Stats, error)
	errors uint64 // scrapes are serialised by the registry
}

type kernelScrape struct {
	Sockets    []live.SocketStats
	Reassembly []kernelReasmRow
	StatErrors uint64 `metric:"tapdlp_capture_kernel_stats_errors_total" help:"Scrapes on which reading the kernel socket statistics failed (the last values read are exported)."`
}

// kernelReasmRow is one of the kernel's IP reassembly failure counters.
type kernelReasmRow struct {
	Kind   string `label:"kind"`
	Reason string `label:"reason"`
	N      uint64 `metric:"tapdlp_capture_kernel_reassembly_failures_total" help:"IP datagrams the kernel's reassembly in the sensor's network namespace gave up on (memory full, overlap, timeout), by family (kind) and reason: with kernel defragmentation their fragments never reach the sensor."`
}

func (k *kernelView) scrape() kernelScrape {
	st, err := k.read()
	if err != nil {
		k.errors++
	}
	r := st.Reassembly
	return kernelScrape{Sockets: st.Sockets, StatErrors: k.errors, Reassembly: []kernelReasmRow{
		{"ipv4", "failed", r.V4Fails}, {"ipv4", "timeout", r.V4Timeouts},
		{"ipv6", "failed", r.V6Fails}, {"ipv6", "timeout", r.V6Timeouts},
	}}
}

var kernelTags = metrics.Tags{
	"Sockets.Interface": `label:"interface"`,
	"Sockets.Socket":    `metric:"-"`, // summed per interface
	"Sockets.Packets":   `metric:"tapdlp_capture_kernel_packets_total" help:"Frames the kernel passed to the AF_PACKET sockets of an interface (dropped ones included)."`,
	"Sockets.Drops":     `metric:"tapdlp_capture_kernel_drops_total" help:"Frames the kernel dropped because an interface's ring was full."`,
	"Sockets.Freezes":   `metric:"tapdlp_capture_kernel_freezes_total" help:"Times the kernel froze an interface's ring queue because it was full."`,
	"Sockets.Stale":     `metric:"tapdlp_capture_startup_discarded_total" help:"Frames discarded at start-up because they were queued before the fanout group applied."`,
}

// decodeView holds capture.DecodeStats' per-enum counters as labelled rows.
type decodeView struct {
	Frames     []resultRow
	Errors     []reasonRow
	Decaps     []typeRow
	ExtraVLANs uint64 `metric:"tapdlp_decode_extra_vlans_total" help:"VLAN tags seen beyond the ones a packet keeps."`
	BadSums    []kindRow
	Offloaded  uint64 `metric:"tapdlp_decode_checksum_offload_total" help:"TCP/UDP checksums holding only the pseudo-header sum (captured before checksum offload), left unjudged in checksum mode auto."`
	Defrag     *capture.DefragStats
}

type kindRow struct {
	Kind string `label:"kind"`
	N    uint64 `metric:"tapdlp_decode_bad_checksums_total" help:"Checksums that failed, by header kind (dropped, or in checksum mode auto judged by the flow table)."`
}

type resultRow struct {
	Result string `label:"result"`
	N      uint64 `metric:"tapdlp_decode_frames_total" help:"Frames by decode result (ok, not_ip, fragment and the error reasons)."`
}

type reasonRow struct {
	Reason string `label:"reason"`
	N      uint64 `metric:"tapdlp_decode_errors_total" help:"Frames that could not be decoded, by reason (the error subset of tapdlp_decode_frames_total)."`
}

type typeRow struct {
	Type string `label:"type"`
	N    uint64 `metric:"tapdlp_decode_tunnel_decaps_total" help:"Encapsulations removed, by tunnel type."`
}

// decodeErrors are the results the replay summary counts as decode errors.
var decodeErrors = []capture.Result{capture.Truncated, capture.Malformed, capture.FragmentDropped, capture.Unsupported, capture.TooDeep}

func readDecode(d *capture.DecodeStats) decodeView {
	v := decodeView{ExtraVLANs: d.ExtraVLANs(), Defrag: &d.Defrag, Offloaded: d.ChecksumPartials()}
	ip, tcp, udp := d.BadChecksums()
	v.BadSums = []kindRow{{"ipv4", ip}, {"tcp", tcp}, {"udp", udp}}
	for _, r := range capture.Results() {
		v.Frames = append(v.Frames, resultRow{r.String(), d.Result(r)})
	}
	for _, r := range decodeErrors {
		v.Errors = append(v.Errors, reasonRow{r.String(), d.Result(r)})
	}
	for _, t := range capture.TunnelTypes() {
		v.Decaps = append(v.Decaps, typeRow{t.String(), d.Decaps(t)})
	}
	return v
}

var decodeTags = metrics.Tags{
	"Defrag.Held":             `metric:"tapdlp_decode_defrag_fragments_held_total" help:"IP fragments accepted and held for reassembly."`,
	"Defrag.Reassembled":      `metric:"tapdlp_decode_defrag_datagrams_reassembled_total" help:"IP datagrams completed from fragments."`,
	"Defrag.Overlaps":         `metric:"tapdlp_decode_defrag_overlaps_total" help:"IP fragments overlapping data already held (the first data wins)."`,
	"Defrag.Conflicts":        `metric:"tapdlp_decode_defrag_conflicts_total" help:"Overlapping IP fragments whose bytes differed from what was held."`,
	"Defrag.Duplicates":       `metric:"tapdlp_decode_defrag_duplicates_total" help:"IP fragments entirely covered by data already held."`,
	"Defrag.TruncatedFirst":   `metric:"tapdlp_decode_defrag_truncated_first_fragments_total" help:"First IP fragments the capture cut short: decoded alone as truncated packets, since their datagram cannot be rebuilt."`,
	"Defrag.Malformed":        `metric:"tapdlp_decode_defrag_fragments_dropped_total" label:"reason=malformed" help:"IP fragments the defragmenter dropped, by reason."`,
	"Defrag.TruncatedDropped": `metric:"tapdlp_decode_defrag_fragments_dropped_total" label:"reason=truncated"`,
	"Defrag.TooMany":          `metric:"tapdlp_decode_defrag_datagrams_dropped_total" label:"reason=too_many" help:"Incomplete IP datagrams the defragmenter dropped, by reason."`,
	"Defrag.Timeouts":         `metric:"tapdlp_decode_defrag_datagrams_dropped_total" label:"reason=timeout"`,
	"Defrag.Evicted":          `metric:"tapdlp_decode_defrag_datagrams_dropped_total" label:"reason=evicted"`,
}

var flowTags = metrics.Tags{
	"FlowsOpen":          `metric:"tapdlp_flows_active" help:"Flows currently held in the flow tables."`,
	"FlowsCreated":       `metric:"tapdlp_flows_created_total" help:"Flows created in the flow tables."`,
	"FlowsTimeout":       `metric:"tapdlp_flows_expired_total" label:"reason=timeout" help:"Flows ended with a final record, by reason."`,
	"FlowsClosed":        `metric:"tapdlp_flows_expired_total" label:"reason=closed"`,
	"FlowsReset":         `metric:"tapdlp_flows_expired_total" label:"reason=reset"`,
	"FlowsShutdown":      `metric:"tapdlp_flows_expired_total" label:"reason=shutdown"`,
	"FlowsEvicted":       `metric:"tapdlp_flows_expired_total" label:"reason=evicted"`,
	"FlowsEvictedMemcap": `metric:"tapdlp_flows_evicted_memcap_total" help:"Flows evicted because the flow tables reached flows.memcap (also counted in tapdlp_flows_expired_total{reason=\"evicted\"})."`,
	"FlowsReused":        `metric:"tapdlp_flows_reused_total" help:"Closed flows ended early by a new SYN on their tuple (also counted in tapdlp_flows_expired_total)."`,
	"FlowsTombstoned":    `metric:"tapdlp_flows_tombstoned_total" help:"Closed or reset TCP flows written out once their close completed (both FINs acknowledged, or the RST) and flows.tcp_close_grace passed, leaving a tombstone for the rest of flows.tcp_closed_timeout (also counted in tapdlp_flows_expired_total)."`,
	"Tombstones":         `metric:"tapdlp_flows_tombstones" help:"Tombstones held: flows already written out at their close, whose late packets are still absorbed for the rest of flows.tcp_closed_timeout."`,
	"TombstonesEvicted":  `metric:"tapdlp_flows_tombstones_evicted_total" help:"Tombstones dropped before their linger ended to make room (flows.max_flows or flows.memcap): a late packet of that flow then opens a flow of its own."`,
	"LatePackets":        `metric:"tapdlp_flows_late_packets_total" help:"Packets that arrived after their flow's final record (within the linger, absorbed by its tombstone): counted here, in no record."`,
	"LateBytes":          `metric:"tapdlp_flows_late_bytes_total" help:"IP bytes of the late packets (tapdlp_flows_late_packets_total)."`,
	"FlowsContinued":     `metric:"tapdlp_flows_continued_total" help:"TCP flows picked up mid-stream that continue a flow ended by idle timeout (same tuple, sequence numbers carry on)."`,
	"InterimRecords":     `metric:"tapdlp_flows_interim_records_total" help:"Interim records of long-lived flows (active timeout)."`,
	"StreamsDeclined":    `metric:"tapdlp_flows_streams_declined_total" help:"Flows whose payload no consumer wanted."`,
	"OOOBytesBuffered":   `metric:"tapdlp_reassembly_ooo_buffered_bytes_total" help:"Out-of-order payload bytes buffered."`,
	"OOOBytesDropped":    `metric:"tapdlp_reassembly_ooo_dropped_bytes_total" help:"Out-of-order payload bytes dropped at the global memcap."`,
	"MemcapDrops":        `metric:"tapdlp_reassembly_memcap_drops_total" help:"Out-of-order segments dropped at the global memcap."`,
	"CapGaps":            `metric:"tapdlp_reassembly_gaps_total" label:"reason=cap" help:"Stream holes skipped, by reason (cap: a memcap; ack: the peer acknowledged past it; end: the flow ended)."`,
	"AckGaps":            `metric:"tapdlp_reassembly_gaps_total" label:"reason=ack"`,
	"EndGaps":            `metric:"tapdlp_reassembly_gaps_total" label:"reason=end"`,
	"MissedBytes":        `metric:"tapdlp_reassembly_missed_bytes_total" help:"TCP payload bytes never delivered (capture loss or given up at a memcap)."`,
	"OverlapBytes":       `metric:"tapdlp_reassembly_overlap_bytes_total" help:"Overlapping TCP bytes whose content differed (the first data wins)."`,
	"OverlapEvents":      `metric:"tapdlp_reassembly_overlap_events_total" help:"Retransmissions whose bytes differed from the first copy (delivered or buffered); both copies go to the consumer."`,
	"OverlapUnchecked":   `metric:"tapdlp_reassembly_overlap_unchecked_bytes_total" help:"Retransmitted, unacknowledged bytes no longer kept for comparison: delivered to the consumer unchecked."`,
	"ChecksumDrops":      `metric:"tapdlp_reassembly_bad_checksum_packets_total" label:"result=dropped" help:"Packets with a failed checksum, by result (dropped: their direction had good checksums; kept: it never had)."`,
	"ChecksumKept":       `metric:"tapdlp_reassembly_bad_checksum_packets_total" label:"result=kept"`,
	"RSTAccepted":        `metric:"tapdlp_reassembly_rsts_total" label:"result=accepted" help:"TCP RSTs by the receiving host's verdict (accepted; challenged: in window, wrong sequence number; out_of_window)."`,
	"RSTChallenged":      `metric:"tapdlp_reassembly_rsts_total" label:"result=challenged"`,
	"RSTOutOfWindow":     `metric:"tapdlp_reassembly_rsts_total" label:"result=out_of_window"`,
	"SynDataAccepted":    `metric:"tapdlp_reassembly_syn_data_bytes_total" label:"result=accepted" help:"Payload bytes carried on SYNs, by result (accepted: the peer acknowledged them; ignored)."`,
	"SynDataIgnored":     `metric:"tapdlp_reassembly_syn_data_bytes_total" label:"result=ignored"`,
	"DepthReached":       `metric:"tapdlp_reassembly_depth_reached_total" help:"Flow directions that reached the reassembly inspect depth."`,
	"ICMPAttached":       `metric:"tapdlp_flows_icmp_errors_total" label:"result=attached" help:"ICMP/ICMPv6 errors quoting a TCP or UDP flow, by result (attached: the initiator's flow was in the table and got a reject; unmatched: no such flow, or the error quotes a responder's packet); every error also stays a packet of its own ICMP flow."`,
	"ICMPUnmatched":      `metric:"tapdlp_flows_icmp_errors_total" label:"result=unmatched"`,
}

// rejectsView holds the reject counters by how and destination category.
type rejectsView struct {
	Rejects []pipeline.RejectCount
}

// memoryView is the global reassembly memory accountant's two readings.
type memoryView struct {
	Used  int64 `metric:"tapdlp_reassembly_memory_bytes" help:"Out-of-order bytes currently buffered by all flow tables."`
	Limit int64 `metric:"tapdlp_reassembly_memory_limit_bytes" help:"The global reassembly memcap."`
}

// httpView holds httpparse.Stats with its per-reason stop counters as rows.
type httpView struct {
	*httpparse.Stats
	StopsBy []stopRow
}

type stopRow struct {
	Reason string `label:"reason"`
	N      uint64 `metric:"tapdlp_http_stops_total" help:"HTTP parsers that stopped on a connection, by reason."`
}

func readHTTP(s *httpparse.Stats) httpView {
	v := httpView{Stats: s}
	for r := httpparse.ReasonNone + 1; int(r) < len(s.Stops); r++ {
		v.StopsBy = append(v.StopsBy, stopRow{r.String(), s.Stops[r].Load()})
	}
	return v
}

var httpTags = metrics.Tags{
	"Stats.Requests":     `metric:"tapdlp_http_requests_total" help:"HTTP request heads parsed."`,
	"Stats.Responses":    `metric:"tapdlp_http_responses_total" help:"HTTP response heads parsed (1xx included)."`,
	"Stats.Stops":        `metric:"-"`, // as StopsBy rows, labelled
	"Stats.Truncated":    `metric:"tapdlp_http_bodies_truncated_total" help:"HTTP bodies whose decoded output hit the decode budget (inspect_bytes)."`,
	"Stats.Bombs":        `metric:"tapdlp_http_decompression_bombs_total" help:"HTTP bodies cut at the decode budget at a ratio above 100:1 (decompression bombs)."`,
	"Stats.Undecoded":    `metric:"tapdlp_http_bodies_undecoded_total" help:"HTTP bodies delivered raw because their content coding is unknown."`,
	"Stats.DecodeErrors": `metric:"tapdlp_http_decode_errors_total" help:"Corrupt or cut coded HTTP bodies."`,
	"Stats.PairDropped":  `metric:"tapdlp_http_pairing_dropped_total" help:"HTTP requests forgotten because the request/response pairing was full."`,
}

// classifyView is the content-inspection totals and the detections, which
// are rebuilt on reload (custom detectors added by SIGHUP are counted).
type classifyView struct {
	*pipeline.InspectionStats
	Detections  []pipeline.DetectionCount
	Truncations []pipeline.TruncationCount
}

// destinationsView adds the DNS cache's hit ratio to the engine's stats.
type destinationsView struct {
	destinations.EngineStats
	HitRatio float64 `metric:"tapdlp_dns_cache_hit_ratio" help:"Share of DNS cache lookups answered (hits and fallback hits over all lookups; 0 before the first)."`
}

func readDestinations(s destinations.EngineStats) destinationsView {
	v := destinationsView{EngineStats: s}
	if all := s.DNS.Hits + s.DNS.FallbackHits + s.DNS.Misses; all > 0 {
		v.HitRatio = float64(s.DNS.Hits+s.DNS.FallbackHits) / float64(all)
	}
	return v
}

var ruleTags = metrics.Tags{
	"Rules.ID":                `label:"rule"`,
	"Rules.Severity":          `label:"severity"`,
	"Rules.Fired":             `metric:"tapdlp_rules_fired_total" help:"Flows a rule fired on."`,
	"Rules.Alerts":            `metric:"tapdlp_rules_alerts_total" help:"Alerts emitted, by rule and severity."`,
	"Rules.Suppressed":        `metric:"tapdlp_rules_suppressed_total" help:"Rule firings folded into an earlier alert by de-duplication."`,
	"Dedup.Keys":              `metric:"tapdlp_rules_dedup_keys" help:"Keys held by the alert de-duplicator."`,
	"Dedup.Evicted":           `metric:"tapdlp_rules_dedup_evicted_total" help:"De-duplication keys dropped at the key cap."`,
	"Dedup.EvictedSuppressed": `metric:"tapdlp_rules_dedup_evicted_suppressed_total" help:"Folded firings lost with evicted de-duplication keys."`,
	"Volume.Keys":             `metric:"tapdlp_rules_volume_keys" help:"Keys held by the volume baselines."`,
	"Volume.Evicted":          `metric:"tapdlp_rules_volume_evicted_total" help:"Volume keys dropped at the key cap."`,
	"Volume.LateBytes":        `metric:"tapdlp_rules_volume_late_bytes_total" help:"Bytes older than the volume rings, not counted."`,
	"Volume.FlowKeys":         `metric:"tapdlp_rules_flow_count_keys" help:"Rule and key pairs held by flow-count thresholds (threshold.flows)."`,
	"Volume.FlowEvicted":      `metric:"tapdlp_rules_flow_count_evicted_total" help:"Flow-count threshold keys dropped at the key cap."`,
}

// sinksView is every configured sink's counters, and the records no sink
// took.
type sinksView struct {
	Sinks    []sinkRow
	Unrouted uint64 `metric:"tapdlp_sink_records_unrouted_total" help:"Records whose type no sink subscribed to (dropped as configured)."`
}

type sinkRow struct {
	Name  string `label:"sink"`
	Stats *sinks.Stats
	Drops []dropRow
}

type dropRow struct {
	Reason string `label:"reason"`
	N      uint64 `metric:"tapdlp_sink_records_dropped_total" help:"Records a sink gave up on, per sink and reason."`
}

func readSinks(r *sinks.Router, names []string) sinksView {
	v := sinksView{Unrouted: r.Unrouted()}
	for _, n := range names {
		st := r.Stats(n)
		if st == nil {
			continue
		}
		row := sinkRow{Name: n, Stats: st}
		for d := sinks.DropReason(0); d.String() != "unknown"; d++ {
			row.Drops = append(row.Drops, dropRow{d.String(), st.Dropped(d)})
		}
		v.Sinks = append(v.Sinks, row)
	}
	return v
}

var sinkTags = metrics.Tags{
	"Sinks.Stats.Written":      `metric:"tapdlp_sink_records_written_total" help:"Records delivered (acknowledged where the protocol allows), per sink."`,
	"Sinks.Stats.Failed":       `metric:"tapdlp_sink_records_failed_total" help:"Record delivery attempts that failed (retried, not lost), per sink."`,
	"Sinks.Stats.Spooled":      `metric:"tapdlp_sink_records_spooled_total" help:"Records written to the on-disk spool, per sink."`,
	"Sinks.Stats.Reconnects":   `metric:"tapdlp_sink_reconnects_total" help:"Network connections re-established after the first, per sink."`,
	"Sinks.Stats.Rotations":    `metric:"tapdlp_sink_rotations_total" help:"File rotations, per sink."`,
	"Sinks.Stats.SpoolCorrupt": `metric:"tapdlp_sink_spool_corrupt_segments_total" help:"Spool segments found torn or corrupt (their rest is skipped), per sink."`,
	"Sinks.Stats.SpoolBytes":   `metric:"tapdlp_sink_spool_bytes" help:"Bytes currently held in a sink's spool."`,
	"Sinks.Stats.QueueLen":     `metric:"tapdlp_sink_queue_length" help:"Records currently in a sink's memory queue."`,
}

// sinkNames returns the configured sink names (the router's labels).
func sinkNames(o config.Outputs) []string {
	var names []string
	for _, s := range o.Sinks {
		names = append(names, s.Name)
	}
	return names
}

// BuildInfo names the running binary (tapdlp_build_info).
type BuildInfo struct{ Version, Commit string }

type buildView struct{ Info []buildRow }

type buildRow struct {
	Version string `label:"version"`
	Commit  string `label:"commit"`
	One     uint64 `metric:"tapdlp_build_info" help:"Always 1; its labels name the running binary's version and commit."`
}

// reloadStats counts configuration reloads (SIGHUP).
type reloadStats struct {
	success, failure atomic.Uint64
	last             atomic.Int64 // Unix seconds of the last successful reload; 0: none
	lastOK           atomic.Bool
}

func newReloadStats() *reloadStats {
	r := new(reloadStats)
	r.lastOK.Store(true) // the start-up configuration is in force
	return r
}

func (r *reloadStats) record(err error, now time.Time) {
	if err != nil {
		r.failure.Add(1)
		r.lastOK.Store(false)
		return
	}
	r.success.Add(1)
	r.last.Store(now.Unix())
	r.lastOK.Store(true)
}

type reloadView struct {
	Results []reloadRow
	Last    int64  `metric:"tapdlp_config_last_reload_success_timestamp_seconds" help:"Unix time of the last successful configuration reload (0: none since start)."`
	LastOK  uint64 `metric:"tapdlp_config_last_reload_successful" help:"1 if the last configuration reload succeeded (or none was attempted), 0 if it was rejected and the previous configuration stays in force."`
}

type reloadRow struct {
	Result string `label:"result"`
	N      uint64 `metric:"tapdlp_config_reloads_total" help:"Configuration reloads (SIGHUP) by result: success, or failure (the previous configuration stays in force)."`
}

func (r *reloadStats) view() reloadView {
	ok := uint64(0)
	if r.lastOK.Load() {
		ok = 1
	}
	return reloadView{
		Results: []reloadRow{{"success", r.success.Load()}, {"failure", r.failure.Load()}},
		Last:    r.last.Load(), LastOK: ok,
	}
}

// ruleCarry keeps per-rule counters across reloads: a reload compiles a new
// rules engine with fresh counters, so the counts of the engine it replaced
// are carried and added to the new one's (by rule id and severity); a rule
// a reload removed keeps its series with its final counts. Scrapes are
// serialised by the registry.
type ruleCarry struct {
	eng   *rules.Engine
	carry map[[2]string]rules.RuleStats
	order [][2]string
}

func (c *ruleCarry) reader(current func() *rules.Engine) func() rules.Stats {
	return func() rules.Stats {
		eng := current()
		if c.eng != nil && eng != c.eng { // replaced since the last scrape
			if c.carry == nil {
				c.carry = make(map[[2]string]rules.RuleStats)
			}
			for _, r := range c.eng.Stats().Rules {
				k := [2]string{r.ID, r.Severity}
				old, ok := c.carry[k]
				if !ok {
					c.order = append(c.order, k)
				}
				old.ID, old.Severity = r.ID, r.Severity
				old.Fired += r.Fired
				old.Alerts += r.Alerts
				old.Suppressed += r.Suppressed
				c.carry[k] = old
			}
		}
		c.eng = eng
		st := eng.Stats()
		if len(c.carry) == 0 {
			return st
		}
		seen := make(map[[2]string]bool, len(st.Rules))
		for i := range st.Rules {
			r := &st.Rules[i]
			k := [2]string{r.ID, r.Severity}
			seen[k] = true
			if old, ok := c.carry[k]; ok {
				r.Fired += old.Fired
				r.Alerts += old.Alerts
				r.Suppressed += old.Suppressed
			}
		}
		for _, k := range c.order {
			if !seen[k] {
				st.Rules = append(st.Rules, c.carry[k])
			}
		}
		return st
	}
}

var demuxTags = metrics.Tags{
	"DecidedByBound": `metric:"tapdlp_demux_decided_total" label:"reason=bound" help:"TCP directions whose protocol was decided before a sniffer could tell, by reason (bound: the undecided prefix reached its byte bound; end: the flow ended or lost bytes first)."`,
	"DecidedAtEnd":   `metric:"tapdlp_demux_decided_total" label:"reason=end"`,
	"NamesEvicted":   `metric:"tapdlp_demux_names_evicted_total" help:"Names (SNI, Host, User-Agent, DNS) and JA4 fingerprints a worker's bounded caches replaced with another; a high rate means they do not repeat and each costs an allocation or a recomputation."`,
}

// parsersView holds the HTTP/2, WebSocket, gRPC and SSE counters, with the
// per-reason stop counters as labelled rows.
type parsersView struct {
	*demux.ParserStats
	H2Stops []h2StopRow
	WSStops []wsStopRow
}

type h2StopRow struct {
	Reason string `label:"reason"`
	N      uint64 `metric:"tapdlp_http2_stops_total" help:"HTTP/2 parsers that stopped on a connection direction, by reason."`
}

type wsStopRow struct {
	Reason string `label:"reason"`
	N      uint64 `metric:"tapdlp_websocket_stops_total" help:"WebSocket parsers that stopped on a direction, by reason."`
}

func readParsers(ps *demux.ParserStats) parsersView {
	v := parsersView{ParserStats: ps}
	for r := http2.ReasonNone + 1; int(r) < len(ps.HTTP2.Stops); r++ {
		v.H2Stops = append(v.H2Stops, h2StopRow{r.String(), ps.HTTP2.Stops[r].Load()})
	}
	for r := websocket.ReasonNone + 1; int(r) < len(ps.WebSocket.Stops); r++ {
		v.WSStops = append(v.WSStops, wsStopRow{r.String(), ps.WebSocket.Stops[r].Load()})
	}
	return v
}

var parserTags = metrics.Tags{
	"ParserStats.HTTP2.Frames":         `metric:"tapdlp_http2_frames_total" help:"HTTP/2 frame headers parsed."`,
	"ParserStats.HTTP2.Streams":        `metric:"tapdlp_http2_streams_total" help:"HTTP/2 streams opened (requests and server pushes)."`,
	"ParserStats.HTTP2.StreamsEvicted": `metric:"tapdlp_http2_streams_evicted_total" help:"HTTP/2 streams dropped because the per-connection stream bound was reached (least recently active first)."`,
	"ParserStats.HTTP2.StreamsUnknown": `metric:"tapdlp_http2_frames_unknown_stream_total" help:"HTTP/2 frames for streams not tracked (evicted, closed or never opened)."`,
	"ParserStats.HTTP2.HeaderListsCut": `metric:"tapdlp_http2_header_lists_cut_total" help:"HTTP/2 header blocks whose decoded list passed the header-list bound (HPACK bombs)."`,
	"ParserStats.HTTP2.TableCapped":    `metric:"tapdlp_http2_table_size_capped_total" help:"SETTINGS_HEADER_TABLE_SIZE values above the sensor's own HPACK table cap."`,
	"ParserStats.HTTP2.Resets":         `metric:"tapdlp_http2_resets_total" help:"HTTP/2 RST_STREAM frames."`,
	"ParserStats.HTTP2.GoAways":        `metric:"tapdlp_http2_goaways_total" help:"HTTP/2 GOAWAY frames."`,
	"ParserStats.HTTP2.Pushes":         `metric:"tapdlp_http2_pushes_total" help:"HTTP/2 PUSH_PROMISE frames."`,
	"ParserStats.HTTP2.Stops":          `metric:"-"`, // as H2Stops rows, labelled
	"ParserStats.HTTP2.Truncated":      `metric:"tapdlp_http2_bodies_truncated_total" help:"HTTP/2 bodies whose decoded output hit the decoded-size cap."`,
	"ParserStats.HTTP2.Bombs":          `metric:"tapdlp_http2_decompression_bombs_total" help:"HTTP/2 bodies cut at the decode budget at a ratio above 100:1 (decompression bombs)."`,
	"ParserStats.HTTP2.Undecoded":      `metric:"tapdlp_http2_bodies_undecoded_total" help:"HTTP/2 bodies delivered coded because their content coding is unknown."`,
	"ParserStats.HTTP2.DecodeErrors":   `metric:"tapdlp_http2_decode_errors_total" help:"Corrupt or cut coded HTTP/2 bodies."`,
	"ParserStats.HTTP2.Gaps":           `metric:"tapdlp_http2_gaps_total" help:"Holes skipped inside HTTP/2 DATA payloads."`,

	"ParserStats.WebSocket.Frames":       `metric:"tapdlp_websocket_frames_total" help:"WebSocket frames parsed."`,
	"ParserStats.WebSocket.Messages":     `metric:"tapdlp_websocket_messages_total" help:"WebSocket data messages delivered for inspection."`,
	"ParserStats.WebSocket.Control":      `metric:"tapdlp_websocket_control_frames_total" help:"WebSocket control frames (close, ping, pong)."`,
	"ParserStats.WebSocket.Truncated":    `metric:"tapdlp_websocket_messages_truncated_total" help:"WebSocket messages cut at the decoding budget (inspection.inspect_bytes per message)."`,
	"ParserStats.WebSocket.Bombs":        `metric:"tapdlp_websocket_decompression_bombs_total" help:"WebSocket messages beyond the decoding budget whose inflation was stopped at a ratio above 100:1 (decompression bombs)."`,
	"ParserStats.WebSocket.Undecoded":    `metric:"tapdlp_websocket_messages_undecoded_total" help:"WebSocket messages delivered compressed (no usable permessage-deflate state)."`,
	"ParserStats.WebSocket.DecodeErrors": `metric:"tapdlp_websocket_decode_errors_total" help:"Corrupt permessage-deflate WebSocket messages."`,
	"ParserStats.WebSocket.Gaps":         `metric:"tapdlp_websocket_gaps_total" help:"Holes in WebSocket streams."`,
	"ParserStats.WebSocket.Stops":        `metric:"-"`, // as WSStops rows, labelled

	"ParserStats.GRPC.Messages":     `metric:"tapdlp_grpc_messages_total" help:"gRPC messages split from HTTP/2 DATA and walked."`,
	"ParserStats.GRPC.Truncated":    `metric:"tapdlp_grpc_messages_truncated_total" help:"gRPC messages cut at the decoding budget (inspection.inspect_bytes per message)."`,
	"ParserStats.GRPC.Bombs":        `metric:"tapdlp_grpc_decompression_bombs_total" help:"gRPC messages cut at the decoding budget at a decompression ratio above 100:1 (decompression bombs)."`,
	"ParserStats.GRPC.Undecoded":    `metric:"tapdlp_grpc_messages_undecoded_total" help:"gRPC messages left compressed (unknown grpc-encoding)."`,
	"ParserStats.GRPC.DecodeErrors": `metric:"tapdlp_grpc_decode_errors_total" help:"Corrupt compressed gRPC messages."`,
	"ParserStats.GRPC.Incomplete":   `metric:"tapdlp_grpc_messages_incomplete_total" help:"gRPC messages cut by the end of their stream."`,

	"ParserStats.SSE.Events":     `metric:"tapdlp_sse_events_total" help:"Server-sent events delivered for inspection."`,
	"ParserStats.SSE.Truncated":  `metric:"tapdlp_sse_events_truncated_total" help:"Server-sent events cut at the event-size bound."`,
	"ParserStats.SSE.LinesSkip":  `metric:"tapdlp_sse_lines_skipped_total" help:"Server-sent-event lines skipped (comments, unknown fields, over-long names)."`,
	"ParserStats.SSE.Incomplete": `metric:"tapdlp_sse_events_incomplete_total" help:"Server-sent events cut by the end of their stream."`,
}
