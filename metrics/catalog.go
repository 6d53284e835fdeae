package metrics

// kind is a metric family's Prometheus type.
type kind string

const (
	counter   kind = "counter"
	gauge     kind = "gauge"
	histogram kind = "histogram"
)

// family is one metric family: its name, type, help text and the names of
// its labels. The catalog below is the single list of what this package may
// write; the exposition writer only takes a *family, so a metric cannot be
// exported without an entry here, and METRICS.md is generated from it.
type family struct {
	name   string
	typ    kind
	labels []string
	help   string
	source string // the Sources field (or Registry part) it is read from
}

func def(name string, typ kind, source, help string, labels ...string) *family {
	return &family{name: name, typ: typ, labels: labels, help: help, source: source}
}

// Capture: frames read, and the kernel's view of the live sockets.
var (
	famCapturePackets     = def("tapdlp_capture_packets_total", counter, "Pipeline", "Frames read from every capture source (files or sockets).")
	famCaptureBytes       = def("tapdlp_capture_bytes_total", counter, "Pipeline", "Frame bytes read from every capture source, as on the wire.")
	famCaptureFiltered    = def("tapdlp_capture_filtered_total", counter, "Pipeline", "Frames the capture filter expression rejected (counted, not decoded).")
	famIfacePackets       = def("tapdlp_capture_interface_packets_total", counter, "Interfaces", "Frames the sensor read from an interface.", "interface")
	famIfaceBytes         = def("tapdlp_capture_interface_bytes_total", counter, "Interfaces", "Frame bytes (as on the wire) the sensor read from an interface.", "interface")
	famKernelPackets      = def("tapdlp_capture_kernel_packets_total", counter, "Kernel", "Frames the kernel passed to the AF_PACKET sockets of an interface (dropped ones included).", "interface")
	famKernelDrops        = def("tapdlp_capture_kernel_drops_total", counter, "Kernel", "Frames the kernel dropped because an interface's ring was full.", "interface")
	famKernelFreezes      = def("tapdlp_capture_kernel_freezes_total", counter, "Kernel", "Times the kernel froze an interface's ring queue because it was full.", "interface")
	famKernelStale        = def("tapdlp_capture_startup_discarded_total", counter, "Kernel", "Frames discarded at start-up because they were queued before the fanout group applied.", "interface")
	famKernelReasmFails   = def("tapdlp_capture_kernel_reassembly_failures_total", counter, "Kernel", "IP datagrams the kernel's reassembly in the sensor's network namespace gave up on (memory full, overlap, timeout), by family (kind) and reason: with kernel defragmentation their fragments never reach the sensor.", "kind", "reason")
	famKernelStatErrors   = def("tapdlp_capture_kernel_stats_errors_total", counter, "Kernel", "Scrapes on which reading the kernel socket statistics failed (the last values read are exported).")
	famLiveReaderStalls   = def("tapdlp_capture_reader_stalls_total", counter, "Live", "Times a socket reader waited for a free batch because the merger or the workers were behind.")
	famLiveLatePackets    = def("tapdlp_capture_late_packets_total", counter, "Live", "Packets older than the merged packet clock when released (out of order across sockets).")
	famLiveInnerVLANs     = def("tapdlp_capture_inner_vlans_dropped_total", counter, "Live", "Inner VLAN ids dropped to make room for the kernel-stripped outer tag.")
	famLiveReadErrors     = def("tapdlp_capture_read_errors_total", counter, "Live", "Socket read errors other than the idle timeout.")
	famPipelineRecords    = def("tapdlp_pipeline_records_total", counter, "Pipeline", "Flow records handed to the sinks (final and interim).")
	famPipelineRecordErrs = def("tapdlp_pipeline_record_errors_total", counter, "Pipeline", "Records that could not be encoded or that the sink refused.")
	famPipelinePanics     = def("tapdlp_pipeline_worker_panics_total", counter, "Pipeline", "Packets dropped because a worker recovered from a panic (a bug: report it).")
	famLatency            = def("tapdlp_pipeline_packet_latency_seconds", histogram, "Latency", "Sampled wall-clock time from the dispatcher reading a packet to its worker finishing it (Prometheus le buckets).")
	famLatencyVM          = def("tapdlp_pipeline_packet_latency_vm_seconds", histogram, "Latency", "The same samples as tapdlp_pipeline_packet_latency_seconds, in VictoriaMetrics vmrange buckets (finer, log-spaced).")
)

// Decode: what the frame decoder made of each frame.
var (
	famDecodeFrames           = def("tapdlp_decode_frames_total", counter, "Decode", "Frames by decode result (ok, not_ip, fragment and the error reasons).", "result")
	famDecodeErrors           = def("tapdlp_decode_errors_total", counter, "Decode", "Frames that could not be decoded, by reason (the error subset of tapdlp_decode_frames_total).", "reason")
	famDecodeDecaps           = def("tapdlp_decode_tunnel_decaps_total", counter, "Decode", "Encapsulations removed, by tunnel type.", "type")
	famDecodeExtraVLANs       = def("tapdlp_decode_extra_vlans_total", counter, "Decode", "VLAN tags seen beyond the ones a packet keeps.")
	famDecodeBadChecksums     = def("tapdlp_decode_bad_checksums_total", counter, "Decode", "Checksums that failed, by header kind (dropped, or in checksum mode auto judged by the flow table).", "kind")
	famDecodeChecksumOffload  = def("tapdlp_decode_checksum_offload_total", counter, "Decode", "TCP/UDP checksums holding only the pseudo-header sum (captured before checksum offload), left unjudged in checksum mode auto.")
	famDefragHeld             = def("tapdlp_decode_defrag_fragments_held_total", counter, "Decode", "IP fragments accepted and held for reassembly.")
	famDefragReassembled      = def("tapdlp_decode_defrag_datagrams_reassembled_total", counter, "Decode", "IP datagrams completed from fragments.")
	famDefragOverlaps         = def("tapdlp_decode_defrag_overlaps_total", counter, "Decode", "IP fragments overlapping data already held (the first data wins).")
	famDefragConflicts        = def("tapdlp_decode_defrag_conflicts_total", counter, "Decode", "Overlapping IP fragments whose bytes differed from what was held.")
	famDefragDuplicates       = def("tapdlp_decode_defrag_duplicates_total", counter, "Decode", "IP fragments entirely covered by data already held.")
	famDefragFragsDropped     = def("tapdlp_decode_defrag_fragments_dropped_total", counter, "Decode", "IP fragments the defragmenter dropped, by reason.", "reason")
	famDefragDatagramsDropped = def("tapdlp_decode_defrag_datagrams_dropped_total", counter, "Decode", "Incomplete IP datagrams the defragmenter dropped, by reason.", "reason")
)

// Flows and reassembly.
var (
	famFlowsActive        = def("tapdlp_flows_active", gauge, "Flows", "Flows currently held in the flow tables.")
	famFlowsCreated       = def("tapdlp_flows_created_total", counter, "Flows", "Flows created in the flow tables.")
	famFlowsExpired       = def("tapdlp_flows_expired_total", counter, "Flows", "Flows ended with a final record, by reason.", "reason")
	famFlowsReused        = def("tapdlp_flows_reused_total", counter, "Flows", "Closed flows ended early by a new SYN on their tuple (also counted in tapdlp_flows_expired_total).")
	famFlowsContinued     = def("tapdlp_flows_continued_total", counter, "Flows", "TCP flows picked up mid-stream that continue a flow ended by idle timeout (same tuple, sequence numbers carry on).")
	famFlowsInterim       = def("tapdlp_flows_interim_records_total", counter, "Flows", "Interim records of long-lived flows (active timeout).")
	famFlowsDeclined      = def("tapdlp_flows_streams_declined_total", counter, "Flows", "Flows whose payload no consumer wanted.")
	famReasmMemory        = def("tapdlp_reassembly_memory_bytes", gauge, "Memory", "Out-of-order bytes currently buffered by all flow tables.")
	famReasmMemoryLimit   = def("tapdlp_reassembly_memory_limit_bytes", gauge, "Memory", "The global reassembly memcap.")
	famReasmOOOBuffered   = def("tapdlp_reassembly_ooo_buffered_bytes_total", counter, "Flows", "Out-of-order payload bytes buffered.")
	famReasmOOODropped    = def("tapdlp_reassembly_ooo_dropped_bytes_total", counter, "Flows", "Out-of-order payload bytes dropped at the global memcap.")
	famReasmMemcapDrops   = def("tapdlp_reassembly_memcap_drops_total", counter, "Flows", "Out-of-order segments dropped at the global memcap.")
	famReasmGaps          = def("tapdlp_reassembly_gaps_total", counter, "Flows", "Stream holes skipped, by reason (cap: a memcap; ack: the peer acknowledged past it; end: the flow ended).", "reason")
	famReasmMissed        = def("tapdlp_reassembly_missed_bytes_total", counter, "Flows", "TCP payload bytes never delivered (capture loss or given up at a memcap).")
	famReasmOverlap       = def("tapdlp_reassembly_overlap_bytes_total", counter, "Flows", "Overlapping TCP bytes whose content differed (the first data wins).")
	famReasmOverlapEvents = def("tapdlp_reassembly_overlap_events_total", counter, "Flows", "Retransmissions whose bytes differed from the first copy (delivered or buffered); both copies go to the consumer.")
	famReasmUnchecked     = def("tapdlp_reassembly_overlap_unchecked_bytes_total", counter, "Flows", "Retransmitted, unacknowledged bytes no longer kept for comparison: delivered to the consumer unchecked.")
	famReasmBadChecksum   = def("tapdlp_reassembly_bad_checksum_packets_total", counter, "Flows", "Packets with a failed checksum, by result (dropped: their direction had good checksums; kept: it never had).", "result")
	famReasmRST           = def("tapdlp_reassembly_rsts_total", counter, "Flows", "TCP RSTs by the receiving host's verdict (accepted; challenged: in window, wrong sequence number; out_of_window).", "result")
	famReasmSynData       = def("tapdlp_reassembly_syn_data_bytes_total", counter, "Flows", "Payload bytes carried on SYNs, by result (accepted: the peer acknowledged them; ignored).", "result")
	famReasmDepthReached  = def("tapdlp_reassembly_depth_reached_total", counter, "Flows", "Flow directions that reached the reassembly inspect depth.")
	famHTTPRequests       = def("tapdlp_http_requests_total", counter, "HTTP", "HTTP request heads parsed.")
	famHTTPResponses      = def("tapdlp_http_responses_total", counter, "HTTP", "HTTP response heads parsed (1xx included).")
	famHTTPStops          = def("tapdlp_http_stops_total", counter, "HTTP", "HTTP parsers that stopped on a connection, by reason.", "reason")
	famHTTPTruncated      = def("tapdlp_http_bodies_truncated_total", counter, "HTTP", "HTTP bodies whose decoded output hit the decoded-size cap.")
	famHTTPBombs          = def("tapdlp_http_decompression_bombs_total", counter, "HTTP", "HTTP bodies stopped by the decompression-ratio check.")
	famHTTPUndecoded      = def("tapdlp_http_bodies_undecoded_total", counter, "HTTP", "HTTP bodies delivered raw because their content coding is unknown.")
	famHTTPDecodeErrors   = def("tapdlp_http_decode_errors_total", counter, "HTTP", "Corrupt or cut coded HTTP bodies.")
	famHTTPPairingDropped = def("tapdlp_http_pairing_dropped_total", counter, "HTTP", "HTTP requests forgotten because the request/response pairing was full.")
)

// Content inspection.
var (
	famInspectedBytes  = def("tapdlp_classify_inspected_bytes_total", counter, "Classify", "Decoded plaintext bytes scanned by the content detectors.")
	famInspectTrunc    = def("tapdlp_classify_truncated_inspections_total", counter, "Classify", "Flow directions whose scan stopped at the inspect_bytes cap.")
	famEvidenceDropped = def("tapdlp_classify_evidence_dropped_total", counter, "Classify", "Evidence or hash values not kept in a record because of the per-record caps.")
	famDetections      = def("tapdlp_classify_detections_total", counter, "Classify", "Sensitive-data detections, by detection type and class.", "type", "class")
)

// Destinations: DNS cache, first-seen tracker, catalogs.
var (
	famDNSEntries       = def("tapdlp_dns_cache_entries", gauge, "Destinations", "(client, address) entries in the DNS answer cache.")
	famDNSAddrEntries   = def("tapdlp_dns_cache_address_entries", gauge, "Destinations", "Per-address entries in the DNS answer cache.")
	famDNSLookups       = def("tapdlp_dns_cache_lookups_total", counter, "Destinations", "DNS cache lookups, by result (hit: the client's own answer; fallback_hit: another client's; miss).", "result")
	famDNSHitRatio      = def("tapdlp_dns_cache_hit_ratio", gauge, "Destinations", "Share of DNS cache lookups answered (hits and fallback hits over all lookups; 0 before the first).")
	famDNSEvictions     = def("tapdlp_dns_cache_evictions_total", counter, "Destinations", "DNS cache entries dropped by the size bound.")
	famDNSExpired       = def("tapdlp_dns_cache_expired_total", counter, "Destinations", "DNS cache entries found past their TTL.")
	famDNSRejected      = def("tapdlp_dns_cache_rejected_answers_total", counter, "Destinations", "DNS answers not cached (invalid name or no address).")
	famFirstSeenEntries = def("tapdlp_destinations_first_seen_entries", gauge, "Destinations", "Destinations held by the first-seen tracker.")
	famFirstSeenLoaded  = def("tapdlp_destinations_first_seen_loaded", gauge, "Destinations", "First-seen entries read from the state file at start.")
	famFirstSeenNew     = def("tapdlp_destinations_first_seen_new_total", counter, "Destinations", "Destinations seen for the first time.")
	famFirstSeenEvicted = def("tapdlp_destinations_first_seen_evictions_total", counter, "Destinations", "First-seen entries dropped by the size bound.")
	famDestReloads      = def("tapdlp_destinations_reloads_total", counter, "Destinations", "Successful reloads of the destination catalogs.")
	famDestCatalog      = def("tapdlp_destinations_catalog_entries", gauge, "Destinations", "Entries in the destination name catalog.")
	famDestRanges       = def("tapdlp_destinations_range_entries", gauge, "Destinations", "Entries in the destination address-range catalog.")
	famDestIOCs         = def("tapdlp_destinations_ioc_entries", gauge, "Destinations", "Indicators of compromise loaded, by kind.", "kind")
)

// Rules and alerts.
var (
	famRuleFired        = def("tapdlp_rules_fired_total", counter, "Rules", "Flows a rule fired on.", "rule", "severity")
	famRuleAlerts       = def("tapdlp_rules_alerts_total", counter, "Rules", "Alerts emitted, by rule and severity.", "rule", "severity")
	famRuleSuppressed   = def("tapdlp_rules_suppressed_total", counter, "Rules", "Rule firings folded into an earlier alert by de-duplication.", "rule", "severity")
	famDedupKeys        = def("tapdlp_rules_dedup_keys", gauge, "Rules", "Keys held by the alert de-duplicator.")
	famDedupEvicted     = def("tapdlp_rules_dedup_evicted_total", counter, "Rules", "De-duplication keys dropped at the key cap.")
	famDedupEvictedSupp = def("tapdlp_rules_dedup_evicted_suppressed_total", counter, "Rules", "Folded firings lost with evicted de-duplication keys.")
	famVolumeKeys       = def("tapdlp_rules_volume_keys", gauge, "Rules", "Keys held by the volume baselines.")
	famVolumeEvicted    = def("tapdlp_rules_volume_evicted_total", counter, "Rules", "Volume keys dropped at the key cap.")
	famVolumeLateBytes  = def("tapdlp_rules_volume_late_bytes_total", counter, "Rules", "Bytes older than the volume rings, not counted.")
)

// Record sinks.
var (
	famSinkUnrouted   = def("tapdlp_sink_records_unrouted_total", counter, "Sinks", "Records whose type no sink subscribed to (dropped as configured).")
	famSinkWritten    = def("tapdlp_sink_records_written_total", counter, "Sinks", "Records delivered (acknowledged where the protocol allows), per sink.", "sink")
	famSinkFailed     = def("tapdlp_sink_records_failed_total", counter, "Sinks", "Record delivery attempts that failed (retried, not lost), per sink.", "sink")
	famSinkSpooled    = def("tapdlp_sink_records_spooled_total", counter, "Sinks", "Records written to the on-disk spool, per sink.", "sink")
	famSinkDropped    = def("tapdlp_sink_records_dropped_total", counter, "Sinks", "Records a sink gave up on, per sink and reason.", "sink", "reason")
	famSinkReconnects = def("tapdlp_sink_reconnects_total", counter, "Sinks", "Network connections re-established after the first, per sink.", "sink")
	famSinkRotations  = def("tapdlp_sink_rotations_total", counter, "Sinks", "File rotations, per sink.", "sink")
	famSinkCorrupt    = def("tapdlp_sink_spool_corrupt_segments_total", counter, "Sinks", "Spool segments found torn or corrupt (their rest is skipped), per sink.", "sink")
	famSinkSpoolBytes = def("tapdlp_sink_spool_bytes", gauge, "Sinks", "Bytes currently held in a sink's spool.", "sink")
	famSinkQueueLen   = def("tapdlp_sink_queue_length", gauge, "Sinks", "Records currently in a sink's memory queue.", "sink")
)

// families is the catalog, in exposition order.
var families = []*family{
	famCapturePackets, famCaptureBytes, famCaptureFiltered, famIfacePackets, famIfaceBytes,
	famKernelPackets, famKernelDrops, famKernelFreezes, famKernelStale, famKernelReasmFails, famKernelStatErrors,
	famLiveReaderStalls, famLiveLatePackets, famLiveInnerVLANs, famLiveReadErrors,
	famPipelineRecords, famPipelineRecordErrs, famPipelinePanics,
	famDecodeFrames, famDecodeErrors, famDecodeDecaps, famDecodeExtraVLANs, famDecodeBadChecksums, famDecodeChecksumOffload,
	famDefragHeld, famDefragReassembled, famDefragOverlaps, famDefragConflicts, famDefragDuplicates,
	famDefragFragsDropped, famDefragDatagramsDropped,
	famFlowsActive, famFlowsCreated, famFlowsExpired, famFlowsReused, famFlowsContinued, famFlowsInterim, famFlowsDeclined,
	famReasmOOOBuffered, famReasmOOODropped, famReasmMemcapDrops, famReasmGaps, famReasmMissed, famReasmOverlap,
	famReasmOverlapEvents, famReasmUnchecked, famReasmBadChecksum, famReasmRST, famReasmSynData, famReasmDepthReached,
	famReasmMemory, famReasmMemoryLimit,
	famHTTPRequests, famHTTPResponses, famHTTPStops, famHTTPTruncated, famHTTPBombs, famHTTPUndecoded, famHTTPDecodeErrors, famHTTPPairingDropped,
	famInspectedBytes, famInspectTrunc, famEvidenceDropped, famDetections,
	famDNSEntries, famDNSAddrEntries, famDNSLookups, famDNSHitRatio, famDNSEvictions, famDNSExpired, famDNSRejected,
	famFirstSeenEntries, famFirstSeenLoaded, famFirstSeenNew, famFirstSeenEvicted,
	famDestReloads, famDestCatalog, famDestRanges, famDestIOCs,
	famRuleFired, famRuleAlerts, famRuleSuppressed,
	famDedupKeys, famDedupEvicted, famDedupEvictedSupp, famVolumeKeys, famVolumeEvicted, famVolumeLateBytes,
	famSinkWritten, famSinkFailed, famSinkSpooled, famSinkDropped, famSinkReconnects, famSinkRotations, famSinkCorrupt,
	famSinkSpoolBytes, famSinkQueueLen, famSinkUnrouted,
	famLatency, famLatencyVM,
}

// byName finds a catalog family; stages that hand out ready-made metric
// names (httpparse.Stats.Each) are matched against it.
var byName = func() map[string]*family {
	m := make(map[string]*family, len(families))
	for _, f := range families {
		m[f.name] = f
	}
	return m
}()
