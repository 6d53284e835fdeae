package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --exectrace writes a Go execution trace of the replay (go tool trace
// reads it: it starts with the runtime's "go 1.N trace" header), and a
// trace that cannot be written fails the replay instead of being skipped.
func TestExecTrace(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "replay.trace")
	if code, _, errOut := run(t, "replay", "-q", "-o", os.DevNull, "--exectrace", trace, demo); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("go 1.")) || !bytes.Contains(b[:min(len(b), 16)], []byte(" trace")) || len(b) < 1024 {
		t.Errorf("%s: %d bytes starting %q, want a Go execution trace", trace, len(b), b[:min(len(b), 16)])
	}

	for _, args := range [][]string{
		{"replay", "-q", "-o", os.DevNull, "--exectrace", filepath.Join(dir, "missing", "x.trace"), demo},
		{"replay", "-q", "-o", os.DevNull, "--cpuprofile", filepath.Join(dir, "cpu.pprof"), "--exectrace", filepath.Join(dir, "missing", "x.trace"), demo},
	} {
		code, _, errOut := run(t, args...)
		if code == 0 || !strings.Contains(errOut, "missing") {
			t.Errorf("%v: exit %d, stderr %q: want a failure naming the path", args, code, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "cpu.pprof")); err == nil {
		t.Error("the CPU profile of a replay that never started was left behind")
	}
}
