package sinks

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/tapdlp/tapdlp/record"
)

// rotLayout names rotated files: Path.20261122T150405.123456Z[.zst].
const rotLayout = "20060102T150405.000000Z"

// ErrFile wraps every file sink error.
var ErrFile = errors.New("file sink")

// FileOptions configure a file sink. Zero values mean "off" or the default.
type FileOptions struct {
	Path          string           // the live file; rotated files are Path.<UTC time>[.zst]
	MaxSize       int64            // rotate before a write would pass this many bytes (0: off)
	MaxAge        time.Duration    // rotate a file this old at the next write (0: off)
	Keep          int              // rotated files kept, oldest removed first (0: keep all)
	Compress      bool             // zstd-compress rotated files in the background
	FlushInterval time.Duration    // buffered records reach the file at least this often (default 1s)
	Truncate      bool             // empty the file when the sink opens it (replay -o), instead of appending
	Now           func() time.Time // clock for age and names (tests); default time.Now
	Stats         *Stats
}

// FileSink is the one sink that writes JSON lines to a path: the
// configured "file" outputs and `-o FILE`. A regular file (or a new path)
// is rotated by size and age; rotation and Close flush and fsync it, and
// compressing and pruning rotated files happens on a background goroutine
// so Write never waits for zstd. A path that names a device, FIFO or socket
// (/dev/null, /dev/stdout, a named pipe) is written straight into: never
// truncated, rotated, renamed or synced, since renaming over it would
// replace the node itself (as root, /dev/null for the whole machine); a
// reader that goes away makes Write fail with an error that
// errors.Is(err, syscall.EPIPE). A directory is refused. It is safe for
// concurrent use.
type FileSink struct {
	opt   FileOptions
	stats *Stats

	mu      sync.Mutex
	f       *os.File
	regular bool // f is a regular file (only those can be synced: /dev/null or a pipe cannot)
	w       *bufio.Writer
	size    int64
	opened  time.Time
	closed  bool
	lastErr error
	lastRot time.Time // timestamp in the newest rotated name

	jobs     chan string // rotated files to compress and prune
	bgDone   chan struct{}
	stopTick chan struct{}
	tickDone chan struct{}
}

// NewFileSink opens (appending to) opt.Path.
func NewFileSink(opt FileOptions) (*FileSink, error) {
	if opt.Path == "" {
		return nil, fmt.Errorf("%w: no path", ErrFile)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = time.Second
	}
	if opt.Stats == nil {
		opt.Stats = new(Stats)
	}
	s := &FileSink{
		opt: opt, stats: opt.Stats,
		jobs: make(chan string, 64), bgDone: make(chan struct{}),
		stopTick: make(chan struct{}), tickDone: make(chan struct{}),
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if opt.Truncate {
		flags |= os.O_TRUNC
	}
	switch st, err := os.Stat(opt.Path); {
	case err == nil && st.IsDir():
		return nil, fmt.Errorf("%w: %s is a directory", ErrFile, opt.Path)
	case err == nil && !st.Mode().IsRegular():
		flags = os.O_WRONLY // a device, FIFO or socket: written straight into
	}
	if err := s.openWith(flags); err != nil {
		return nil, err
	}
	go s.background()
	go s.flusher()
	// Files rotated by an earlier run that died before compressing them.
	if opt.Compress && s.regular {
		for _, p := range s.rotated() {
			if !strings.HasSuffix(p, ".zst") && len(s.jobs) < cap(s.jobs) {
				s.jobs <- p
			}
		}
	}
	return s, nil
}

// open reopens the live file (after a rotation or Reopen): appending to
// a regular file, created if it is gone; straight into anything else.
func (s *FileSink) open() error {
	if !s.regular {
		return s.openWith(os.O_WRONLY)
	}
	return s.openWith(os.O_CREATE | os.O_WRONLY | os.O_APPEND)
}

func (s *FileSink) openWith(flags int) error {
	f, err := os.OpenFile(s.opt.Path, flags, 0o640)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFile, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("%w: %w", ErrFile, err)
	}
	s.f, s.size, s.opened, s.regular = f, st.Size(), s.opt.Now(), st.Mode().IsRegular()
	if s.w == nil {
		s.w = bufio.NewWriterSize(f, 256<<10)
	} else {
		s.w.Reset(f)
	}
	return nil
}

// Write appends rec's JSON and a newline, rotating first when due.
func (s *FileSink) Write(r record.Encoded) error {
	rec := r.JSON
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.stats.Drop(DropClosed, 1)
		return fmt.Errorf("%w: %w", ErrFile, record.ErrClosed)
	}
	need := int64(len(rec) + 1)
	if s.regular && ((s.opt.MaxSize > 0 && s.size > 0 && s.size+need > s.opt.MaxSize) ||
		(s.opt.MaxAge > 0 && s.opt.Now().Sub(s.opened) >= s.opt.MaxAge && s.size > 0)) {
		if err := s.rotateLocked(); err != nil {
			s.stats.Failed.Add(1)
			return err
		}
	}
	if s.f == nil {
		// A previous rotation could not reopen the file; try again.
		if err := s.open(); err != nil {
			s.stats.Failed.Add(1)
			return err
		}
	}
	if _, err := s.w.Write(rec); err != nil {
		s.stats.Failed.Add(1)
		return fmt.Errorf("%w: write %s: %w", ErrFile, s.opt.Path, err)
	}
	if err := s.w.WriteByte('\n'); err != nil {
		s.stats.Failed.Add(1)
		return fmt.Errorf("%w: write %s: %w", ErrFile, s.opt.Path, err)
	}
	s.size += need
	s.stats.Written.Add(1)
	return nil
}

// syncCloseLocked flushes, fsyncs and closes the live file.
func (s *FileSink) syncCloseLocked() error {
	if s.f == nil {
		return nil
	}
	err := s.w.Flush()
	if s.regular {
		if serr := s.f.Sync(); err == nil {
			err = serr
		}
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	if err != nil {
		return fmt.Errorf("%w: close %s: %w", ErrFile, s.opt.Path, err)
	}
	return nil
}

func (s *FileSink) rotateLocked() error {
	if err := s.syncCloseLocked(); err != nil {
		return err
	}
	// Names sort in rotation order (prune and readers rely on it): on a
	// collision or a clock step back, move a microsecond past the last one.
	ts := s.opt.Now().UTC().Truncate(time.Microsecond)
	if !ts.After(s.lastRot) {
		ts = s.lastRot.Add(time.Microsecond)
	}
	name := s.opt.Path + "." + ts.Format(rotLayout)
	for exists(name) || exists(name+".zst") {
		ts = ts.Add(time.Microsecond)
		name = s.opt.Path + "." + ts.Format(rotLayout)
	}
	s.lastRot = ts
	if err := os.Rename(s.opt.Path, name); err != nil {
		return fmt.Errorf("%w: rotate %s: %w", ErrFile, s.opt.Path, err)
	}
	s.stats.Rotations.Add(1)
	if err := s.open(); err != nil {
		return err
	}
	select {
	case s.jobs <- name:
	default:
		// The compressor is far behind; this file stays uncompressed (the
		// next start picks it up) rather than Write waiting for zstd.
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// Reopen closes and reopens the live file, for an external logrotate that
// renamed it (the CLI calls it on SIGHUP).
func (s *FileSink) Reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%w: %w", ErrFile, record.ErrClosed)
	}
	if err := s.syncCloseLocked(); err != nil {
		return err
	}
	return s.open()
}

// Flush pushes buffered records to the file (no fsync).
func (s *FileSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("%w: flush %s: %w", ErrFile, s.opt.Path, err)
	}
	return nil
}

func (s *FileSink) flusher() {
	defer close(s.tickDone)
	t := time.NewTicker(s.opt.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.Flush(); err != nil {
				s.stats.Failed.Add(1)
			}
		case <-s.stopTick:
			return
		}
	}
}

// Close flushes, fsyncs and closes the file and waits for background
// compression to finish.
func (s *FileSink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.syncCloseLocked()
	s.mu.Unlock()
	close(s.stopTick)
	<-s.tickDone
	close(s.jobs)
	<-s.bgDone
	if err == nil {
		s.mu.Lock()
		err = s.lastErr
		s.mu.Unlock()
	}
	return err
}

// background compresses rotated files and enforces Keep, one at a time.
func (s *FileSink) background() {
	defer close(s.bgDone)
	for p := range s.jobs {
		var err error
		if s.opt.Compress && !strings.HasSuffix(p, ".zst") {
			err = compressFile(p)
		}
		if perr := s.prune(); err == nil {
			err = perr
		}
		if err != nil {
			s.stats.Failed.Add(1)
			s.mu.Lock()
			s.lastErr = err
			s.mu.Unlock()
		}
	}
}

// rotated lists rotated files, oldest first (names sort by time).
func (s *FileSink) rotated() []string {
	m, _ := filepath.Glob(globEscape(s.opt.Path) + ".[0-9]*")
	var out []string
	for _, p := range m {
		if !strings.HasSuffix(p, ".tmp") {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func globEscape(p string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(p)
}

func (s *FileSink) prune() error {
	if s.opt.Keep <= 0 {
		return nil
	}
	files := s.rotated()
	var errs []error
	for len(files) > s.opt.Keep {
		if err := os.Remove(files[0]); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("%w: prune: %w", ErrFile, err))
		}
		files = files[1:]
	}
	return errors.Join(errs...)
}

// compressFile writes p.zst (via a temporary file, fsynced) and removes p.
func compressFile(p string) error {
	in, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil // pruned (keep) before its turn came
	}
	if err != nil {
		return fmt.Errorf("%w: compress: %w", ErrFile, err)
	}
	defer in.Close()
	tmp := p + ".zst.tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("%w: compress: %w", ErrFile, err)
	}
	enc, err := zstd.NewWriter(out, zstd.WithEncoderConcurrency(1))
	if err == nil {
		_, err = io.Copy(enc, in)
		if cerr := enc.Close(); err == nil {
			err = cerr
		}
	}
	if serr := out.Sync(); err == nil {
		err = serr
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p+".zst")
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("%w: compress %s: %w", ErrFile, filepath.Base(p), err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("%w: compress: %w", ErrFile, err)
	}
	return nil
}
