package sinks

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/tapdlp/tapdlp/record"
)

// clock is a settable time source for rotation by age.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// readLines returns the lines of a plain or .zst file.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".zst") {
		d, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if b, err = d.DecodeAll(b, nil); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// allLines reads rotated files oldest first, then the live file.
func allLines(t *testing.T, path string) (lines []string, rotated []string) {
	t.Helper()
	m, _ := filepath.Glob(path + ".*")
	slices.Sort(m)
	for _, p := range m {
		lines = append(lines, readLines(t, p)...)
	}
	return append(lines, readLines(t, path)...), m
}

func TestFileRotation(t *testing.T) {
	// Records are 22..23 bytes plus a newline.
	tests := []struct {
		name        string
		opt         FileOptions
		n           int
		advance     time.Duration // clock step per record
		wantRotated int
		wantZst     bool
	}{
		{"by size", FileOptions{MaxSize: 10 * 24}, 100, 0, 9, false},
		{"by size compressed", FileOptions{MaxSize: 10 * 24, Compress: true}, 100, 0, 9, true},
		{"by age", FileOptions{MaxAge: time.Minute}, 30, 10 * time.Second, 4, false},
		{"by age compressed keep 2", FileOptions{MaxAge: time.Minute, Compress: true, Keep: 2}, 30, 10 * time.Second, 2, true},
		{"keep 3 by size", FileOptions{MaxSize: 5 * 24, Keep: 3}, 100, 0, 3, false},
		{"no rotation", FileOptions{}, 100, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "flows.json")
			clk := &clock{t: fixedTime}
			opt := tt.opt
			opt.Path, opt.Now = path, clk.Now
			f, err := NewFileSink(opt)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := range tt.n {
				r := recN(i)
				want = append(want, string(r))
				if err := f.Write(enc(r)); err != nil {
					t.Fatal(err)
				}
				clk.Add(tt.advance)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			got, rotated := allLines(t, path)
			if len(rotated) != tt.wantRotated {
				t.Fatalf("%d rotated files %v, want %d", len(rotated), rotated, tt.wantRotated)
			}
			for _, p := range rotated {
				if strings.HasSuffix(p, ".zst") != tt.wantZst {
					t.Fatalf("rotated file %s: compressed %v, want %v", p, !tt.wantZst, tt.wantZst)
				}
				if st, _ := os.Stat(p); !tt.wantZst && opt.MaxSize > 0 && st.Size() > opt.MaxSize {
					t.Fatalf("%s is %d bytes, over max_size %d", p, st.Size(), opt.MaxSize)
				}
			}
			if opt.Keep == 0 {
				if !slices.Equal(got, want) {
					t.Fatalf("lines across files differ from what was written:\n%q\n%q", got, want)
				}
			} else if !slices.Equal(got, want[len(want)-len(got):]) {
				t.Fatalf("kept lines are not the newest ones: %q", got)
			}
		})
	}
}

func TestFileReopenAfterExternalRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.json")
	f, err := NewFileSink(FileOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Write(enc([]byte(`{"n":1}`)))
	_ = f.Flush()
	// logrotate renames the live file, then signals us.
	if err := os.Rename(path, path+"-old"); err != nil {
		t.Fatal(err)
	}
	_ = f.Write(enc([]byte(`{"n":2}`))) // still goes to the renamed file, like any open fd
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	_ = f.Write(enc([]byte(`{"n":3}`)))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, path+"-old"); !slices.Equal(got, []string{`{"n":1}`, `{"n":2}`}) {
		t.Fatalf("old file: %q", got)
	}
	if got := readLines(t, path); !slices.Equal(got, []string{`{"n":3}`}) {
		t.Fatalf("reopened file: %q", got)
	}
	if err := f.Write(enc([]byte(`{}`))); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestFileAppendsAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.json")
	for i := range 2 {
		f, err := NewFileSink(FileOptions{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		_ = f.Write(enc(recN(i)))
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := readLines(t, path); len(got) != 2 {
		t.Fatalf("restart truncated the file: %q", got)
	}
}

// The configured stdout output is the writer sink with a flush timer and
// the output's counters.
func TestStdoutOutput(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	r, err := build(OutputsConfig{Sinks: []OutputConfig{{Name: "console", Type: "stdout"}}},
		buildEnv{stdout: lockedWriter{&mu, &buf}, now: time.Now, hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Write(enc([]byte(`{"type":"flow"}`)))
	_ = r.Write(record.Encoded{Kind: record.KindAlert, JSON: []byte(`{"type":"alert"}`)})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) { // the timer flushes
		mu.Lock()
		n := buf.Len()
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_ = r.sinks[0].sink.Write(enc([]byte(`{}`)))
	st := r.Stats("console")
	if buf.String() != "{\"type\":\"flow\"}\n{\"type\":\"alert\"}\n" || st.Written.Load() != 2 || st.Dropped(DropClosed) != 1 {
		t.Fatalf("stdout got %q, written %d, dropped after close %d", buf.String(), st.Written.Load(), st.Dropped(DropClosed))
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// The file sink over every kind of target a path can name: regular files
// are truncated or appended to and rotated; devices and pipes are written
// straight into and never rotated, renamed or replaced, even with
// rotation configured; a reader that goes away is EPIPE; a directory is
// refused.
func TestFileSinkTargets(t *testing.T) {
	type target struct {
		path   string
		read   func() string // what a reader got, after Close
		gone   bool          // the reader leaves before the sink writes
		leave  func()        // makes it leave
		isNode bool          // must stay the node it was
	}
	tests := []struct {
		name    string
		make    func(t *testing.T, dir string) target
		opt     FileOptions
		want    string // what the reader gets ("-": do not check)
		wantErr error  // from NewFileSink or Close
		rotated int    // rotated files left next to it
	}{
		{"new regular file", func(t *testing.T, dir string) target {
			p := filepath.Join(dir, "out.jsonl")
			return target{path: p, read: fileText(p)}
		}, FileOptions{Truncate: true}, "{\"a\":1}\n{\"b\":2}\n", nil, 0},
		{"regular file truncated", func(t *testing.T, dir string) target {
			p := filepath.Join(dir, "out.jsonl")
			os.WriteFile(p, []byte("old\n"), 0o644)
			return target{path: p, read: fileText(p)}
		}, FileOptions{Truncate: true}, "{\"a\":1}\n{\"b\":2}\n", nil, 0},
		{"regular file appended and rotated", func(t *testing.T, dir string) target {
			p := filepath.Join(dir, "out.jsonl")
			os.WriteFile(p, []byte("old\n"), 0o644)
			return target{path: p, read: fileText(p)}
		}, FileOptions{MaxSize: 10}, "{\"b\":2}\n", nil, 2},
		// A twin of /dev/null, never the machine's own: if that were ever
		// a regular file, rotating it would move it away.
		{"device with rotation set", func(t *testing.T, dir string) target {
			return target{path: mknodNull(t, dir), isNode: true}
		}, FileOptions{Truncate: true, MaxSize: 1, MaxAge: time.Nanosecond}, "-", nil, 0},
		{"fifo with a reader", func(t *testing.T, dir string) target {
			p, got := fifoReader(t, dir)
			return target{path: p, read: got, isNode: true}
		}, FileOptions{Truncate: true, MaxSize: 1}, "{\"a\":1}\n{\"b\":2}\n", nil, 0},
		{"fifo whose reader left", func(t *testing.T, dir string) target {
			p, leave := fifoLeaver(t, dir)
			return target{path: p, gone: true, leave: leave, isNode: true}
		}, FileOptions{Truncate: true}, "-", syscall.EPIPE, 0},
		{"directory", func(t *testing.T, dir string) target {
			return target{path: dir}
		}, FileOptions{Truncate: true}, "-", ErrFile, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tg := tt.make(t, dir)
			before, _ := os.Stat(tg.path)
			opt := tt.opt
			opt.Path = tg.path
			s, err := NewFileSink(opt)
			if err == nil {
				if tg.leave != nil {
					tg.leave()
				}
				for _, r := range []string{`{"a":1}`, `{"b":2}`} {
					if werr := s.Write(enc([]byte(r))); werr != nil && !tg.gone {
						t.Fatalf("write: %v", werr)
					}
				}
				err = s.Close()
			}
			if (tt.wantErr == nil) != (err == nil) || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if tt.want != "-" {
				if got := tg.read(); got != tt.want {
					t.Errorf("reader got %q, want %q", got, tt.want)
				}
			}
			if tg.isNode {
				after, err := os.Stat(tg.path)
				if err != nil || after.Mode().Type() != before.Mode().Type() || !os.SameFile(before, after) {
					t.Errorf("%s was replaced: %v, %v", tg.path, after, err)
				}
			}
			if m, _ := filepath.Glob(globEscape(tg.path) + ".[0-9]*"); len(m) != tt.rotated {
				t.Errorf("rotated files %q, want %d", m, tt.rotated)
			}
		})
	}
}

func fileText(p string) func() string {
	return func() string { b, _ := os.ReadFile(p); return string(b) }
}

// mknodNull makes a twin of /dev/null in dir, or skips the test when that
// is not allowed (mknod needs root; CI runs the tests as root).
func mknodNull(t *testing.T, dir string) string {
	p := filepath.Join(dir, "null")
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("mknod: %v", err)
	}
	return p
}

func mkfifo(t *testing.T, dir string) string {
	p := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	return p
}

// fifoLeaver makes a named pipe in dir with a reader on it (so the sink's
// open does not wait) and returns what makes the reader leave.
func fifoLeaver(t *testing.T, dir string) (string, func()) {
	p := mkfifo(t, dir)
	r, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return p, func() { r.Close() }
}

// fifoReader makes a named pipe in dir with a reader on it and returns
// what the reader got once the writer closed.
func fifoReader(t *testing.T, dir string) (string, func() string) {
	p := mkfifo(t, dir)
	r, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0) // does not wait for the writer
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 4096)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			n, err := r.Read(buf)
			b.Write(buf[:max(n, 0)])
			if err == io.EOF && n == 0 && b.Len() > 0 {
				break
			}
			if n <= 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		r.Close()
		done <- b.String()
	}()
	return p, func() string { return <-done }
}

// Replay's -o truncates, the file output appends; neither fsync fails on a
// file that cannot be synced (/dev/null).
func TestFileSinkTruncateAndDevNull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.jsonl")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		truncate bool
		want     string
	}{{false, "old\n{}\n"}, {true, "{}\n"}} {
		if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := NewFileSink(FileOptions{Path: path, Truncate: tc.truncate})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Write(enc([]byte(`{}`))); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != tc.want {
			t.Errorf("truncate=%v: file holds %q, want %q", tc.truncate, got, tc.want)
		}
	}
	f, err := NewFileSink(FileOptions{Path: os.DevNull, Truncate: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Write(enc([]byte(`{"type":"flow"}`))); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("%s: close: %v", os.DevNull, err)
	}
}
