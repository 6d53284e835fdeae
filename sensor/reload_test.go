package sensor

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/record"
)

const inspectPcap = "../testdata/pcap/inspect.pcap"

// TestHangupReloadIsExposed: a custom detector added to the configuration
// file and applied by a hangup is counted and served afterwards, with the
// counters that were already there carried over; a bad file keeps the old
// configuration.
func TestHangupReloadIsExposed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tapdlp.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("workers: 1\n")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	hup := make(chan os.Signal)
	s := New(Config{Config: cfg, Path: path, Hangup: hup, Stderr: &logs})
	s.log = slog.New(slog.NewTextHandler(&logs, nil))
	p, err := pipeline.New(cfg, pipeline.Options{Sink: record.NewWriterSink(io.Discard), Log: s.log})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry(t, pipelineSources(p))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.reloadOnHangup(ctx, hup, p, nil); close(done) }()
	defer func() { cancel(); <-done }()

	replay := func() string {
		t.Helper()
		if _, err := p.Replay(context.Background(), []string{inspectPcap}); err != nil {
			t.Fatal(err)
		}
		return scrape(t, reg)
	}
	served := func(out, prefix string) (string, bool) {
		for line := range strings.Lines(out) {
			if strings.HasPrefix(line, prefix) {
				return strings.TrimSpace(strings.TrimPrefix(line, prefix)), true
			}
		}
		return "", false
	}
	const custom = `tapdlp_classify_detections_total{type="customer_name",class="PII"} `
	const cards = `tapdlp_classify_detections_total{type="credit_card",class="PCI"} `
	out := replay()
	before, _ := served(out, cards)
	if before == "" || before == "0" {
		t.Fatalf("no card detections served before the reload:\n%s", out)
	}
	if _, ok := served(out, custom); ok {
		t.Fatal("customer_name served before it was configured")
	}

	hangup := func(wantLog string) {
		t.Helper()
		hup <- syscall.SIGHUP
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(logs.String(), wantLog) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log:\n%s", wantLog, logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	write("workers: 1\ninspection:\n  detectors: [{name: customer_name, class: PII, regex: 'Jane', confidence: high}]\n")
	hangup("configuration reloaded")
	names, _ := p.Classifier().Types()
	if !slices.Contains(names, "customer_name") {
		t.Fatalf("detectors after the hangup: %v", names)
	}
	out = replay()
	if n, ok := served(out, custom); !ok || n == "0" {
		t.Errorf("the detector added by the hangup: served %v, value %q; want counted", ok, n)
	}
	if after, _ := served(out, cards); after == before {
		t.Errorf("credit_card stayed at %s after a second replay", after)
	}

	write("rules: [{id: x, when: {dst.category: [nope]}}]\n")
	hangup("the previous one stays in force")
	if !strings.Contains(logs.String(), "tapdlp.yaml:1") {
		t.Errorf("the rejected reload does not say where:\n%s", logs.String())
	}
	if names, _ := p.Classifier().Types(); !slices.Contains(names, "customer_name") {
		t.Error("a rejected reload changed the detectors")
	}
}

// A reload that changes a start-up-only setting applies the rest and says,
// per setting, that it needs a restart; an unchanged one says nothing.
func TestReloadReportsRestartOnlySettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tapdlp.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("workers: 1\nmetrics:\n  listen: 127.0.0.1:9740\n")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	s := New(Config{Config: cfg, Path: path, Stderr: &logs})
	s.log = slog.New(slog.NewTextHandler(&logs, nil))
	p, err := pipeline.New(cfg, pipeline.Options{Sink: record.NewWriterSink(io.Discard), Log: s.log})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.reload(p, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "needs a restart") {
		t.Fatalf("unchanged file reported as needing a restart:\n%s", logs.String())
	}
	write("workers: 1\nheap_huge_pages: 0\nmetrics:\n  listen: 0.0.0.0:9741\ncapture:\n  bpf_filter: tcp\nalerts:\n  pcap_dir: " + t.TempDir() + "\n")
	if err := s.reload(p, nil); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"key=metrics.listen", "key=capture.bpf_filter", "key=alerts.pcap_*", "key=heap_huge_pages"} {
		if !strings.Contains(logs.String(), key) {
			t.Errorf("no restart warning for %s:\n%s", key, logs.String())
		}
	}
	if strings.Contains(logs.String(), "key=workers") {
		t.Errorf("unchanged workers reported:\n%s", logs.String())
	}
}

// Reloads are counted by result with the time of the last success, the
// build is named, and the served page has the standard go_* and process_*
// families; per-rule counters survive a reload.
func TestReloadAndBuildMetrics(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tapdlp.yaml")
	if err := os.WriteFile(path, []byte("workers: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	s := New(Config{Config: cfg, Path: path, Stderr: &logs, Build: BuildInfo{"v9", "abc"}})
	p, err := pipeline.New(cfg, pipeline.Options{Sink: record.NewWriterSink(io.Discard), Log: s.log})
	if err != nil {
		t.Fatal(err)
	}
	src := pipelineSources(p)
	src.build, src.reloads = &s.cfg.Build, s.reloads
	reg := registry(t, src)
	if _, err := p.Replay(context.Background(), []string{inspectPcap}); err != nil {
		t.Fatal(err)
	}
	ruleLines := func(out string) []string {
		var l []string
		for line := range strings.Lines(out) {
			if strings.HasPrefix(line, "tapdlp_rules_") && strings.Contains(line, "rule=") && !strings.HasSuffix(strings.TrimSpace(line), " 0") {
				l = append(l, strings.TrimSpace(line))
			}
		}
		return l
	}
	before := ruleLines(scrape(t, reg))
	if len(before) == 0 {
		t.Fatalf("no rule fired on %s:\n%s", inspectPcap, scrape(t, reg))
	}

	s.reloads.record(s.reload(p, nil), time.Unix(1_800_000_000, 0))
	if err := os.WriteFile(path, []byte("rules: [{id: x, when: {dst.category: [nope]}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.reloads.record(s.reload(p, nil), time.Unix(1_800_000_100, 0))
	out := scrape(t, reg)
	for _, want := range []string{
		`tapdlp_build_info{version="v9",commit="abc"} 1`,
		`tapdlp_config_reloads_total{result="success"} 1`,
		`tapdlp_config_reloads_total{result="failure"} 1`,
		`tapdlp_config_last_reload_success_timestamp_seconds 1800000000`,
		`tapdlp_config_last_reload_successful 0`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if after := ruleLines(out); !slices.Equal(before, after) {
		t.Errorf("per-rule counters changed across reloads:\nbefore %v\nafter  %v", before, after)
	}

	rec := httptest.NewRecorder()
	reg.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"\ngo_goroutines ", "\ngo_memstats_alloc_bytes ", "\nprocess_cpu_seconds_total ", "\nprocess_resident_memory_bytes ", "\ntapdlp_build_info{"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
	}
}
