package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/internal/cli"
	"github.com/tapdlp/tapdlp/sensor"
)

// TestRunStartupErrors checks that `run` refuses bad input before it opens
// any socket, so none of these needs privileges.
func TestRunStartupErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no interface", []string{"run"}, 2, "no interface (-i, or capture.interfaces"},
		{"bad capture config", []string{"run", "-c", "testdata/bad-capture.yaml"}, 1, `testdata/bad-capture.yaml:2: capture.fanout: "roundrobin" is not a fanout mode`},
		{"stray argument", []string{"run", "-i", "lo", "extra"}, 2, `unexpected argument "extra"`},
		{"unknown fanout mode", []string{"run", "-i", "lo", "-fanout", "rr"}, 1, `fanout mode "rr"`},
		{"bad size", []string{"run", "-i", "lo", "-ring-size", "lots"}, 1, `"lots" is not a size`},
		{"fanout group out of range", []string{"run", "-i", "lo", "-fanout-group", "70000"}, 1, "-fanout-group 70000"},
		{"snaplen too small for defrag", []string{"run", "-i", "lo", "-snaplen", "1500"}, 1, "minimum with kernel defragmentation"},
		{"interface listed twice", []string{"run", "-i", "lo,lo"}, 1, "listed twice"},
		{"missing interface", []string{"run", "-i", "tdlp-none0"}, 1, `interface "tdlp-none0" does not exist`},
		{"invalid filter", []string{"run", "-i", "lo", "-f", "tcp and ("}, 1, "capture filter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := dispatch(tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr.String(), tt.code, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q, want nothing", stdout.String())
			}
		})
	}
}

// TestRunFlagsOverrideConfig: a flag given on the command line wins over
// the configuration file, whatever its position relative to -c; a flag
// not given leaves the file's value; sizes and durations take the
// configuration's grammar.
func TestRunFlagsOverrideConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.yaml")
	os.WriteFile(path, []byte(`
workers: 3
capture:
  interfaces: [eth9]
  snaplen: 9000
  ring_size: 16MiB
  status_interval: 2m
  defrag: true
  fanout_group: 77
metrics: {listen: "127.0.0.1:9999"}
`), 0o644)
	tests := []struct {
		name  string
		args  []string
		check func(*testing.T, sensor.Config)
	}{
		{"file values kept", []string{"-c", path}, func(t *testing.T, c sensor.Config) {
			if c.Capture.Snaplen != 9000 || c.Workers != 3 || c.Capture.RingSize != 16<<20 || c.Metrics.Listen != "127.0.0.1:9999" ||
				c.Capture.FanoutGroup != 77 || c.Capture.StatusInterval.D() != 2*time.Minute || c.Output != "" || c.Path != path {
				t.Errorf("%+v", c.Capture)
			}
		}},
		{"flags after -c win", []string{"-c", path, "-snaplen", "2000", "-ring-size", "64k", "-status", "1d", "-o", "out.jsonl", "-no-defrag"}, func(t *testing.T, c sensor.Config) {
			if c.Capture.Snaplen != 2000 || c.Capture.RingSize != 64<<10 || c.Capture.StatusInterval.D() != 24*time.Hour || c.Output != "out.jsonl" || c.Capture.Defrag {
				t.Errorf("%+v output %q", c.Capture, c.Output)
			}
		}},
		{"flags before -c win", []string{"-i", "lo,eth1", "-workers", "5", "-metrics", "", "-fanout-group", "9", "--config", path}, func(t *testing.T, c sensor.Config) {
			if strings.Join(c.Capture.Interfaces, ",") != "lo,eth1" || c.Workers != 5 || c.Metrics.Listen != "" || c.Capture.FanoutGroup != 9 || c.Capture.Snaplen != 9000 {
				t.Errorf("%+v workers %d metrics %q", c.Capture, c.Workers, c.Metrics.Listen)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseArgs(t, runCmd, tt.args)
			sc, err := runConfig(e)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, sc)
		})
	}
}

// parseArgs parses args against c's flags as the program does (-c/--config
// included) and returns what c's run function would get.
func parseArgs(t *testing.T, c *cli.Command, args []string) *cli.Env {
	t.Helper()
	var got *cli.Env
	p := &cli.Program{Name: "tapdlp", Commands: []*cli.Command{{Name: c.Name,
		Setup: func(fs *flag.FlagSet) func(*cli.Env) error {
			c.Setup(fs)
			return func(e *cli.Env) error { got = e; return nil }
		}}}}
	var stderr bytes.Buffer
	if code := p.Main(context.Background(), nil, append([]string{c.Name}, args...), io.Discard, &stderr); code != 0 || got == nil {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	return got
}
