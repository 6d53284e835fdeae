package record

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// ErrClosed is returned by a sink used after Close.
var ErrClosed = errors.New("sink closed")

// Sink receives encoded records, one JSON object per call without a trailing
// newline. Write must not retain rec after it returns. Implementations wrap
// driver errors so callers can test them with errors.Is.
type Sink interface {
	Write(rec []byte) error
	Close() error
}

// WriterSink writes JSON lines to an io.Writer through a buffer. It is safe
// for concurrent use. Close flushes and, if the writer is a file it opened,
// syncs and closes it.
type WriterSink struct {
	mu     sync.Mutex
	w      *bufio.Writer
	closer io.Closer
	file   *os.File
	closed bool
}

// NewWriterSink wraps w; w is not closed by Close.
func NewWriterSink(w io.Writer) *WriterSink {
	return &WriterSink{w: bufio.NewWriterSize(w, 256<<10)}
}

// NewFileSink creates (truncates) path and writes JSON lines to it.
func NewFileSink(path string) (*WriterSink, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("file sink: %w", err)
	}
	s := NewWriterSink(f)
	s.closer = f
	// Only regular files can be synced (fsync on /dev/null or a pipe fails).
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		s.file = f
	}
	return s, nil
}

// Write appends rec and a newline.
func (s *WriterSink) Write(rec []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if _, err := s.w.Write(rec); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	if err := s.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	return nil
}

// Flush pushes buffered records to the underlying writer.
func (s *WriterSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Flush()
}

// Close flushes, syncs a file and closes what the sink opened.
func (s *WriterSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.w.Flush()
	if s.file != nil {
		if serr := s.file.Sync(); err == nil && serr != nil {
			err = serr
		}
	}
	if s.closer != nil {
		if cerr := s.closer.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("close sink: %w", err)
	}
	return nil
}
