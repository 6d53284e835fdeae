package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// mknodNull makes a twin of /dev/null in dir, or skips the test when that
// is not allowed (mknod needs root; CI runs the tests as root).
func mknodNull(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("mknod: %v (needs root)", err)
	}
	return p
}

func nodeType(t *testing.T, p string) fs.FileMode {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Type()
}

// Every output file pointed at a device is written into, never replaced
// by a regular file (as root that would destroy /dev/null machine-wide).
func TestOutputsIntoDevicesStayDevices(t *testing.T) {
	dir := t.TempDir()
	null := mknodNull(t, dir, "null")
	records := filepath.Join(dir, "records.jsonl")
	if code, _, errOut := run(t, "replay", "-q", "-o", records, demo); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, args := range [][]string{
		{"report", "-o", null, records},
		{"replay", "-q", "-o", null, demo},
		{"replay", "-q", "-o", null, "--report", null, demo},
		{"replay", "-q", "-o", null, "--cpuprofile", null, "--memprofile", null, demo},
		{"replay", "-q", "-o", null, "--exectrace", null, demo},
	} {
		if code, _, errOut := run(t, args...); code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
		if typ := nodeType(t, null); typ != fs.ModeDevice|fs.ModeCharDevice {
			t.Fatalf("%v replaced the device with a %v", args, typ)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d entries in %s, want 2: temporary files left behind", len(entries), dir)
	}
}

// A report written into a named pipe reaches its reader and the pipe stays
// a pipe (no root needed).
func TestReportIntoFIFO(t *testing.T) {
	dir := t.TempDir()
	records := filepath.Join(dir, "records.jsonl")
	if code, _, errOut := run(t, "replay", "-q", "-o", records, demo); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	fifo := filepath.Join(dir, "report.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- -1
			return
		}
		defer f.Close()
		n, _ := io.Copy(io.Discard, f)
		got <- int(n)
	}()
	if code, _, errOut := run(t, "report", "-o", fifo, records); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := <-got; n < 1000 {
		t.Errorf("reader got %d bytes of report", n)
	}
	if typ := nodeType(t, fifo); typ != fs.ModeNamedPipe {
		t.Errorf("FIFO replaced by %v", typ)
	}
}
