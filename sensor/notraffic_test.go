package sensor

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/sinks"
)

var (
	ipv4Re = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)
	ipv6Re = regexp.MustCompile(`(?i)\b[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}\b`)
	// hostRe matches DNS names in the records: label.label.tld.
	hostRe = regexp.MustCompile(`"(?:host|name|query|sni|server_name)":"([^"]+)"`)
	ipRe   = regexp.MustCompile(`"(?:ip|outer_src|outer_dst)":"([^"]+)"`)
)

// TestNoTrafficInScrape replays the demo capture through the real pipeline,
// registered as a run registers it, and checks that nothing the traffic
// carried — no address, no host name — reaches the exposition.
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
	src := pipelineSources(p)
	src.router, src.sinks = router, []string{"stdout"}
	out := scrape(t, registry(t, src))
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
	// Detector names are configuration (openai_api_key is a built-in
	// type), not traffic: they are taken out before the check.
	detectors, _ := p.Classifier().Types()
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "#") {
			continue // help text is code, not traffic
		}
		series, _, _ := strings.Cut(line, " ")
		for _, d := range detectors {
			series = strings.ReplaceAll(series, `type="`+d+`"`, `type=""`)
		}
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
