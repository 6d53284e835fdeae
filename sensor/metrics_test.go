package sensor

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"github.com/tapdlp/tapdlp/appproto/demux"
	"github.com/tapdlp/tapdlp/appproto/tlsdecrypt"
	"io"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	httpparse "github.com/tapdlp/tapdlp/appproto/http"
	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/destinations"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/promtext"
	"github.com/tapdlp/tapdlp/metrics"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/pcaplog"
	"github.com/tapdlp/tapdlp/record/sinks"
	"github.com/tapdlp/tapdlp/rules"
)

var update = flag.Bool("update", false, "rewrite metrics/METRICS.md from the catalog")

// fullSources returns every source with distinct known values, so a scrape
// exercises every family and a wrong mapping shows up as a wrong number.
func fullSources() sources {
	ps := new(pipeline.Stats)
	ps.Packets.Store(1000)
	ps.WireBytes.Store(640000)
	ps.Filtered.Store(20)
	ps.Records.Store(42)
	ps.Flows.Store(40)
	ps.WorkerPanics.Store(1)
	ps.RecordErrors.Store(2)

	// DecodeStats' per-result counters are only moved by decoding, so the
	// fixture decodes real frames: two good ones and a truncated one.
	ds := new(capture.DecodeStats)
	dec := capture.NewDecoder(capture.DecoderConfig{}, ds)
	var p capture.Packet
	cli, srv := netip.MustParseAddrPort("192.0.2.1:1234"), netip.MustParseAddrPort("198.51.100.2:80")
	tcp := pcapgen.IPTCP(cli, srv, 1, 0, pcapgen.SYN, nil)
	vxlan := pcapgen.IPUDP(netip.MustParseAddrPort("192.0.2.9:5555"), netip.MustParseAddrPort("192.0.2.10:4789"),
		pcapgen.VXLAN(7, pcapgen.EthernetIP(tcp)))
	m := capture.Meta{LinkType: capture.LinkEthernet}
	dec.Decode(pcapgen.EthernetIP(tcp), m, &p)
	dec.Decode(pcapgen.EthernetIP(tcp), m, &p)
	dec.Decode(pcapgen.EthernetIP(vxlan), m, &p)
	dec.Decode(pcapgen.EthernetIP(tcp)[:20], m, &p)
	ds.Defrag.Held.Store(7)
	ds.Defrag.Reassembled.Store(3)
	ds.Defrag.Overlaps.Store(5)
	ds.Defrag.Conflicts.Store(4)
	ds.Defrag.Duplicates.Store(2)
	ds.Defrag.Malformed.Store(11)
	ds.Defrag.TruncatedDropped.Store(12)
	ds.Defrag.TruncatedFirst.Store(16)
	ds.Defrag.TooMany.Store(13)
	ds.Defrag.Timeouts.Store(14)
	ds.Defrag.Evicted.Store(15)

	fs := new(reassembly.Stats)
	fs.FlowsOpen.Store(5)
	fs.FlowsCreated.Store(45)
	fs.FlowsTimeout.Store(10)
	fs.FlowsClosed.Store(20)
	fs.FlowsReset.Store(5)
	fs.FlowsShutdown.Store(3)
	fs.FlowsEvicted.Store(2)
	fs.FlowsReused.Store(1)
	fs.InterimRecords.Store(6)
	fs.StreamsDeclined.Store(8)
	fs.OOOBytesBuffered.Store(4096)
	fs.OOOBytesDropped.Store(512)
	fs.MemcapDrops.Store(9)
	fs.CapGaps.Store(21)
	fs.AckGaps.Store(22)
	fs.EndGaps.Store(23)
	fs.MissedBytes.Store(777)
	fs.OverlapBytes.Store(33)
	fs.DepthReached.Store(17)

	hs := new(httpparse.Stats)
	hs.Requests.Store(30)
	hs.Responses.Store(29)
	hs.Stops[httpparse.ReasonGap].Store(2)
	hs.Truncated.Store(1)
	hs.Bombs.Store(1)
	hs.Undecoded.Store(3)
	hs.DecodeErrors.Store(4)
	hs.PairDropped.Store(5)

	ls := new(pipeline.LiveStats)
	ls.ReaderStalls.Store(3)
	ls.LatePackets.Store(4)
	ls.ExtraVLANs.Store(5)
	ls.ReadErrors.Store(6)

	is := new(pipeline.InspectionStats)
	is.InspectedBytes.Store(123456)
	is.TruncatedInspections.Store(3)
	is.EvidenceDropped.Store(1)

	sinkA, sinkB := new(sinks.Stats), new(sinks.Stats)
	sinkA.Written.Store(40)
	sinkA.Failed.Store(2)
	sinkA.Spooled.Store(7)
	sinkA.Reconnects.Store(1)
	sinkA.Drop(sinks.DropSpoolFull, 3)
	sinkA.SpoolBytes.Store(8192)
	sinkA.QueueLen.Store(12)
	sinkB.Written.Store(42)
	sinkB.Rotations.Store(2)
	router := sinks.NewRouter()
	router.Add("syslog", record.NewWriterSink(io.Discard), sinkA, "alert")
	router.Add("file", record.NewWriterSink(io.Discard), sinkB, "flow", "alert")
	for range 3 {
		_ = router.Write(record.Encoded{Kind: record.KindVolume, JSON: []byte(`{"type":"volume"}`)}) // nobody subscribed: unrouted
	}

	rj := new(pipeline.RejectStats)
	parsers := new(demux.ParserStats)
	parsers.HTTP2.Frames.Store(40)
	parsers.WebSocket.Messages.Store(3)
	parsers.GRPC.Messages.Store(2)
	parsers.SSE.Events.Store(5)
	dm := new(demux.Stats)
	dm.DecidedByBound.Store(1)
	return sources{
		pending:      tlsdecrypt.NewPendingBudget(0),
		tlsOutcomes:  tlsOutcomesFixture(),
		ai:           new(pipeline.AIStats),
		continuation: new(pipeline.ContinuationStats),
		keys:         keyStoreFixture(),
		parsers:      parsers,
		demux:        dm,
		rejects:      rj,
		pipeline:     ps,
		decode:       ds,
		flows:        fs,
		memory:       reassembly.NewMemory(1 << 20),
		http:         hs,
		live: func() liveView {
			return liveView{ls, []pipeline.InterfaceCount{{Name: "eth0", Packets: 880, Bytes: 563200}, {Name: "eth1", Packets: 100, Bytes: 64000}}}
		},
		kernel: func() (live.Stats, error) {
			return live.Stats{Sockets: []live.SocketStats{
				{Interface: "eth0", Socket: 0, Packets: 600, Drops: 5, Freezes: 1, Stale: 2},
				{Interface: "eth0", Socket: 1, Packets: 300, Drops: 4, Freezes: 0, Stale: 1},
				{Interface: "eth1", Socket: 0, Packets: 100, Drops: 0, Freezes: 0, Stale: 0},
			}}, nil
		},
		classify: func() classifyView {
			return classifyView{is, []pipeline.DetectionCount{
				{Type: "credit_card", Class: "PCI", Count: 5},
				{Type: "us_ssn", Class: "PII", Count: 2},
				{Type: "credit_card", Class: "PCI", Count: 1}, // summed with the first
			}, truncationRows()}
		},
		destinations: func() destinations.EngineStats {
			return destinations.EngineStats{
				DNS:       destinations.DNSCacheStats{Size: 50, AddrSize: 40, Hits: 6, FallbackHits: 2, Misses: 2, Evictions: 1, Expired: 3, RejectedAnswer: 4},
				FirstSeen: destinations.FirstSeenStats{Size: 9, Loaded: 5, New: 4, Evictions: 0},
				Reloads:   1, CatalogEntries: 300, RangeEntries: 2000, IOCDomains: 10, IOCPrefixes: 20,
			}
		},
		rules: func() rules.Stats {
			return rules.Stats{
				Rules: []rules.RuleStats{
					{ID: "pii-to-ai", Severity: "high", Fired: 3, Alerts: 2, Suppressed: 1},
					{ID: "secret-upload", Severity: "critical", Fired: 1, Alerts: 1},
				},
				Dedup:  rules.DedupStats{Keys: 4, Evicted: 1, EvictedSuppressed: 2},
				Volume: rules.VolumeStats{Keys: 7, Evicted: 0, LateBytes: 99},
			}
		},
		router: router,
		sinks:  []string{"syslog", "file"},
		build:  &BuildInfo{Version: "v1.2.3", Commit: "0123abc"},
		reloads: func() *reloadStats {
			r := newReloadStats()
			r.record(nil, time.Unix(1_700_000_000, 0))
			r.record(errors.New("bad rule"), time.Unix(1_700_000_100, 0))
			return r
		}(),
		alertPcap: func() pcaplog.View {
			v := (*pcaplog.Log)(nil).Stats()
			v.FlowsStored, v.HeldBytes, v.Evicted, v.Alerts, v.NoPackets = 50, 4096, 3, 2, 1
			v.Packets, v.Bytes, v.Rotated, v.Deleted = 40, 30000, 1, 1
			v.Dropped[1].N = 5
			return v
		},
	}
}

func registry(t testing.TB, src sources) *metrics.Registry {
	t.Helper()
	reg := metrics.New()
	if err := src.register(reg); err != nil {
		t.Fatal(err)
	}
	return reg
}

func scrape(t testing.TB, r *metrics.Registry) string {
	t.Helper()
	var b bytes.Buffer
	r.WritePrometheus(&b)
	return b.String()
}

func parse(t testing.TB, text string) ([]promtext.Sample, []string) {
	t.Helper()
	s, order, _, err := promtext.Parse(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return s, order
}

// TestScrapeExactLines feeds known values to every source and checks the
// lines a dashboard or alert would be built on, exactly.
func TestScrapeExactLines(t *testing.T) {
	r := registry(t, fullSources())
	r.Latency().Observe(0.00025)
	r.Latency().Observe(0.003)
	out := scrape(t, r)
	tests := []struct{ name, line string }{
		{"help", "# HELP tapdlp_capture_packets_total Frames read from every capture source (files or sockets)."},
		{"type counter", "# TYPE tapdlp_capture_packets_total counter"},
		{"type gauge", "# TYPE tapdlp_flows_active gauge"},
		{"packets", "tapdlp_capture_packets_total 1000"},
		{"bytes", "tapdlp_capture_bytes_total 640000"},
		{"filtered", "tapdlp_capture_filtered_total 20"},
		{"records", "tapdlp_pipeline_records_total 42"},
		{"panics", "tapdlp_pipeline_worker_panics_total 1"},
		{"read per interface", `tapdlp_capture_interface_bytes_total{interface="eth0"} 563200`},
		{"kernel sockets summed per interface", `tapdlp_capture_kernel_packets_total{interface="eth0"} 900`},
		{"kernel second interface", `tapdlp_capture_kernel_packets_total{interface="eth1"} 100`},
		{"kernel drops", `tapdlp_capture_kernel_drops_total{interface="eth0"} 9`},
		{"kernel freezes", `tapdlp_capture_kernel_freezes_total{interface="eth0"} 1`},
		{"kernel stale", `tapdlp_capture_startup_discarded_total{interface="eth0"} 3`},
		{"kernel stat errors", "tapdlp_capture_kernel_stats_errors_total 0"},
		{"live stalls", "tapdlp_capture_reader_stalls_total 3"},
		{"live read errors", "tapdlp_capture_read_errors_total 6"},
		{"decode ok", `tapdlp_decode_frames_total{result="ok"} 3`},
		{"decode error reason", `tapdlp_decode_errors_total{reason="truncated"} 1`},
		{"decode error zero", `tapdlp_decode_errors_total{reason="malformed"} 0`},
		{"tunnel", `tapdlp_decode_tunnel_decaps_total{type="vxlan"} 1`},
		{"defrag held", "tapdlp_decode_defrag_fragments_held_total 7"},
		{"defrag frag dropped", `tapdlp_decode_defrag_fragments_dropped_total{reason="truncated"} 12`},
		{"defrag truncated first", `tapdlp_decode_defrag_truncated_first_fragments_total 16`},
		{"defrag dropped", `tapdlp_decode_defrag_datagrams_dropped_total{reason="timeout"} 14`},
		{"active", "tapdlp_flows_active 5"},
		{"created", "tapdlp_flows_created_total 45"},
		{"expired timeout", `tapdlp_flows_expired_total{reason="timeout"} 10`},
		{"expired evicted", `tapdlp_flows_expired_total{reason="evicted"} 2`},
		{"memory limit", "tapdlp_reassembly_memory_limit_bytes 1048576"},
		{"memory used", "tapdlp_reassembly_memory_bytes 0"},
		{"memcap drops", "tapdlp_reassembly_memcap_drops_total 9"},
		{"gaps", `tapdlp_reassembly_gaps_total{reason="ack"} 22`},
		{"missed", "tapdlp_reassembly_missed_bytes_total 777"},
		{"http stop", `tapdlp_http_stops_total{reason="gap"} 2`},
		{"http requests", "tapdlp_http_requests_total 30"},
		{"http pairing", "tapdlp_http_pairing_dropped_total 5"},
		{"inspected", "tapdlp_classify_inspected_bytes_total 123456"},
		{"truncated inspections", "tapdlp_classify_truncated_inspections_total 3"},
		{"truncated by reason", `tapdlp_classify_inspection_truncated_total{reason="decompression_bomb"} 2`},
		{"truncated by parser stop", `tapdlp_classify_inspection_truncated_total{reason="parser_stopped"} 1`},
		{"evidence dropped", "tapdlp_classify_evidence_dropped_total 1"},
		{"detections merged across shares", `tapdlp_classify_detections_total{type="credit_card",class="PCI"} 6`},
		{"detections", `tapdlp_classify_detections_total{type="us_ssn",class="PII"} 2`},
		{"dns entries", "tapdlp_dns_cache_entries 50"},
		{"dns hit ratio", "tapdlp_dns_cache_hit_ratio 0.8"},
		{"dns fallback", `tapdlp_dns_cache_lookups_total{result="fallback_hit"} 2`},
		{"first seen new", "tapdlp_destinations_first_seen_new_total 4"},
		{"ioc kind", `tapdlp_destinations_ioc_entries{kind="prefix"} 20`},
		{"alerts by rule", `tapdlp_rules_alerts_total{rule="pii-to-ai",severity="high"} 2`},
		{"alerts critical", `tapdlp_rules_alerts_total{rule="secret-upload",severity="critical"} 1`},
		{"volume late", "tapdlp_rules_volume_late_bytes_total 99"},
		{"sink written", `tapdlp_sink_records_written_total{sink="file"} 42`},
		{"sink failed", `tapdlp_sink_records_failed_total{sink="syslog"} 2`},
		{"sink spooled", `tapdlp_sink_records_spooled_total{sink="syslog"} 7`},
		{"sink dropped", `tapdlp_sink_records_dropped_total{sink="syslog",reason="spool_full"} 3`},
		{"sink dropped zero", `tapdlp_sink_records_dropped_total{sink="file",reason="queue_full"} 0`},
		{"unrouted", "tapdlp_sink_records_unrouted_total 3"},
		{"spool bytes", `tapdlp_sink_spool_bytes{sink="syslog"} 8192`},
		{"queue length", `tapdlp_sink_queue_length{sink="syslog"} 12`},
		{"tls decrypted", "tapdlp_tls_flows_decrypted_total 3"},
		{"tls no key", `tapdlp_tls_flows_not_decrypted_total{reason="no_key"} 2`},
		{"tls auth failed", `tapdlp_tls_flows_not_decrypted_total{reason="auth_failed"} 1`},
		{"tls unsupported suite", `tapdlp_tls_flows_not_decrypted_total{reason="unsupported_suite"} 1`},
		{"tls truncated zero", `tapdlp_tls_flows_not_decrypted_total{reason="truncated"} 0`},
		{"keylog lines", "tapdlp_tls_keylog_lines_total 7"},
		{"keylog secrets", "tapdlp_tls_keylog_secrets_total 3"},
		{"keylog malformed", `tapdlp_tls_keylog_lines_rejected_total{reason="malformed"} 1`},
		{"keylog too long", `tapdlp_tls_keylog_lines_rejected_total{reason="too_long"} 1`},
		{"keylog unknown", `tapdlp_tls_keylog_lines_rejected_total{reason="unknown_label"} 1`},
		{"keylog exporter", `tapdlp_tls_keylog_lines_rejected_total{reason="ignored_label"} 1`},
		{"keys held", "tapdlp_tls_keys_held 1"},
		{"keys evicted", "tapdlp_tls_keys_evicted_total 2"},
		{"latency le", `tapdlp_pipeline_packet_latency_seconds_bucket{le="0.001"} 1`},
		{"latency le 10ms", `tapdlp_pipeline_packet_latency_seconds_bucket{le="0.01"} 2`},
		{"latency count", "tapdlp_pipeline_packet_latency_seconds_count 2"},
	}
	lines := strings.Split(out, "\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Contains(lines, tt.line) {
				t.Errorf("missing line %q", tt.line)
			}
		})
	}
	if strings.Contains(out, "tapdlp_pipeline_flows") {
		t.Error("pipeline.Stats.Flows is exported although tagged metric:\"-\"")
	}
}

// tlsOutcomesFixture counts final records the way the pipeline does: three
// decrypted, two without a key, one authentication failure, one
// unsupported suite, and two that carry no outcome (no TLS, or keys not
// configured).
func tlsOutcomesFixture() *pipeline.TLSStats {
	s := new(pipeline.TLSStats)
	for _, t := range []*record.TLS{
		{Decrypted: true}, {Decrypted: true}, {Decrypted: true},
		{DecryptReason: "no_key"}, {DecryptReason: "no_key"}, {DecryptReason: "auth_failed"},
		{DecryptReason: "unsupported_suite"}, {}, nil,
	} {
		s.Count(&record.Flow{TLS: t})
	}
	return s
}

// keyStoreFixture is a store with room for one client random fed seven
// key log lines: three secrets (two evicted), a malformed line, a line
// over the length bound, an RSA line and an exporter secret.
func keyStoreFixture() *tlsdecrypt.Store {
	ks := tlsdecrypt.NewStore(1)
	r := func(c string) string { return strings.Repeat(c, 64) }
	sec := strings.Repeat("ab", 48)
	ks.AddKeyLog([]byte("# comment\n" +
		"CLIENT_RANDOM " + r("1") + " " + sec + "\n" +
		"CLIENT_RANDOM " + r("2") + " " + sec + "\n" +
		"CLIENT_RANDOM " + r("3") + " " + sec + "\n" +
		"CLIENT_RANDOM " + r("4") + " zz\n" +
		"CLIENT_RANDOM " + r("5") + " " + strings.Repeat("0", 2000) + "\n" +
		"RSA " + r("a") + " " + sec + "\n" +
		"EXPORTER_SECRET " + r("6") + " " + sec + "\n"))
	return ks
}

// TestEveryStageFieldIsServed gives every numeric field of the stats
// structs the sensor registers a distinct value and checks that the value
// is served, so a counter a stage adds cannot be left out (Add also refuses
// an untagged number; this proves the tags point at the right fields).
func TestEveryStageFieldIsServed(t *testing.T) {
	src := fullSources()
	next := uint64(900001)
	var want []string // "path=value"
	skip := map[string]bool{"pipeline.Stats.Flows": true, "pipeline.InspectionStats.EncryptedFlows": true}
	var fill func(path string, v reflect.Value)
	fill = func(path string, v reflect.Value) {
		store := v.Addr().MethodByName("Store")
		switch {
		case skip[path]:
			return
		case v.Kind() == reflect.Struct && store.IsValid():
			store.Call([]reflect.Value{reflect.ValueOf(next).Convert(store.Type().In(0))})
		case v.Kind() == reflect.Struct:
			for i := range v.NumField() {
				if f := v.Type().Field(i); f.IsExported() && f.Type.Kind() != reflect.Array && f.Type.Kind() != reflect.Slice {
					fill(path+"."+f.Name, v.Field(i))
				}
			}
			return
		case v.CanUint():
			v.SetUint(next)
		case v.CanInt():
			v.SetInt(int64(next))
		default:
			return
		}
		want = append(want, fmt.Sprintf("%s=%d", path, next))
		next++
	}
	fill("pipeline.Stats", reflect.ValueOf(src.pipeline).Elem())
	fill("reassembly.Stats", reflect.ValueOf(src.flows).Elem())
	fill("pipeline.AIStats", reflect.ValueOf(src.ai).Elem())
	fill("pipeline.ContinuationStats", reflect.ValueOf(src.continuation).Elem())
	fill("capture.DefragStats", reflect.ValueOf(&src.decode.Defrag).Elem())
	hs := src.http
	fill("httpparse.Stats", reflect.ValueOf(hs).Elem())
	lv := src.live()
	fill("pipeline.LiveStats", reflect.ValueOf(lv.LiveStats).Elem())
	cv := src.classify()
	fill("pipeline.InspectionStats", reflect.ValueOf(cv.InspectionStats).Elem())
	var dest destinations.EngineStats
	fill("destinations.EngineStats", reflect.ValueOf(&dest).Elem())
	src.destinations = func() destinations.EngineStats { return dest }
	var rs rules.Stats
	fill("rules.Stats", reflect.ValueOf(&rs).Elem())
	src.rules = func() rules.Stats { return rs }
	st := src.router.Stats("syslog")
	fill("sinks.Stats", reflect.ValueOf(st).Elem())

	out := scrape(t, registry(t, src))
	for _, w := range want {
		path, val, _ := strings.Cut(w, "=")
		if !strings.Contains(out, " "+val+"\n") {
			t.Errorf("%s (set to %s) is not served; tag it, or tag it metric:\"-\" with a reason", path, val)
		}
	}
	if len(want) < 60 {
		t.Fatalf("only %d fields found: the walk is broken", len(want))
	}
}

func TestKernelStatsErrorIsCountedNotFatal(t *testing.T) {
	src := fullSources()
	kernel := src.kernel
	src.kernel = func() (live.Stats, error) {
		ks, _ := kernel()
		return ks, fmt.Errorf("live: eth0 socket 1: read statistics: bad file descriptor")
	}
	r := registry(t, src)
	scrape(t, r)
	out := scrape(t, r)
	for _, want := range []string{
		"tapdlp_capture_kernel_stats_errors_total 2",
		`tapdlp_capture_kernel_drops_total{interface="eth0"} 9`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %q", want)
		}
	}
}

// TestScrapeOmitsAbsentSources: replay exposes no live, kernel or sink
// families; a run with -o no sink families.
func TestScrapeOmitsAbsentSources(t *testing.T) {
	full := fullSources()
	replay := full
	replay.live, replay.kernel, replay.router = nil, nil, nil
	_, order := parse(t, scrape(t, registry(t, replay)))
	for _, n := range order {
		if strings.HasPrefix(n, "tapdlp_sink_") || strings.HasPrefix(n, "tapdlp_capture_kernel") || strings.HasPrefix(n, "tapdlp_capture_interface") {
			t.Errorf("%s served without its source", n)
		}
	}
	if !slices.Contains(order, "tapdlp_flows_active") {
		t.Error("a present source is missing")
	}
}

// configuredLabels are the labels whose values come from configuration
// rather than from a fixed list in the code; METRICS.md says where.
var configuredLabels = map[string]string{
	"interface": "configured capture interfaces",
	"rule":      "rule ids (rules files and the default pack)",
	"severity":  "rule severities: low, medium, high, critical",
	"sink":      "configured sink names",
	"version":   "the binary's version",
	"commit":    "the binary's commit",
}

// detectionLabels: the detection family's type and class come from the
// configured detectors, unlike the tunnel "type" enum.
var detectionLabels = map[string]string{
	"type":  "configured detector names (built-in types and custom detectors)",
	"class": "detector classes: PCI, PII, PHI, SECRET or a custom detector's",
}

const metricsDoc = "../metrics/METRICS.md"

// renderCatalog builds METRICS.md from the assembled sensor's catalog; the
// value lists of enum labels come from a scrape with every source present,
// so they are the ones the code writes.
func renderCatalog(t testing.TB) []byte {
	r := registry(t, fullSources())
	samples, _ := parse(t, scrape(t, r))
	values := make(map[string]map[string][]string) // family -> label -> values
	for _, s := range samples {
		for _, k := range s.Keys {
			if k == "le" || k == "vmrange" {
				continue
			}
			if values[s.Family] == nil {
				values[s.Family] = make(map[string][]string)
			}
			if !slices.Contains(values[s.Family][k], s.Labels[k]) {
				values[s.Family][k] = append(values[s.Family][k], s.Labels[k])
			}
		}
	}
	var b bytes.Buffer
	b.WriteString(`# tapdlp metrics

Generated from the stages' stats structs (their metric tags) by ` + "`go test ./sensor -run TestMetricsDoc -update`" + `;
a test fails when this file and the code disagree. ` + "`/metrics`" + ` listens on ` + metrics.DefaultAddr + ` by default.

Every label value comes from a bounded set fixed by the code or by the
configuration (never from traffic: no addresses, ports or host names).
Counters end in ` + "`_total`" + `; histograms add ` + "`_bucket`, `_sum` and `_count`" + `.
A family is absent when its source (last column) is not running.
` + "`/metrics`" + ` also serves the standard ` + "`go_*`" + ` (runtime, GC, memory) and ` + "`process_*`" + `
(CPU seconds, resident memory, open file descriptors, start time) families.

| metric | type | labels | meaning | source |
|---|---|---|---|---|
`)
	for _, f := range r.Catalog() {
		var labels []string
		for _, l := range f.Labels {
			switch {
			case f.Name == "tapdlp_classify_detections_total":
				labels = append(labels, fmt.Sprintf("`%s` (%s)", l, detectionLabels[l]))
			case configuredLabels[l] != "":
				labels = append(labels, fmt.Sprintf("`%s` (%s)", l, configuredLabels[l]))
			default:
				labels = append(labels, fmt.Sprintf("`%s`: %s", l, strings.Join(values[f.Name][l], ", ")))
			}
		}
		switch f.Name {
		case "tapdlp_pipeline_packet_latency_seconds":
			var le []string
			for _, b := range metrics.LatencyBuckets() {
				le = append(le, strconv.FormatFloat(b, 'g', -1, 64))
			}
			labels = append(labels, "`le`: "+strings.Join(append(le, "+Inf"), ", "))
		case "tapdlp_pipeline_packet_latency_vm_seconds":
			labels = append(labels, "`vmrange` (18 log-spaced buckets per decade)")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f.Name, f.Type, strings.Join(labels, "; "), f.Help, f.Source)
	}
	return b.Bytes()
}

// TestMetricsDoc keeps metrics/METRICS.md equal to the catalog (the
// README's table is checked against that file by cmd/tapdlp's tests).
func TestMetricsDoc(t *testing.T) {
	got := renderCatalog(t)
	if *update {
		if err := os.WriteFile(metricsDoc, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(metricsDoc)
	if err != nil {
		t.Fatalf("%v (run go test ./sensor -run TestMetricsDoc -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("METRICS.md is out of date (go test ./sensor -run TestMetricsDoc -update):\n%s", promtext.LineDiff(string(want), string(got)))
	}
}

// TestMetricsDocListsExactlyWhatIsServed reads METRICS.md independently
// of the generator: every family a full scrape serves is documented and
// every documented family is served.
func TestMetricsDocListsExactlyWhatIsServed(t *testing.T) {
	doc, err := os.ReadFile(metricsDoc)
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(tapdlp_[a-z0-9_]+)` \\|").FindAllSubmatch(doc, -1) {
		documented = append(documented, string(m[1]))
	}
	_, served := parse(t, scrape(t, registry(t, fullSources())))
	for _, n := range served {
		if !slices.Contains(documented, n) {
			t.Errorf("%s is served but not in METRICS.md", n)
		}
	}
	for _, n := range documented {
		if !slices.Contains(served, n) {
			t.Errorf("%s is in METRICS.md but never served", n)
		}
	}
}

// truncationRows is every truncation reason with a count (all are listed in
// METRICS.md); decompression_bomb 2, parser_stopped 1.
func truncationRows() []pipeline.TruncationCount {
	var out []pipeline.TruncationCount
	for t := demux.TruncNone + 1; t < demux.NumTruncations; t++ {
		row := pipeline.TruncationCount{Reason: t.String()}
		switch t {
		case demux.TruncBomb:
			row.Count = 2
		case demux.TruncParserStopped:
			row.Count = 1
		}
		out = append(out, row)
	}
	return out
}

// allowedLabels is the whole label vocabulary: each names a bounded set.
var allowedLabels = []string{"interface", "result", "reason", "type", "class", "kind", "rule", "severity", "sink", "category"}

// nameRe: tapdlp_<subsystem>_<name>, or the conventional tapdlp_build_info.
var nameRe = regexp.MustCompile(`^tapdlp_((capture|pipeline|decode|flows|reassembly|demux|http|http2|websocket|grpc|sse|tls|classify|dns|destinations|rules|sink|config|alertpcap)_[a-z0-9_]+|build_info)$`)

// buildInfoLabels are bounded by being one series per process.
var buildInfoLabels = []string{"version", "commit"}

func TestCatalogConventions(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range registry(t, fullSources()).Catalog() {
		t.Run(f.Name, func(t *testing.T) {
			if seen[f.Name] {
				t.Error("defined twice")
			}
			seen[f.Name] = true
			if !nameRe.MatchString(f.Name) {
				t.Errorf("name does not follow tapdlp_<subsystem>_<name>")
			}
			if (f.Type == "counter") != strings.HasSuffix(f.Name, "_total") {
				t.Errorf("%s: counters and only counters end in _total", f.Type)
			}
			if f.Help == "" || !strings.HasSuffix(f.Help, ".") || strings.ContainsAny(f.Help, "\n|") {
				t.Errorf("help must be one sentence-ended line without '|': %q", f.Help)
			}
			if f.Source == "" {
				t.Error("no source")
			}
			for _, l := range f.Labels {
				if !slices.Contains(allowedLabels, l) && (f.Name != "tapdlp_build_info" || !slices.Contains(buildInfoLabels, l)) {
					t.Errorf("label %q is not in the bounded vocabulary %v", l, allowedLabels)
				}
			}
		})
	}
	if len(seen) < 80 {
		t.Errorf("only %d families: a source is missing", len(seen))
	}
}
