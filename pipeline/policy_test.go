package pipeline

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"
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
