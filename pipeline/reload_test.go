package pipeline

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

func TestReload(t *testing.T) {
	cfg, _ := parseTestConfig("alerts: {default_rules: false}\n")
	p, err := New(cfg, Options{Sink: nopSink{}})
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Rules().Len(); n != 0 {
		t.Fatalf("%d rules before reload", n)
	}
	// A good reload: a rule and a custom detector appear.
	good, err := parseTestConfig(`
alerts: {default_rules: false}
rules: [{id: tls-seen, when: {app: [tls]}}]
inspection:
  detectors: [{name: employee_id, class: PII, regex: 'EMP-[0-9]{6}', confidence: high}]
`)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Reload(good); err != nil {
		t.Fatal(err)
	}
	if n := p.Rules().Len(); n != 1 {
		t.Errorf("%d rules after reload, want 1", n)
	}
	names, _ := p.Classifier().Types()
	if !strings.Contains(strings.Join(names, ","), "employee_id") {
		t.Errorf("custom detector not loaded: %v", names)
	}
	// A bad reload keeps everything as it was and says where.
	bad, _ := parseTestConfig("rules: [{id: x, when: {dst.category: [nope]}}]\n")
	err = p.Reload(bad)
	if err == nil || !strings.Contains(err.Error(), "test.yaml:1") {
		t.Errorf("bad reload: %v, want an error at test.yaml:1", err)
	}
	if n := p.Rules().Len(); n != 1 {
		t.Errorf("a failed reload changed the rules: %d", n)
	}
	// The reloaded pipeline works: the new rule fires on the demo.
	var buf strings.Builder
	sink := record.NewWriterSink(&buf)
	p.opts.Sink = sink
	if _, err := p.Replay(context.Background(), []string{filepath.Join(pcapDir, "demo.pcap")}); err != nil {
		t.Fatal(err)
	}
	sink.Close()
	if !strings.Contains(buf.String(), `"rule":"tls-seen"`) {
		t.Error("the reloaded rule did not fire")
	}
}
