package main

import (
	"os"
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
