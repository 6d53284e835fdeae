package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/record/sinks"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// Every YAML example in the README is a configuration a user may paste:
// it must parse, and its rules and custom detectors must compile.
func TestREADMEConfigExamples(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllStringSubmatch(string(b), -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d YAML examples in the README", len(blocks))
	}
	for i, m := range blocks {
		cfg, err := config.Parse("README.md example", []byte(m[1]))
		if err != nil {
			t.Errorf("example %d: %v\n%s", i, err, m[1])
			continue
		}
		if _, err := pipeline.BuildRules(cfg); err != nil {
			t.Errorf("example %d: rules: %v", i, err)
		}
		if _, err := pipeline.BuildClassifier(cfg); err != nil {
			t.Errorf("example %d: detectors: %v", i, err)
		}
		if err := sinks.Validate(&cfg.Outputs); err != nil {
			t.Errorf("example %d: outputs: %v", i, err)
		}
	}
}

// The README's commands (without captures or files that only exist on a
// user's machine) run as documented.
func TestREADMECommands(t *testing.T) {
	b, _ := os.ReadFile("../../README.md")
	if !strings.Contains(string(b), "go run ./cmd/tapdlp replay testdata/pcap/demo.pcap") || !strings.Contains(string(b), "go test ./...") {
		t.Fatal("the README lost its two set-up commands")
	}
	for _, args := range [][]string{
		{"lookup", "copilot.microsoft.com"},
		{"config", "default"},
		{"rules", "default"},
		{"version"},
	} {
		if code, _, errOut := run(t, args...); code != 0 {
			t.Errorf("tapdlp %s: exit %d %s", strings.Join(args, " "), code, errOut)
		}
	}
}

// The README's metric table is the generated catalog, word for word.
func TestREADMEMetricsTable(t *testing.T) {
	readme, _ := os.ReadFile("../../README.md")
	doc, err := os.ReadFile("../../metrics/METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(l, "|") {
			want = append(want, l)
		}
	}
	m := regexp.MustCompile(`(?s)<!-- metrics:begin -->\n(.*?)\n<!-- metrics:end -->`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("no metrics table between markers in the README")
	}
	if got := string(m[1]); got != strings.Join(want, "\n") {
		t.Error("the README's metrics table differs from metrics/METRICS.md (copy the table from the file)")
	}
}

// section returns the README from the heading to the next "## " heading.
func section(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	s = s[i+len(heading)+2:]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	return s
}

var jsonBlock = regexp.MustCompile("(?s)```json\n(.*?)```")

// The README's example records are what the demo capture gives, field for
// field: a flow record and an alert of the upload to shady-uploads, with
// one worker and with several.
func TestREADMERecordsAreTheDemos(t *testing.T) {
	blocks := jsonBlock.FindAllStringSubmatch(section(t, "## Flow records"), -1)
	if len(blocks) < 2 {
		t.Fatalf("found %d JSON examples under Flow records, want the flow and the alert", len(blocks))
	}
	for _, workers := range []string{"1", "3"} {
		out := filepath.Join(t.TempDir(), "demo.json")
		if code, _, errOut := run(t, "replay", "-workers", workers, "-o", out, demo); code != 0 {
			t.Fatalf("replay: exit %d: %s", code, errOut)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var recs []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, m)
		}
		for i, b := range blocks {
			var want map[string]any
			if err := json.Unmarshal([]byte(b[1]), &want); err != nil {
				t.Fatalf("example %d is not one JSON object: %v\n%s", i, err, b[1])
			}
			var got map[string]any
			for _, r := range recs {
				if r["type"] == want["type"] && r["flow_id"] == want["flow_id"] && r["rule"] == want["rule"] {
					got = r
				}
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				t.Errorf("workers %s: README example %d is not what the demo gives:\n%s\nthe demo's:\n%s", workers, i, b[1], g)
			}
		}
	}
}

// The worked policy example passes `tapdlp rules check` as written.
func TestREADMEPolicyExamplePassesRulesCheck(t *testing.T) {
	m := yamlBlock.FindStringSubmatch(section(t, "## Policies"))
	if m == nil || !strings.Contains(m[1], "payments-egress-allowlist") {
		t.Fatal("the Policies section lost its worked example")
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(m[1]), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, "rules", "check", path); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("rules check: exit %d %s%s", code, out, errOut)
	}
}
