package metrics

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/tapdlp/tapdlp/internal/promtext"
)

// toyStats is a stage's stats struct as a stage declares it: every kind of
// field the walker understands.
type toyStats struct {
	Packets atomic.Uint64 `metric:"tapdlp_capture_packets_total" help:"Frames read."`
	Open    atomic.Int64  `metric:"tapdlp_flows_active" help:"Flows open."`
	Timeout atomic.Uint64 `metric:"tapdlp_flows_expired_total" label:"reason=timeout" help:"Flows ended, by reason."`
	Closed  uint64        `metric:"tapdlp_flows_expired_total" label:"reason=closed"`
	Ratio   float64       `metric:"tapdlp_dns_cache_hit_ratio" help:"Share answered."`
	Skipped uint64        `metric:"-"`
	Nested  struct {
		Keys int `metric:"tapdlp_rules_dedup_keys" help:"Keys held."`
	}
	Rules []toyRule
	Sinks []toySink
	note  uint64 // unexported: not the registry's business
}

type toyRule struct {
	ID       string `label:"rule"`
	Severity string `label:"severity"`
	Alerts   uint64 `metric:"tapdlp_rules_alerts_total" help:"Alerts emitted."`
}

type toySink struct {
	Name    string `label:"sink"`
	Written uint64 `metric:"tapdlp_sink_records_written_total" help:"Records delivered."`
	Drops   []toyDrop
}

type toyDrop struct {
	Reason string `label:"reason"`
	N      uint64 `metric:"tapdlp_sink_records_dropped_total" help:"Records given up on."`
}

func toyRegistry(t testing.TB, st *toyStats) *Registry {
	t.Helper()
	r := New()
	if err := Add(r, "Toy", func() *toyStats { return st }, nil); err != nil {
		t.Fatal(err)
	}
	return r
}

func scrape(t testing.TB, r *Registry) string {
	t.Helper()
	var b bytes.Buffer
	r.WritePrometheus(&b)
	return b.String()
}

func parse(t testing.TB, text string) []promtext.Sample {
	t.Helper()
	s, _, _, err := promtext.Parse(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return s
}

func fullToy() *toyStats {
	st := &toyStats{Closed: 4, Ratio: 0.8, Skipped: 99, note: 98}
	st.Packets.Store(1000)
	st.Open.Store(-3) // caught mid-update
	st.Timeout.Store(10)
	st.Nested.Keys = 7
	st.Rules = []toyRule{{"pii-to-ai", "high", 2}, {"secret-upload", "critical", 1}, {"pii-to-ai", "high", 3}}
	st.Sinks = []toySink{
		{Name: "syslog", Written: 40, Drops: []toyDrop{{"spool_full", 3}, {"queue_full", 0}}},
		{Name: "file", Written: 42},
	}
	return st
}

// TestScrapeExactLines: every kind of field becomes the exact line a
// dashboard would be built on.
func TestScrapeExactLines(t *testing.T) {
	r := toyRegistry(t, fullToy())
	r.Latency().Observe(0.00025)
	out := scrape(t, r)
	want := `# HELP tapdlp_capture_packets_total Frames read.
# TYPE tapdlp_capture_packets_total counter
tapdlp_capture_packets_total 1000
# HELP tapdlp_flows_active Flows open.
# TYPE tapdlp_flows_active gauge
tapdlp_flows_active 0
# HELP tapdlp_flows_expired_total Flows ended, by reason.
# TYPE tapdlp_flows_expired_total counter
tapdlp_flows_expired_total{reason="timeout"} 10
tapdlp_flows_expired_total{reason="closed"} 4
# HELP tapdlp_dns_cache_hit_ratio Share answered.
# TYPE tapdlp_dns_cache_hit_ratio gauge
tapdlp_dns_cache_hit_ratio 0.8
# HELP tapdlp_rules_dedup_keys Keys held.
# TYPE tapdlp_rules_dedup_keys gauge
tapdlp_rules_dedup_keys 7
# HELP tapdlp_rules_alerts_total Alerts emitted.
# TYPE tapdlp_rules_alerts_total counter
tapdlp_rules_alerts_total{rule="pii-to-ai",severity="high"} 5
tapdlp_rules_alerts_total{rule="secret-upload",severity="critical"} 1
# HELP tapdlp_sink_records_written_total Records delivered.
# TYPE tapdlp_sink_records_written_total counter
tapdlp_sink_records_written_total{sink="syslog"} 40
tapdlp_sink_records_written_total{sink="file"} 42
# HELP tapdlp_sink_records_dropped_total Records given up on.
# TYPE tapdlp_sink_records_dropped_total counter
tapdlp_sink_records_dropped_total{sink="syslog",reason="spool_full"} 3
tapdlp_sink_records_dropped_total{sink="syslog",reason="queue_full"} 0
# HELP tapdlp_pipeline_packet_latency_seconds`
	if !strings.HasPrefix(out, want) {
		t.Errorf("scrape:\n%s", promtext.LineDiff(want, out[:min(len(out), len(want))]))
	}
	parse(t, out)
}

// TestCatalogIsWhatIsServed: the catalog lists exactly the families a
// scrape writes, with their types and label names.
func TestCatalogIsWhatIsServed(t *testing.T) {
	r := toyRegistry(t, fullToy())
	r.Latency().Observe(1e-4)
	samples, order, types, err := promtext.Parse(scrape(t, r))
	if err != nil {
		t.Fatal(err)
	}
	cat := r.Catalog()
	var names []string
	byName := map[string]Family{}
	for _, f := range cat {
		names = append(names, f.Name)
		byName[f.Name] = f
	}
	if !slices.Equal(order, names) {
		t.Errorf("served %v, catalog %v", order, names)
	}
	for _, s := range samples {
		f := byName[s.Family]
		if types[f.Name] != f.Type {
			t.Errorf("%s: type %s, catalog %s", f.Name, types[f.Name], f.Type)
		}
		if f.Type != "histogram" && !slices.Equal(s.Keys, f.Labels) {
			t.Errorf("%s: labels %v, catalog %v", s.Series, s.Keys, f.Labels)
		}
		if (f.Type == "counter") != strings.HasSuffix(f.Name, "_total") {
			t.Errorf("%s is a %s", f.Name, f.Type)
		}
	}
	if f := byName["tapdlp_sink_records_dropped_total"]; f.Source != "Toy" || !slices.Equal(f.Labels, []string{"sink", "reason"}) {
		t.Errorf("nested list family: %+v", f)
	}
}

// foreign is a stats struct whose package carries no tags: Tags supply
// them by path.
type foreign struct {
	Hits   uint64
	Misses uint64
	Inner  struct{ Size int }
	Rows   []struct {
		Name string
		N    uint64
	}
}

func TestTagsOverride(t *testing.T) {
	r := New()
	st := &foreign{Hits: 6, Misses: 2}
	st.Inner.Size = 50
	st.Rows = append(st.Rows, struct {
		Name string
		N    uint64
	}{"eth0", 9})
	err := Add(r, "Foreign", func() *foreign { return st }, Tags{
		"Hits":       `metric:"tapdlp_dns_cache_lookups_total" label:"result=hit" help:"Lookups, by result."`,
		"Misses":     `metric:"tapdlp_dns_cache_lookups_total" label:"result=miss"`,
		"Inner.Size": `metric:"tapdlp_dns_cache_entries" help:"Entries."`,
		"Rows.Name":  `label:"interface"`,
		"Rows.N":     `metric:"tapdlp_capture_kernel_drops_total" help:"Drops."`,
	})
	if err != nil {
		t.Fatal(err)
	}
	out := scrape(t, r)
	for _, line := range []string{
		`tapdlp_dns_cache_lookups_total{result="hit"} 6`,
		`tapdlp_dns_cache_lookups_total{result="miss"} 2`,
		`tapdlp_dns_cache_entries 50`,
		`tapdlp_capture_kernel_drops_total{interface="eth0"} 9`,
	} {
		if !strings.Contains(out, "\n"+line+"\n") {
			t.Errorf("missing %q", line)
		}
	}
}

// TestAddRejects: a stats struct that would export something silently
// wrong, or leave a counter out, fails at registration.
func TestAddRejects(t *testing.T) {
	type untagged struct{ Drops atomic.Uint64 }
	type onString struct {
		Name string `metric:"tapdlp_x_total" help:"X."`
	}
	type badLabel struct {
		N uint64 `metric:"tapdlp_x_total" label:"reason" help:"X."`
	}
	type twoLabelSets struct {
		A uint64 `metric:"tapdlp_x_total" label:"reason=a" help:"X."`
		B uint64 `metric:"tapdlp_x_total"`
	}
	type twoHelps struct {
		A uint64 `metric:"tapdlp_x_total" help:"X."`
		B uint64 `metric:"tapdlp_x_total" help:"Y."`
	}
	type noHelp struct {
		A uint64 `metric:"tapdlp_x_total"`
	}
	type counterArray struct{ Stops [3]atomic.Uint64 }
	tests := []struct {
		name string
		add  func(*Registry) error
		want string
	}{
		{"untagged counter", func(r *Registry) error { return Add(r, "S", func() *untagged { return nil }, nil) }, "Drops is a number without a metric tag"},
		{"untagged in a foreign struct", func(r *Registry) error { return Add(r, "S", func() *foreign { return nil }, nil) }, "Hits is a number without a metric tag"},
		{"metric on a string", func(r *Registry) error { return Add(r, "S", func() onString { return onString{} }, nil) }, "on a string"},
		{"label without value", func(r *Registry) error { return Add(r, "S", func() badLabel { return badLabel{} }, nil) }, "want key=value"},
		{"two label sets", func(r *Registry) error { return Add(r, "S", func() twoLabelSets { return twoLabelSets{} }, nil) }, "declared with labels"},
		{"two help texts", func(r *Registry) error { return Add(r, "S", func() twoHelps { return twoHelps{} }, nil) }, "two help texts"},
		{"no help", func(r *Registry) error { return Add(r, "S", func() noHelp { return noHelp{} }, nil) }, "no help text"},
		{"array of counters", func(r *Registry) error { return Add(r, "S", func() *counterArray { return nil }, nil) }, "needs a label"},
		{"not a struct", func(r *Registry) error { return Add(r, "S", func() int { return 0 }, nil) }, "not a struct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			err := tt.add(r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if n := len(r.Catalog()); n != 2 {
				t.Errorf("a rejected source left %d families in the catalog", n-2)
			}
		})
	}
}

// TestScrapeOmitsAbsentSources: a source whose stage is not running (nil)
// writes nothing; an empty list still documents its families.
func TestScrapeOmitsAbsentSources(t *testing.T) {
	var running *toyStats
	r := New()
	if err := Add(r, "Toy", func() *toyStats { return running }, nil); err != nil {
		t.Fatal(err)
	}
	_, order, _, err := promtext.Parse(scrape(t, r))
	if err != nil {
		t.Fatal(err)
	}
	latency := []string{famLatency.name, famLatencyVM.name}
	if !slices.Equal(order, latency) {
		t.Errorf("absent source: families %v", order)
	}
	running = &toyStats{}
	_, order, _, _ = promtext.Parse(scrape(t, r))
	if !slices.Contains(order, "tapdlp_rules_alerts_total") || !slices.Contains(order, "tapdlp_sink_records_dropped_total") {
		t.Errorf("empty lists: families %v", order)
	}
}

// TestScrapeIsReadOnly: scraping must not change what a stage counted.
func TestScrapeIsReadOnly(t *testing.T) {
	st := fullToy()
	r := toyRegistry(t, st)
	first := scrape(t, r)
	for range 3 {
		if again := scrape(t, r); again != first {
			t.Fatalf("a second scrape differs:\n%s", promtext.LineDiff(first, again))
		}
	}
	if st.Packets.Load() != 1000 || len(st.Rules) != 3 {
		t.Error("the scrape changed the stage")
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := New(), New()
	a.Latency().Observe(0.5)
	if !strings.Contains(scrape(t, a), "tapdlp_pipeline_packet_latency_seconds_count 1\n") {
		t.Error("observation missing from its registry")
	}
	if !strings.Contains(scrape(t, b), "tapdlp_pipeline_packet_latency_seconds_count 0\n") {
		t.Error("observation leaked into another registry")
	}
}

// TestGlobalMetadataToggleIsHarmless: vm.ExposeMetadata is process-wide;
// another package turning it on must not duplicate our HELP/TYPE lines.
func TestGlobalMetadataToggleIsHarmless(t *testing.T) {
	vm.ExposeMetadata(true)
	t.Cleanup(func() { vm.ExposeMetadata(false) })
	r := toyRegistry(t, fullToy())
	r.Latency().Observe(0.002)
	parse(t, scrape(t, r))
}

// TestScrapeWhileStagesCount scrapes while the stage's atomics move (run
// with -race): reads are lock-free and every scrape stays well formed.
func TestScrapeWhileStagesCount(t *testing.T) {
	st := &toyStats{}
	r := toyRegistry(t, st)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				st.Packets.Add(1)
				st.Open.Add(1)
				st.Open.Add(-1)
				r.Latency().Observe(1e-4)
			}
		}
	})
	var prev float64
	for range 30 {
		for _, s := range parse(t, scrape(t, r)) {
			if s.Series == "tapdlp_capture_packets_total" {
				if s.Value < prev {
					t.Fatalf("counter went backwards: %v < %v", s.Value, prev)
				}
				prev = s.Value
			}
			if s.Series == "tapdlp_flows_active" && s.Value < 0 {
				t.Fatalf("active flows negative: %v", s.Value)
			}
		}
	}
	close(stop)
	wg.Wait()
}

// TestReadKinds: every number kind reads as itself.
func TestReadKinds(t *testing.T) {
	var u32 atomic.Uint32
	u32.Store(7)
	var i64 atomic.Int64
	i64.Store(-5)
	for _, tt := range []struct {
		v    any
		want number
	}{
		{uint8(3), number{u: 3}},
		{int(9), number{u: 9}},
		{int64(-1), number{}},
		{float32(0.5), number{f: 0.5, float: true}},
		{&u32, number{u: 7}},
		{&i64, number{}},
	} {
		v := reflect.ValueOf(tt.v)
		if got := read(v); got != tt.want {
			t.Errorf("read(%T %v) = %+v, want %+v", tt.v, tt.v, got, tt.want)
		}
	}
}
