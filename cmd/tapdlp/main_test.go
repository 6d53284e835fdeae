package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = dispatch(args, &o, &e)
	return code, o.String(), e.String()
}

// dispatch runs the command line in this process, without signal
// handling (main's NotifyContext is exercised by the tests that run the
// command as a separate process).
func dispatch(args []string, stdout, stderr io.Writer) int {
	return program.Main(context.Background(), nil, args, stdout, stderr)
}

const demo = "../../testdata/pcap/demo.pcap"

// The README's first command: one JSON flow record per line on stdout and a
// summary on stderr.
func TestReplayDemo(t *testing.T) {
	code, out, errOut := run(t, "replay", demo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 10 {
		t.Fatalf("only %d records", len(lines))
	}
	for _, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if r["type"] != "flow" && r["type"] != "alert" {
			t.Errorf("record type %v", r["type"])
		}
	}
	for _, want := range []string{"packets 104", "flows 11", "decode errors 0", "Gbit/s"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("summary %q lacks %q", errOut, want)
		}
	}
}

func TestReplayOutputFileAndFlagsAfterArgs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "flows.jsonl")
	code, stdout, errOut := run(t, "replay", demo, "../../testdata/pcap/raw-ip.pcapng.gz", "-o", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if stdout != "" || errOut != "" {
		t.Errorf("-o and -q: stdout %q stderr %q", stdout, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"type":"flow"`); n != 13 {
		t.Errorf("%d flow records in %s, want 13 (11 demo + 2 raw-ip)", n, out)
	}
}

func TestReplayErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file", []string{"replay"}, 2, "usage: tapdlp replay"},
		{"missing file", []string{"replay", "nope.pcap"}, 1, "nope.pcap"},
		{"not a capture", []string{"replay", "main.go"}, 1, "not a pcap or pcapng"},
		{"bad config", []string{"replay", "-c", "testdata/bad.yaml", demo}, 1, `testdata/bad.yaml:3: reassembly.memcap: "lots" is not a size`},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := run(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d containing %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}

func TestConfigCommands(t *testing.T) {
	code, out, _ := run(t, "config", "default")
	if code != 0 || !strings.Contains(out, "inspect_depth: 1MiB") {
		t.Fatalf("config default: exit %d", code)
	}
	// The printed default must itself be a valid configuration.
	path := filepath.Join(t.TempDir(), "default.yaml")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, "config", "check", path); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("config check default: exit %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run(t, "config", "check", "testdata/bad.yaml"); code != 1 || !strings.Contains(errOut, "testdata/bad.yaml:3") {
		t.Errorf("config check bad: exit %d %s", code, errOut)
	}
}

func TestRulesCommands(t *testing.T) {
	if code, _, errOut := run(t, "rules", "check", "testdata/bad-rules.yaml"); code != 1 ||
		!strings.Contains(errOut, `testdata/bad-rules.yaml:5: rules[0].when.dst.category: "ai" is not a category`) {
		t.Errorf("rules check: exit %d %q", code, errOut)
	}
	code, out, errOut := run(t, "rules", "test", "testdata/tls-rule.yaml", demo)
	if code != 0 {
		t.Fatalf("rules test: exit %d %s", code, errOut)
	}
	if !strings.Contains(out, "tls-anywhere") || !regexpFields(out, "tls-anywhere", "low", "2", "2", "0") {
		t.Errorf("rules test table:\n%s", out)
	}
}

// regexpFields reports whether a line starting with first has exactly the
// given whitespace-separated fields.
func regexpFields(text string, fields ...string) bool {
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) == len(fields) && f[0] == fields[0] {
			return strings.Join(f, " ") == strings.Join(fields, " ")
		}
	}
	return false
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "tapdlp dev (commit ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		arg, category, vendor string
		matched               bool
	}{
		{"api.openai.com", "ai_ml", "OpenAI", true},
		{"bedrock-runtime.eu-central-1.amazonaws.com", "ai_ml", "Amazon Web Services", true},
		{"openai.com.evil.example", "unknown", "", false},
		{"evil-openai.com", "unknown", "", false},
		{"10.1.2.3", "internal", "", false},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, "lookup", "--json", tt.arg)
		if code != 0 {
			t.Fatalf("%s: exit %d %s", tt.arg, code, errOut)
		}
		var e struct {
			Name, Category, Vendor, Matched string
		}
		if err := json.Unmarshal([]byte(out), &e); err != nil {
			t.Fatalf("%s: %v in %q", tt.arg, err, out)
		}
		if e.Category != tt.category || e.Vendor != tt.vendor || (e.Matched != "") != tt.matched {
			t.Errorf("%s: got %+v", tt.arg, e)
		}
	}
	code, out, _ := run(t, "lookup", "generativelanguage.googleapis.com")
	if code != 0 || !strings.Contains(out, "category:") || !strings.Contains(out, "ai_ml") {
		t.Errorf("text lookup: %q", out)
	}
}

func TestReplayReport(t *testing.T) {
	html := filepath.Join(t.TempDir(), "report.html")
	code, _, errOut := run(t, "replay", "-q", "-o", os.DevNull, "--report", html, demo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<html", "ai_ml", "openai.com"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	code, out, _ := run(t, "report", "-o", "-", "../../testdata/golden/demo.jsonl")
	if code != 0 || !strings.Contains(out, "<html") {
		t.Errorf("report command: exit %d", code)
	}
}

// replay --outputs writes through the configured sinks: here a rotated file
// sink that takes only alerts.
func TestReplayOutputs(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tapdlp.yaml")
	alerts := filepath.Join(dir, "alerts.jsonl")
	os.WriteFile(cfg, []byte("outputs:\n  sinks:\n    - {name: alerts, type: file, types: [alert], file: {path: "+alerts+"}}\n"), 0o644)
	if code, _, errOut := run(t, "replay", "-q", "--outputs", "-c", cfg, demo); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(alerts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"type":"alert"`) || strings.Contains(string(b), `"type":"flow"`) {
		t.Errorf("alerts file: %.300s", b)
	}
}

// `tcpdump -w - | tapdlp replay -`: a capture on standard input.
func TestReplayStdin(t *testing.T) {
	b, err := os.ReadFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.Write(b); w.Close() }()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	code, out, errOut := run(t, "replay", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, `"type":"flow"`); n != 11 {
		t.Errorf("%d flows from stdin, want 11", n)
	}
}

// Every command takes -c/--config FILE.
func TestEveryCommandTakesConfig(t *testing.T) {
	for _, args := range [][]string{
		{"replay", "-q", "-o", os.DevNull, demo},
		{"lookup", "openai.com"},
		{"rules", "check", "testdata/tls-rule.yaml"},
		{"rules", "test", "testdata/tls-rule.yaml", demo},
		{"report", "-o", os.DevNull, "../../testdata/golden/demo.jsonl"},
		{"config", "check", "testdata/tls-rule.yaml"},
		{"scan", "main.go"},
	} {
		for _, flag := range []string{"-c", "--config"} {
			a := append(append([]string{}, args...), flag, "../../deploy/tapdlp.yaml")
			if args[0] == "config" {
				a = []string{"config", "check", flag, "../../deploy/tapdlp.yaml"}
			}
			code, _, errOut := run(t, a...)
			if code > 1 || strings.Contains(errOut, "flag provided but not defined") || strings.Contains(errOut, "no such file") {
				t.Errorf("tapdlp %s: exit %d %s", strings.Join(a, " "), code, errOut)
			}
		}
	}
}
