package sinks

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
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

func TestStdoutSink(t *testing.T) {
	var buf bytes.Buffer
	st := new(Stats)
	s := NewStdoutSink(&buf, st)
	_ = s.Write(enc([]byte(`{"type":"flow"}`)))
	_ = s.Write(enc([]byte(`{"type":"alert"}`)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "{\"type\":\"flow\"}\n{\"type\":\"alert\"}\n" || st.Written.Load() != 2 {
		t.Fatalf("stdout got %q, written %d", buf.String(), st.Written.Load())
	}
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
