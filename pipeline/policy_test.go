package pipeline

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

// An alert is written when its conditions first hold — here, when the TLS
// ClientHello names the destination — not when the flow ends, and the flow
// record lists it.
func TestAlertFiresWhileFlowRuns(t *testing.T) {
	cfg := `
alerts: {default_rules: false}
rules:
  - id: openai-seen
    severity: low
    when: {dst.name: ["*.openai.com"], app: [tls]}
`
	lines := replayRecords(t, cfg, 2, filepath.Join(pcapDir, "demo.pcap"))
	var alertTS, flowEnd time.Time
	var flowAlerts []string
	alerts := 0
	for _, l := range lines {
		var r struct {
			TS     time.Time
			End    time.Time
			Alerts []string
			Dst    struct{ Name string }
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		var typ struct{ Type, Rule string }
		json.Unmarshal([]byte(l), &typ)
		switch {
		case typ.Type == "alert" && typ.Rule == "openai-seen":
			alerts++
			alertTS = r.TS
		case typ.Type == "flow" && r.Dst.Name == "api.openai.com":
			flowEnd, flowAlerts = r.End, r.Alerts
		}
	}
	if alerts != 1 {
		t.Fatalf("got %d openai-seen alerts, want 1", alerts)
	}
	if len(flowAlerts) != 1 || flowAlerts[0] != "openai-seen" {
		t.Errorf("flow record alerts = %v", flowAlerts)
	}
	if !alertTS.Before(flowEnd) {
		t.Errorf("alert at %v, flow ended %v: the alert waited for the flow to end", alertTS, flowEnd)
	}
}

func TestBadRulesFailWithPosition(t *testing.T) {
	cfg, err := parseTestConfig("rules:\n  - id: x\n    when: {dst.category: [ai]}\n")
	if err != nil {
		t.Fatal(err)
	}
	_, err = BuildRules(cfg)
	if err == nil || !contains(err.Error(), "test.yaml:3") {
		t.Fatalf("err = %v, want a test.yaml:3 position", err)
	}
}

func TestReplayFilter(t *testing.T) {
	cfg, _ := parseTestConfig("")
	for _, tt := range []struct {
		expr  string
		flows int
		err   string
	}{
		{"tcp port 443", 2, ""},
		{"udp port 53", 2, ""},
		{"not tcp", 4, ""},
		{"tcp port foo", 0, "port names are not supported"},
	} {
		var buf strings.Builder
		p, err := New(cfg, Options{Sink: record.NewWriterSink(&buf), Filter: tt.expr})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := p.Replay(context.Background(), []string{filepath.Join(pcapDir, "demo.pcap")})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.expr, err, tt.err)
			}
			continue
		}
		if err != nil || sum.Flows != uint64(tt.flows) || sum.Filtered == 0 {
			t.Errorf("%q: %d flows, %d filtered, err %v; want %d flows", tt.expr, sum.Flows, sum.Filtered, err, tt.flows)
		}
	}
}
