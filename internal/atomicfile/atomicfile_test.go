package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "page.html")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("render failed")
	tests := []struct {
		name    string
		write   func(io.Writer) error
		want    string
		wantErr error
	}{
		{"failure keeps the old file", func(w io.Writer) error { io.WriteString(w, "half"); return boom }, "old", boom},
		{"success replaces it", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, "new", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(path, 0o644, tt.write)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.want {
				t.Errorf("content %q, want %q", got, tt.want)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("%d files in the directory, want 1 (temporary file left behind)", len(entries))
			}
		})
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
}

// Outputs that are not regular files are written straight into: the node
// stays what it was (a FIFO stays a FIFO, a character device a device),
// the reader gets the bytes and no temporary file is left beside it.
func TestWriteIntoSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	if err := Write(fifo, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "through the pipe"); return err }); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != "through the pipe" {
		t.Errorf("FIFO reader got %q", b)
	}
	assertNode(t, fifo, fs.ModeNamedPipe)

	// /dev/null's twin: mknod needs root (CI runs the tests as root).
	null, nodes := filepath.Join(dir, "null"), 1
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Logf("no character device test: mknod: %v (needs root)", err)
	} else {
		nodes++
		for _, name := range []string{"Write", "Create+Commit", "Create+Abort"} {
			var err error
			switch name {
			case "Write":
				err = Write(null, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "gone"); return err })
			default:
				var f *File
				if f, err = Create(null, 0o644); err == nil {
					if !f.Direct() {
						t.Errorf("%s: a device is not written directly", name)
					}
					_, _ = io.WriteString(f, "gone")
					if name == "Create+Commit" {
						err = f.Commit()
					} else {
						err = f.Abort()
					}
				}
			}
			if err != nil {
				t.Errorf("%s into a character device: %v", name, err)
			}
			assertNode(t, null, fs.ModeDevice|fs.ModeCharDevice)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != nodes {
		t.Errorf("%d entries in the directory: a temporary file was left behind", len(entries))
	}
}

func assertNode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Type() != want {
		t.Errorf("%s is now %v, want type %v: the node was replaced", path, st.Mode().Type(), want)
	}
}

// A symbolic link to a regular file is followed: the target gets the new
// content atomically, the link stays a link.
func TestWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "real.html"), filepath.Join(dir, "link.html")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	assertNode(t, link, fs.ModeSymlink)
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target holds %q", b)
	}
}

// Create on a new path writes nothing visible until Commit; Abort leaves
// nothing.
func TestCreateCommitAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cpu.pprof")
	f, err := Create(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(f, "profile")
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("target visible before Commit: %v", err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "profile" {
		t.Errorf("content %q", b)
	}
	g, err := Create(filepath.Join(dir, "other"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Abort(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries after Abort, want 1", len(entries))
	}
}
