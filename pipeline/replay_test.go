package pipeline

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/internal/recordschema"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

const pcapDir = "../testdata/pcap"

// replayRecords replays files with n workers and returns the JSON lines,
// sorted (tests that look for records need no particular order).
func replayRecords(t testing.TB, cfgYAML string, n int, files ...string) []string {
	t.Helper()
	lines := replayOrdered(t, cfgYAML, n, files...)
	sort.Strings(lines)
	return lines
}

// replayOrdered replays files with n workers and returns the JSON lines in
// the order they were written, which the ordered stage makes independent
// of the number of workers and of scheduling (doc.go).
func replayOrdered(t testing.TB, cfgYAML string, n int, files ...string) []string {
	t.Helper()
	_, lines := replayWithPipeline(t, cfgYAML, n, files...)
	return lines
}

// replayWithPipeline is replayOrdered that also returns the pipeline, for its
// counters.
func replayWithPipeline(t testing.TB, cfgYAML string, n int, files ...string) (*Pipeline, []string) {
	t.Helper()
	cfg, err := parseTestConfig(cfgYAML)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = n
	var buf bytes.Buffer
	sink := record.NewWriterSink(&buf)
	p, err := New(cfg, Options{Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Replay(context.Background(), files); err != nil {
		t.Fatalf("replay %v: %v", files, err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if n := p.stats.OrderForced.Load(); n != 0 {
		t.Errorf("replay %v: %d emissions applied out of order (the ordered stage's buffer overflowed)", files, n)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) == 1 && lines[0] == "" {
		lines = nil
	}
	// Every record any replay test produces must match the published schema.
	for _, p := range recordschema.ValidateLines(buf.Bytes()) {
		t.Errorf("%v: %s", files, p)
	}
	return p, lines
}

// discardPipeline is a pipeline configured by cfgYAML, with workers workers
// (0: the configuration's), whose records go nowhere.
func discardPipeline(t testing.TB, cfgYAML string, workers int) *Pipeline {
	t.Helper()
	cfg, err := parseTestConfig(cfgYAML)
	if err != nil {
		t.Fatal(err)
	}
	if workers > 0 {
		cfg.Workers = workers
	}
	p, err := New(cfg, Options{Sink: record.NewWriterSink(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func parseTestConfig(yaml string) (*config.Config, error) {
	return config.Parse("test.yaml", []byte(yaml))
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestGolden replays every committed capture with one worker and the
// default configuration and compares the records with
// testdata/golden/NAME.jsonl (demo.pcap → demo.jsonl): the proof that a
// restructuring changed no record. Rerun with -update only for an
// intended change, and say why in the commit.
func TestGolden(t *testing.T) {
	for _, f := range captureFiles(t) {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			got := replayRecords(t, "", 1, f)
			golden := filepath.Join("..", "testdata", "golden", goldenName(name))
			text := strings.Join(got, "\n") + "\n"
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./pipeline -run TestGolden -update)", err)
			}
			if text != string(want) {
				t.Errorf("records differ from %s (rerun with -update if the change is intended):\n%s", golden, lineDiff(string(want), text))
			}
		})
	}
}

// goldenName maps a capture's file name to its golden file's name.
func goldenName(capture string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(capture, ".gz"), ".zst")
	return strings.TrimSuffix(base, filepath.Ext(base)) + ".jsonl"
}

// The number of workers must not change what is written, nor its order:
// every cross-worker decision (first-seen, rules, thresholds,
// de-duplication, volume) is taken in position order by the ordered stage,
// with the default configuration (the default rule pack included).
func TestWorkerCountInvariance(t *testing.T) {
	for _, f := range captureFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			one := strings.Join(replayOrdered(t, "", 1, f), "\n")
			for _, n := range []int{2, 4} {
				got := strings.Join(replayOrdered(t, "", n, f), "\n")
				if got != one {
					t.Errorf("1 vs %d workers differ:\n%s", n, lineDiff(one, got))
				}
			}
		})
	}
}

// captureFiles lists the committed captures (not the oracle files beside them).
func captureFiles(t testing.TB) []string {
	var files []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.pcap.gz", "*.pcap.zst", "*.pcapng.gz", "*.pcapng.zst"} {
		m, _ := filepath.Glob(filepath.Join(pcapDir, pat))
		files = append(files, m...)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no captures in testdata/pcap")
	}
	return files
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("- " + a + "\n+ " + c + "\n")
			if b.Len() > 4000 {
				b.WriteString("…\n")
				break
			}
		}
	}
	return b.String()
}

// The table's end reasons are the record's flow states, spelled the same.
func TestEndReasonsAreRecordStates(t *testing.T) {
	for _, tc := range []struct {
		why   reassembly.EndReason
		state string
	}{
		{reassembly.EndClosed, record.StateClosed}, {reassembly.EndReset, record.StateReset},
		{reassembly.EndTimeout, record.StateTimeout}, {reassembly.EndActive, record.StateActive},
		{reassembly.EndShutdown, record.StateShutdown},
	} {
		if got := tc.why.String(); got != tc.state {
			t.Errorf("EndReason %d = %q, want %q", tc.why, got, tc.state)
		}
	}
}
