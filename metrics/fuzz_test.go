package metrics

import (
	"io"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/sinks"
	"github.com/tapdlp/tapdlp/rules"
)

// FuzzConfiguredNames feeds arbitrary configured names (rule ids,
// severities, interface, sink and detector names) through a scrape: the
// exposition must stay well formed, bounded and free of injected series.
func FuzzConfiguredNames(f *testing.F) {
	f.Add("pii-to-ai", "high", "eth0", "syslog", "credit_card", "PCI")
	f.Add("x\"} 1\nevil_total 9\n#", "", "a{b}", "s\\", "\x00\xff", "é")
	f.Add(strings.Repeat("r", 300), "low", "", "", "", "")
	f.Fuzz(func(t *testing.T, rule, sev, iface, sink, dtype, class string) {
		router := sinks.NewRouter()
		router.Add(sink, record.NewWriterSink(io.Discard), nil, "flow")
		r := New(Sources{
			Rules: func() rules.Stats {
				return rules.Stats{Rules: []rules.RuleStats{{ID: rule, Severity: sev, Alerts: 1}, {ID: rule + "2", Severity: sev}}}
			},
			Kernel: func() (live.Stats, error) {
				return live.Stats{Sockets: []live.SocketStats{{Interface: iface, Packets: 1}}}, nil
			},
			Sinks: router,
			Classify: func() ClassifyStats {
				return ClassifyStats{Detections: []Detection{{Type: dtype, Class: class, Count: 1}}}
			},
		})
		out := scrape(t, r)
		samples, _, _ := parseExposition(t, out)
		for _, s := range samples {
			if byName[s.family] == nil {
				t.Fatalf("injected family %q", s.family)
			}
			for _, v := range s.labels {
				if len(v) > maxLabelLen {
					t.Fatalf("label value of %d bytes", len(v))
				}
			}
		}
	})
}
