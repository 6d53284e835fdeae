package metrics

import (
	"fmt"
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"eth0", "eth0"},
		{"default.sensitive-to-ai", "default.sensitive-to-ai"},
		{"syslog:siem/1", "syslog:siem/1"},
		{"", "none"},
		{`a"b`, "a_b"},
		{"a\nb\\c", "a_b_c"},
		{"évil}", "__vil_"},
		{"x y{z}", "x_y_z_"},
		{strings.Repeat("r", 100), strings.Repeat("r", maxLabelLen)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			if got := sanitize(tt.in); got != tt.want {
				t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendEscaped(t *testing.T) {
	if got := string(appendEscaped(nil, "a\\b\"c\nd")); got != `a\\b\"c\nd` {
		t.Errorf("got %s", got)
	}
}

// TestHostileConfiguredNames: even a configuration full of odd and
// numerous names yields a well-formed, bounded exposition whose totals are
// still right.
func TestHostileConfiguredNames(t *testing.T) {
	const n = 3 * maxSeries
	st := &toyStats{}
	for i := range n {
		st.Rules = append(st.Rules, toyRule{ID: fmt.Sprintf("r%d", i), Severity: "low", Alerts: 1})
	}
	st.Rules = append(st.Rules, toyRule{ID: "x\"} 1\nfake_metric{a=\"", Severity: "high", Alerts: 1})
	// Two names that sanitise alike merge into one series.
	st.Sinks = []toySink{{Name: "a b", Written: 5}, {Name: "a_b", Written: 5}}
	samples := parse(t, scrape(t, toyRegistry(t, st)))
	var alerts, series int
	var other bool
	for _, s := range samples {
		if s.Family == "tapdlp_rules_alerts_total" {
			series++
			alerts += int(s.Value)
			other = other || s.Labels["rule"] == "other"
		}
		if strings.Contains(s.Series, "fake_metric") && !strings.Contains(s.Series, "fake_metric{a=") {
			t.Errorf("label injection: %s", s.Series)
		}
		if s.Family == "tapdlp_sink_records_written_total" && (s.Labels["sink"] != "a_b" || s.Value != 10) {
			t.Errorf("sinks whose names sanitise alike must merge: %s %v", s.Series, s.Value)
		}
	}
	if series > maxSeries || !other {
		t.Errorf("%d series (cap %d), other folded: %v", series, maxSeries, other)
	}
	if alerts != n+1 {
		t.Errorf("alerts sum to %d after folding, want %d", alerts, n+1)
	}
}

// FuzzConfiguredNames feeds arbitrary configured names through a scrape:
// the exposition must stay well formed, bounded and free of injected
// series.
func FuzzConfiguredNames(f *testing.F) {
	f.Add("pii-to-ai", "high", "syslog", "spool_full")
	f.Add("x\"} 1\nevil_total 9\n#", "", "s\\", "\x00\xff")
	f.Add(strings.Repeat("r", 300), "low", "", "é")
	f.Fuzz(func(t *testing.T, rule, sev, sink, reason string) {
		st := &toyStats{
			Rules: []toyRule{{ID: rule, Severity: sev, Alerts: 1}, {ID: rule + "2", Severity: sev}},
			Sinks: []toySink{{Name: sink, Drops: []toyDrop{{Reason: reason, N: 1}}}},
		}
		r := toyRegistry(t, st)
		known := map[string]bool{}
		for _, f := range r.Catalog() {
			known[f.Name] = true
		}
		for _, s := range parse(t, scrape(t, r)) {
			if !known[s.Family] {
				t.Fatalf("injected family %q", s.Family)
			}
			for _, v := range s.Labels {
				if len(v) > maxLabelLen {
					t.Fatalf("label value of %d bytes", len(v))
				}
			}
		}
	})
}
