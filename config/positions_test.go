package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/record/sinks"
	"github.com/tapdlp/tapdlp/rules"
)

// Every kind of bad configuration, whichever package finds it, is reported
// as a config.Error naming the file, the line and the key.
func TestEveryConfigErrorNamesFileLine(t *testing.T) {
	// check runs the consumer that reads the section after loading.
	outputs := func(c *config.Config) error { return sinks.Validate(&c.Outputs) }
	inspection := func(c *config.Config) error { _, err := pipeline.BuildClassifier(c); return err }
	inlineRules := func(c *config.Config) error {
		rs, err := rules.ParseNode(c.RulesFile(), &c.Rules)
		if err != nil {
			return err
		}
		_, err = rules.Compile(rs, rules.Options{})
		return err
	}
	tests := []struct {
		name  string
		yaml  string
		check func(*config.Config) error // nil: config.Parse must fail
		line  int
		key   string
	}{
		{"yaml syntax", "workers: 1\nflows: [\n", nil, 2, ""},
		{"unknown key", "workers: 1\nreassembly:\n  memcapp: 1MiB\n", nil, 3, "reassembly.memcapp"},
		{"bad size", "reassembly:\n  memcap: lots\n", nil, 2, "reassembly.memcap"},
		{"bad duration", "flows:\n  udp_timeout: soon\n", nil, 2, "flows.udp_timeout"},
		{"out of range", "log:\n  level: info\nworkers: 5000\n", nil, 3, "workers"},
		{"bad category in list", "inspection:\n  always_inspect:\n    - ai_ml\n    - ai\n", nil, 2, "inspection.always_inspect"},
		{"sink missing key", "outputs:\n  sinks:\n    - name: f\n      type: file\n", outputs, 3, "outputs.sinks[0].file.path"},
		{"sink bad value", "outputs:\n  state_dir: /tmp\n  sinks:\n    - name: k\n      type: kafka\n      kafka:\n        brokers: [k:9092]\n        acks: two\n", outputs, 8, "outputs.sinks[0].kafka.acks"},
		{"sink name twice", "outputs:\n  sinks:\n    - {name: a, type: stdout}\n    - name: a\n      type: file\n      file: {path: /tmp/x}\n", outputs, 4, "outputs.sinks[1].name"},
		{"sink bad format", "outputs:\n  sinks:\n    - name: s\n      type: stdout\n      format: cef\n", outputs, 5, "outputs.sinks[0].format"},
		{"sensor name not printable", "sensor:\n  name: \"a\\tb\"\n", nil, 2, "sensor.name"},
		{"sensor name too long", "sensor:\n  name: " + strings.Repeat("x", 65) + "\n", nil, 2, "sensor.name"},
		{"inspection.disable", "inspection:\n  disable:\n    - credit_card\n    - nope\n", inspection, 4, "inspection.disable[1]"},
		{"custom detector unknown key", "inspection:\n  detectors:\n    - name: emp\n      class: PII\n      regex: 'EMP-[0-9]{6}'\n      colour: red\n", inspection, 6, "detectors[0].colour"},
		{"custom detector bad regex", "inspection:\n  detectors:\n    - name: emp\n      class: PII\n      regex: 'EMP-(['\n", inspection, 5, "detectors[0].regex"},
		{"rule bad category", "rules:\n  - id: r1\n    severity: high\n    when:\n      dst.category: [ai]\n", inlineRules, 5, "rules[0].when.dst.category"},
		{"rule bad threshold", "rules:\n  - id: r1\n    severity: high\n    when: {dst.category: [ai_ml]}\n    threshold: {bytes_out: lots}\n", inlineRules, 5, "rules[0].threshold.bytes_out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("bad.yaml", []byte(tt.yaml))
			if tt.check == nil {
				if err == nil {
					t.Fatal("config.Parse accepted it")
				}
			} else {
				if err != nil {
					t.Fatalf("config.Parse: %v", err)
				}
				if err = tt.check(c); err == nil {
					t.Fatal("the consumer accepted it")
				}
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %q is not a *config.Error", err, err)
			}
			if ce.File != "bad.yaml" || ce.Line != tt.line || (tt.key != "" && ce.Key != tt.key) {
				t.Errorf("got %s:%d key %q, want bad.yaml:%d key %q (%v)", ce.File, ce.Line, ce.Key, tt.line, tt.key, err)
			}
			if want := "bad.yaml:"; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("message %q does not start with %q", err, want)
			}
		})
	}
}

// A key set nowhere in the user's file is reported at its enclosing key
// (or list item); without positions (options built in code) there is no
// file at all rather than a wrong one.
func TestErrorAtFallsBackToTheEnclosingKey(t *testing.T) {
	c, err := config.Parse("my.yaml", []byte("outputs:\n  sinks:\n    - name: f\n      type: file\n      file: {max_size: 1MiB}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e := c.ErrorAt("outputs.sinks[0].file.path", "required"); e.File != "my.yaml" || e.Line != 5 {
		t.Errorf("missing file.path at %s:%d, want my.yaml:5 (the file: block)", e.File, e.Line)
	}
	var o config.Outputs
	if e := o.ErrorAt("outputs.sinks", "x"); e.File != "" || e.Error() != "outputs.sinks: x" {
		t.Errorf("positionless error = %q (file %q)", e.Error(), e.File)
	}
}
