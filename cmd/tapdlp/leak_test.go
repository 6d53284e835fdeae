package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
	"github.com/tapdlp/tapdlp/internal/recordschema"
)

// plantedValues are the raw sensitive values the generated captures carry.
func plantedValues() []string {
	vals := append([]string{}, scenarios.DemoCards...)
	vals = append(vals, scenarios.DemoSSN, scenarios.DemoEmail, scenarios.DemoIBAN, scenarios.DemoAWSKey)
	for _, c := range scenarios.InspectCases() {
		vals = append(vals, c.Value)
	}
	return vals
}

var nonDigits = regexp.MustCompile(`[^0-9]`)

// TestNoRawValuesInAnyOutput is the "never a leak" invariant: every output
// of the end-to-end runs — flow and alert records, the HTML report, the
// summary and logs on stderr, and `scan` output — is searched for every raw
// value the captures carry, also in digits-only form for numbers.
func TestNoRawValuesInAnyOutput(t *testing.T) {
	dir := t.TempDir()
	records, html := filepath.Join(dir, "records.jsonl"), filepath.Join(dir, "report.html")
	captures := []string{"demo.pcap", "inspect.pcap", "tcp-edge.pcap", "l2-l3.pcap", "cce_credit-cards.pcap"}
	args := []string{"replay", "-o", records, "--report", html}
	for _, c := range captures {
		args = append(args, filepath.Join("..", "..", "testdata", "pcap", c))
	}
	code, stdout, stderr := run(t, args...)
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	outputs := map[string]string{"stdout": stdout, "stderr": stderr}
	for _, f := range []string{records, html} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		outputs[filepath.Base(f)] = string(b)
	}
	if !strings.Contains(outputs["records.jsonl"], `"type":"credit_card"`) {
		t.Fatal("no card finding in the records: the test would prove nothing")
	}
	// scan reads the values themselves and must print only masked evidence.
	in := filepath.Join(dir, "values.txt")
	if err := os.WriteFile(in, []byte(strings.Join(plantedValues(), "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, flags := range [][]string{{"scan", in}, {"scan", "--json", in}} {
		code, out, errOut := run(t, flags...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", flags, code, errOut)
		}
		outputs[strings.Join(flags[:len(flags)-1], " ")] = out + errOut
	}
	for name, text := range outputs {
		for _, leak := range findLeaks(text, plantedValues()) {
			t.Errorf("%s contains a planted value: %s", name, leak)
		}
	}
}

// findLeaks reports which values occur in text: as written, and for
// numbers also grouped by four with spaces or dashes (how cards are
// written). Reports show only the value's first four characters.
func findLeaks(text string, values []string) []string {
	var leaks []string
	for _, v := range values {
		forms := []string{v}
		if d := nonDigits.ReplaceAllString(v, ""); len(d) == len(v) && len(d) >= 12 {
			var g []string
			for i := 0; i < len(d); i += 4 {
				g = append(g, d[i:min(i+4, len(d))])
			}
			forms = append(forms, strings.Join(g, " "), strings.Join(g, "-"))
		}
		for _, f := range forms {
			if strings.Contains(text, f) {
				leaks = append(leaks, v[:4]+"…")
				break
			}
		}
	}
	return leaks
}

// The checker itself must catch a leak in every form it claims to.
func TestFindLeaksCatchesLeaks(t *testing.T) {
	vals := []string{"4111111111111111", "536-22-8741"}
	for _, text := range []string{`{"x":"4111111111111111"}`, "card 4111 1111 1111 1111", "4111-1111-1111-1111", "ssn 536-22-8741"} {
		if len(findLeaks(text, vals)) == 0 {
			t.Errorf("findLeaks missed the value in %q", text)
		}
	}
	if l := findLeaks(`{"evidence":["************1111","*****8741"]}`, vals); len(l) != 0 {
		t.Errorf("masked evidence reported as a leak: %v", l)
	}
}

// substrings8 are every 8-character substring of the values: a leak of any
// part of a value long enough to identify it counts. Of an e-mail address
// only the mailbox (up to and including the @) counts: masked evidence
// keeps the domain by design (q***@example.org).
func substrings8(values []string) []string {
	var out []string
	for _, v := range values {
		if at := strings.IndexByte(v, '@'); at > 0 {
			v = v[:at+1]
		}
		for i := 0; i+8 <= len(v); i++ {
			out = append(out, v[i:i+8])
		}
	}
	return out
}

// leakCount counts occurrences of any 8-character substring of the values
// in text, case-insensitively (DNS names are case-insensitive).
func leakCount(text string, values []string) (n int, first string) {
	low := strings.ToLower(text)
	for _, s := range substrings8(values) {
		if c := strings.Count(low, strings.ToLower(s)); c > 0 {
			n += c
			if first == "" {
				first = s[:4] + "…"
			}
		}
	}
	return n, first
}

// TestNoPlantedValueInAnyField is issue 11.1's test: a capture carries known
// values in every traffic-derived field the sensor can write (names, SNI,
// CONNECT target, DNS questions and answers, URI path and query, every
// request and response header, JSON keys, multipart file names, the SMTP
// envelope). Replayed with every output on — flow, alert and volume
// records, the HTML report, debug logs and the summary — no output may hold
// any 8-character substring of them, and the values found in names are
// findings that fire the default rules.
func TestNoPlantedValueInAnyField(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "leak.pcap")
	b, err := scenarios.Leak()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pcap, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if n, _ := leakCount(string(b), scenarios.LeakValues()); n == 0 {
		t.Fatal("the capture carries no planted value: the test would prove nothing")
	}
	cfg := filepath.Join(dir, "tapdlp.yaml")
	if err := os.WriteFile(cfg, []byte("log:\n  level: debug\nalerts:\n  default_rules: true\n  volume_records: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	records, html := filepath.Join(dir, "records.jsonl"), filepath.Join(dir, "report.html")
	code, stdout, stderr := run(t, "replay", "-c", cfg, "-o", records, "--report", html, "--workers", "1", pcap)
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	outputs := map[string]string{"stdout": stdout, "stderr (logs, summary)": stderr}
	for _, f := range []string{records, html} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		outputs[filepath.Base(f)] = string(b)
	}
	recs := outputs["records.jsonl"]
	for _, want := range []string{`"in":"dns.query"`, `"in":"tls.sni"`, `"in":"http.host"`, `"in":"http.user_agent"`,
		`"type":"alert"`, `"rule":"default.card-to-unknown"`, `"rule":"default.dns-exfiltration"`, `.exfil-dns.test`, `"type":"aws_access_key"`} {
		if !strings.Contains(recs, want) {
			t.Errorf("records lack %s", want)
		}
	}
	for _, e := range recordschema.ValidateLines([]byte(recs)) {
		t.Errorf("record breaks the published schema: %s", e)
	}
	// DNS exfiltration to an unknown resolver is card data leaving.
	dnsAlert := false
	for _, l := range strings.Split(recs, "\n") {
		if strings.Contains(l, `"type":"alert"`) && strings.Contains(l, `"rule":"default.card-to-unknown"`) && strings.Contains(l, `"port":53`) {
			dnsAlert = true
		}
	}
	if !dnsAlert {
		t.Error("no default.card-to-unknown alert for the card in a DNS query")
	}
	total := 0
	for name, text := range outputs {
		n, first := leakCount(text, scenarios.LeakValues())
		total += n
		if n > 0 {
			t.Errorf("%s: %d occurrences of planted values (first: %s)", name, n, first)
		}
	}
	t.Logf("leak-grep count over all outputs: %d", total)
}
