package metrics

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/tapdlp/tapdlp/record/sinks"
)

func scrape(t testing.TB, r *Registry) string {
	t.Helper()
	var b bytes.Buffer
	r.WritePrometheus(&b)
	return b.String()
}

// parsedSample is one sample line of an exposition.
type parsedSample struct {
	family string // the family it belongs to (histogram suffixes removed)
	series string // name and label set, as written
	labels map[string]string
	keys   []string
	value  float64
}

// sampleRe matches a sample line: name, optional label set, value.
var sampleRe = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

var labelRe = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// parseExposition checks the structure the text format requires — HELP
// then TYPE then the family's samples, contiguous, each family once, each
// series once — and returns the samples and the families in order.
func parseExposition(t testing.TB, text string) (samples []parsedSample, order []string, types map[string]string) {
	t.Helper()
	types = make(map[string]string)
	helped := make(map[string]bool)
	seenSeries := make(map[string]bool)
	cur := ""
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		where := fmt.Sprintf("line %d %q", n+1, line)
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, help, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			if helped[name] {
				t.Fatalf("%s: family %s described twice (samples not contiguous)", where, name)
			}
			if help == "" {
				t.Errorf("%s: empty help", where)
			}
			helped[name] = true
			cur = name
			order = append(order, name)
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			if name != cur || types[name] != "" {
				t.Fatalf("%s: TYPE without its HELP just before", where)
			}
			types[name] = typ
		case strings.HasPrefix(line, "#") || line == "":
			t.Fatalf("%s: unexpected line", where)
		default:
			m := sampleRe.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("%s: not a sample line", where)
			}
			fam := m[1]
			if types[cur] == "histogram" {
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					if s, ok := strings.CutSuffix(fam, suf); ok && s == cur {
						fam = s
					}
				}
			}
			if fam != cur || types[cur] == "" {
				t.Fatalf("%s: sample of %s outside its family block (current %s)", where, fam, cur)
			}
			series := m[1] + m[2]
			if seenSeries[series] {
				t.Fatalf("%s: duplicate series", where)
			}
			seenSeries[series] = true
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Fatalf("%s: value: %v", where, err)
			}
			s := parsedSample{family: fam, series: series, value: v, labels: map[string]string{}}
			for _, lm := range labelRe.FindAllStringSubmatch(m[2], -1) {
				s.labels[lm[1]] = lm[2]
				s.keys = append(s.keys, lm[1])
			}
			samples = append(samples, s)
		}
	}
	return samples, order, types
}

// TestScrapeExactLines feeds known values to every source and checks the
// lines a dashboard or alert would be built on, exactly.
func TestScrapeExactLines(t *testing.T) {
	r := New(fullSources())
	r.Latency().Observe(0.00025)
	r.Latency().Observe(0.003)
	out := scrape(t, r)
	tests := []struct{ name, line string }{
		{"help", "# HELP tapdlp_capture_packets_total Frames read from every capture source (files or sockets)."},
		{"type counter", "# TYPE tapdlp_capture_packets_total counter"},
		{"type gauge", "# TYPE tapdlp_flows_active gauge"},
		{"packets", "tapdlp_capture_packets_total 1000"},
		{"bytes", "tapdlp_capture_bytes_total 640000"},
		{"read per interface", `tapdlp_capture_interface_bytes_total{interface="eth0"} 563200`},
		{"kernel sockets summed per interface", `tapdlp_capture_kernel_packets_total{interface="eth0"} 900`},
		{"kernel second interface", `tapdlp_capture_kernel_packets_total{interface="eth1"} 100`},
		{"kernel drops", `tapdlp_capture_kernel_drops_total{interface="eth0"} 9`},
		{"kernel freezes", `tapdlp_capture_kernel_freezes_total{interface="eth0"} 1`},
		{"live stalls", "tapdlp_capture_reader_stalls_total 3"},
		{"decode ok", `tapdlp_decode_frames_total{result="ok"} 3`},
		{"decode error reason", `tapdlp_decode_errors_total{reason="truncated"} 1`},
		{"decode error zero", `tapdlp_decode_errors_total{reason="malformed"} 0`},
		{"tunnel", `tapdlp_decode_tunnel_decaps_total{type="vxlan"} 1`},
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
		{"inspected", "tapdlp_classify_inspected_bytes_total 123456"},
		{"truncated inspections", "tapdlp_classify_truncated_inspections_total 3"},
		{"detections merged across shares", `tapdlp_classify_detections_total{type="credit_card",class="PCI"} 6`},
		{"detections", `tapdlp_classify_detections_total{type="us_ssn",class="PII"} 2`},
		{"dns entries", "tapdlp_dns_cache_entries 50"},
		{"dns hit ratio", "tapdlp_dns_cache_hit_ratio 0.8"},
		{"dns fallback", `tapdlp_dns_cache_lookups_total{result="fallback_hit"} 2`},
		{"ioc kind", `tapdlp_destinations_ioc_entries{kind="prefix"} 20`},
		{"alerts by rule", `tapdlp_rules_alerts_total{rule="pii-to-ai",severity="high"} 2`},
		{"alerts critical", `tapdlp_rules_alerts_total{rule="secret-upload",severity="critical"} 1`},
		{"sink written", `tapdlp_sink_records_written_total{sink="file"} 42`},
		{"sink failed", `tapdlp_sink_records_failed_total{sink="syslog"} 2`},
		{"sink spooled", `tapdlp_sink_records_spooled_total{sink="syslog"} 7`},
		{"sink dropped", `tapdlp_sink_records_dropped_total{sink="syslog",reason="spool_full"} 3`},
		{"unrouted", "tapdlp_sink_records_unrouted_total 3"},
		{"spool bytes", `tapdlp_sink_spool_bytes{sink="syslog"} 8192`},
		{"latency le", `tapdlp_pipeline_packet_latency_seconds_bucket{le="0.001"} 1`},
		{"latency le 10ms", `tapdlp_pipeline_packet_latency_seconds_bucket{le="0.01"} 2`},
		{"latency inf", `tapdlp_pipeline_packet_latency_seconds_bucket{le="+Inf"} 2`},
		{"latency count", "tapdlp_pipeline_packet_latency_seconds_count 2"},
		{"latency vm count", "tapdlp_pipeline_packet_latency_vm_seconds_count 2"},
	}
	lines := strings.Split(out, "\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Contains(lines, tt.line) {
				t.Errorf("missing line %q", tt.line)
			}
		})
	}
}

// TestScrapeWellFormed checks the whole exposition's structure and that
// exactly the catalog's families are written, with the catalog's types and
// label names, when every source is present.
func TestScrapeWellFormed(t *testing.T) {
	r := New(fullSources())
	r.Latency().Observe(1e-4 * 1.5)
	samples, order, types := parseExposition(t, scrape(t, r))
	var want []string
	for _, f := range families {
		want = append(want, f.name)
	}
	if !slices.Equal(order, want) {
		t.Errorf("families written differ from the catalog:\n%s", lineDiff(strings.Join(want, "\n"), strings.Join(order, "\n")))
	}
	for _, s := range samples {
		f := byName[s.family]
		if f == nil {
			t.Fatalf("%s: not in catalog", s.series)
		}
		if types[f.name] != string(f.typ) {
			t.Errorf("%s: type %s, catalog %s", f.name, types[f.name], f.typ)
		}
		wantKeys := f.labels
		if f.typ == histogram && strings.HasSuffix(s.series[:strings.IndexAny(s.series+"{", "{")], "_bucket") {
			wantKeys = append(slices.Clone(f.labels), map[*family]string{famLatency: "le", famLatencyVM: "vmrange"}[f])
		}
		if !slices.Equal(s.keys, wantKeys) {
			t.Errorf("%s: labels %v, catalog %v", s.series, s.keys, wantKeys)
		}
		if f.typ == counter && s.value < 0 {
			t.Errorf("%s: negative counter", s.series)
		}
	}
}

func TestScrapeOmitsAbsentSources(t *testing.T) {
	full := fullSources()
	tests := []struct {
		name string
		src  Sources
		want []*family // beyond the latency histogram, which is always there
	}{
		{"none", Sources{}, nil},
		{"decode only", Sources{Decode: full.Decode}, []*family{famDecodeFrames, famDecodeErrors, famDecodeDecaps,
			famDecodeExtraVLANs, famDecodeBadChecksums, famDecodeChecksumOffload, famDefragHeld, famDefragReassembled, famDefragOverlaps, famDefragConflicts,
			famDefragDuplicates, famDefragFragsDropped, famDefragDatagramsDropped}},
		{"memory only", Sources{Memory: full.Memory}, []*family{famReasmMemory, famReasmMemoryLimit}},
		{"flows", Sources{Flows: full.Flows}, []*family{famFlowsActive, famFlowsCreated,
			famFlowsExpired, famFlowsReused, famFlowsContinued, famFlowsInterim, famFlowsDeclined, famReasmOOOBuffered, famReasmOOODropped,
			famReasmMemcapDrops, famReasmGaps, famReasmMissed, famReasmOverlap, famReasmOverlapEvents, famReasmUnchecked,
			famReasmBadChecksum, famReasmRST, famReasmSynData, famReasmDepthReached}},
		{"no sinks configured", Sources{Sinks: sinks.NewRouter()}, []*family{famSinkWritten, famSinkFailed,
			famSinkSpooled, famSinkDropped, famSinkReconnects, famSinkRotations, famSinkCorrupt, famSinkSpoolBytes,
			famSinkQueueLen, famSinkUnrouted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, order, _ := parseExposition(t, scrape(t, New(tt.src)))
			var want []string
			for _, f := range append(tt.want, famLatency, famLatencyVM) {
				want = append(want, f.name)
			}
			if !slices.Equal(order, want) {
				t.Errorf("families %v, want %v", order, want)
			}
		})
	}
}

// TestScrapeIsReadOnly: scraping must not change what a stage counted.
func TestScrapeIsReadOnly(t *testing.T) {
	r := New(fullSources())
	first := scrape(t, r)
	for range 3 {
		if again := scrape(t, r); again != first {
			t.Fatalf("a second scrape differs:\n%s", lineDiff(first, again))
		}
	}
}

func TestKernelStatsErrorIsCountedNotFatal(t *testing.T) {
	src := fullSources()
	kernel := src.Kernel
	src.Kernel = func() (ks liveStats, err error) {
		ks, _ = kernel()
		return ks, fmt.Errorf("live: eth0 socket 1: read statistics: bad file descriptor")
	}
	r := New(src)
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

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := New(Sources{}), New(Sources{})
	a.Latency().Observe(0.5)
	if !strings.Contains(scrape(t, a), "tapdlp_pipeline_packet_latency_seconds_count 1\n") {
		t.Error("observation missing from its registry")
	}
	if !strings.Contains(scrape(t, b), "tapdlp_pipeline_packet_latency_seconds_count 0\n") {
		t.Error("observation leaked into another registry")
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(w), len(g)) {
		if w[i] != g[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, w[i], g[i])
		}
	}
	return fmt.Sprintf("length %d vs %d lines", len(w), len(g))
}

// TestGlobalMetadataToggleIsHarmless: vm.ExposeMetadata is process-wide;
// another package turning it on must not duplicate our HELP/TYPE lines.
func TestGlobalMetadataToggleIsHarmless(t *testing.T) {
	vm.ExposeMetadata(true)
	t.Cleanup(func() { vm.ExposeMetadata(false) })
	r := New(fullSources())
	r.Latency().Observe(0.002)
	parseExposition(t, scrape(t, r))
}

// TestScrapeWhileStagesCount scrapes while the stages' atomics move (run
// with -race): reads are lock-free and every scrape stays well formed.
func TestScrapeWhileStagesCount(t *testing.T) {
	src := fullSources()
	r := New(src)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				src.Pipeline.Packets.Add(1)
				src.Flows.FlowsCreated.Add(1)
				src.Flows.FlowsOpen.Add(1)
				r.Latency().Observe(1e-4)
			}
		}
	})
	var prev float64
	for range 30 {
		samples, _, _ := parseExposition(t, scrape(t, r))
		for _, s := range samples {
			if s.series == "tapdlp_capture_packets_total" {
				if s.value < prev {
					t.Fatalf("counter went backwards: %v < %v", s.value, prev)
				}
				prev = s.value
			}
			if s.series == "tapdlp_flows_active" && s.value < 0 {
				t.Fatalf("active flows negative: %v", s.value)
			}
		}
	}
	close(stop)
	wg.Wait()
}
