package main

import (
	"bytes"
	"strings"
	"testing"
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
