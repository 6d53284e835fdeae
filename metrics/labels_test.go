package metrics

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/sinks"
	"github.com/tapdlp/tapdlp/rules"
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
	rs := rules.Stats{}
	for i := range n {
		rs.Rules = append(rs.Rules, rules.RuleStats{ID: fmt.Sprintf("r%d", i), Severity: "low", Alerts: 1})
	}
	rs.Rules = append(rs.Rules, rules.RuleStats{ID: "x\"} 1\nfake_metric{a=\"", Severity: "high", Alerts: 1})
	st := new(sinks.Stats)
	st.Written.Store(5)
	router := sinks.NewRouter()
	router.Add("a b", record.NewWriterSink(io.Discard), st, "flow")
	router.Add("a_b", record.NewWriterSink(io.Discard), st, "flow")
	r := New(Sources{
		Rules: func() rules.Stats { return rs },
		Sinks: router,
	})
	samples, _, _ := parseExposition(t, scrape(t, r))
	var alerts, series int
	var other bool
	for _, s := range samples {
		if s.family == famRuleAlerts.name {
			series++
			alerts += int(s.value)
			other = other || s.labels["rule"] == "other"
		}
		if strings.Contains(s.series, "fake_metric") && !strings.Contains(s.series, "fake_metric{a=") {
			t.Errorf("label injection: %s", s.series)
		}
		if s.family == famSinkWritten.name && (s.labels["sink"] != "a_b" || s.value != 10) {
			t.Errorf("sinks whose names sanitise alike must merge: %s %v", s.series, s.value)
		}
	}
	if series > maxSeries || !other {
		t.Errorf("%d series (cap %d), other folded: %v", series, maxSeries, other)
	}
	if alerts != n+1 {
		t.Errorf("alerts sum to %d after folding, want %d", alerts, n+1)
	}
}

var (
	ipv4Re = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)
	ipv6Re = regexp.MustCompile(`(?i)\b[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}\b`)
	// hostRe matches DNS names in the records: label.label.tld.
	hostRe = regexp.MustCompile(`"(?:host|name|query|sni|server_name)":"([^"]+)"`)
	ipRe   = regexp.MustCompile(`"(?:ip|outer_src|outer_dst)":"([^"]+)"`)
)

// TestNoTrafficInScrape replays the demo capture through the real pipeline,
// with real rules and destinations engines, and checks that nothing the
// traffic carried — no address, no host name — reaches the exposition.
func TestNoTrafficInScrape(t *testing.T) {
	cfg, err := config.Parse("default.yaml", config.Default())
	if err != nil {
		t.Fatal(err)
	}
	var recs bytes.Buffer
	sink := record.NewWriterSink(&recs)
	router := sinks.NewRouter()
	router.Add("stdout", sink, nil, sinks.RecordTypes...)
	p, err := pipeline.New(cfg, pipeline.Options{Sink: router})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Replay(context.Background(), []string{"../testdata/pcap/demo.pcap"}); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	r := New(Sources{
		Pipeline:     p.Stats(),
		Decode:       p.DecodeStats(),
		Flows:        p.FlowStats(),
		Rules:        p.Rules().Stats,
		Destinations: p.Destinations().Stats,
		Sinks:        router,
	})
	out := scrape(t, r)
	if !strings.Contains(out, "tapdlp_capture_packets_total ") || strings.Contains(out, "tapdlp_capture_packets_total 0\n") {
		t.Fatal("replay counted no packets: the test would prove nothing")
	}
	// The scrape reflects the run: every flow flushed, every record counted.
	nrec := strings.Count(recs.String(), "\n")
	for _, want := range []string{
		"tapdlp_flows_active 0",
		fmt.Sprintf("tapdlp_pipeline_records_total %d", nrec),
	} {
		if !strings.Contains(out, "\n"+want+"\n") {
			t.Errorf("missing %q after the replay", want)
		}
	}

	// What the traffic carried, taken from the records themselves.
	secrets := map[string]bool{"openai": true, "example": true, "amazonaws": true, "google": true}
	for _, m := range hostRe.FindAllStringSubmatch(recs.String(), -1) {
		secrets[m[1]] = true
		for _, label := range strings.Split(m[1], ".") {
			if len(label) >= 4 { // whole words such as "openai", "shady-uploads"
				secrets[label] = true
			}
		}
	}
	for _, m := range ipRe.FindAllStringSubmatch(recs.String(), -1) {
		if _, err := netip.ParseAddr(m[1]); err == nil {
			secrets[m[1]] = true
		}
	}
	if len(secrets) < 10 {
		t.Fatalf("only %d names and addresses found in the records", len(secrets))
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "#") {
			continue // help text is code, not traffic
		}
		series, _, _ := strings.Cut(line, " ")
		if ipv4Re.MatchString(series) || ipv6Re.MatchString(series) {
			t.Errorf("address-like text in %q", line)
		}
		for s := range secrets {
			if strings.Contains(strings.ToLower(series), strings.ToLower(s)) {
				t.Errorf("traffic value %q in %q", s, line)
			}
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", out)
	}
}
