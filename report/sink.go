package report

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/tapdlp/tapdlp/record"
)

// Write renders the report of the JSON-line records read from r (plain,
// gzip or zstd) to w.
func Write(w io.Writer, r io.Reader, opt Options) error {
	rep := New(opt)
	if err := rep.ReadInput("input", r); err != nil {
		return err
	}
	return rep.WriteHTML(w)
}

// Sink is a record.Sink that aggregates the encoded records written to it
// and renders the page to its writer on Close, so a replay can write its
// report while it writes its records (tee the pipeline's sink to it). It is
// safe for concurrent use, like the pipeline's other sinks.
type Sink struct {
	mu     sync.Mutex
	rep    *Report
	w      io.Writer
	closed bool
}

var _ record.Sink = (*Sink)(nil)

// NewSink returns a sink that renders to w on Close; w is not closed.
func NewSink(w io.Writer, name string, opt Options) *Sink {
	rep := New(opt)
	rep.input(name)
	return &Sink{rep: rep, w: w}
}

// Write aggregates one encoded record. A malformed record is counted on the
// page and not returned as an error: a report must not stop a replay.
func (s *Sink) Write(r record.Encoded) error {
	rec := r.JSON
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return record.ErrClosed
	}
	in := &s.rep.inputs[0]
	if len(rec) > s.rep.opt.MaxLine {
		s.rep.oversized++
		in.malformed++
		return nil
	}
	if err := s.rep.AddJSON(rec); err != nil {
		in.malformed++
		return nil
	}
	in.records++
	return nil
}

// Close renders the page. A second Close returns record.ErrClosed.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return record.ErrClosed
	}
	s.closed = true
	if err := s.rep.WriteHTML(s.w); err != nil {
		return fmt.Errorf("report sink: %w", err)
	}
	return nil
}

// errWrite marks failures of the destination writer.
var errWrite = errors.New("report: write")
