package record

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// ErrClosed is returned by a sink used after Close.
var ErrClosed = errors.New("sink closed")

// Kind is a record's type: what sinks route on and what the JSON "type"
// field says. The zero value is not a kind.
type Kind uint8

// The record kinds.
const (
	KindFlow Kind = iota + 1
	KindAlert
	KindVolume
	numKinds
)

var kindNames = [numKinds]string{"", "flow", "alert", "volume"}

// Kinds lists every kind, for configuration checks and metric labels.
var Kinds = []Kind{KindFlow, KindAlert, KindVolume}

// String returns the kind's name as written in the record's "type" field.
func (k Kind) String() string {
	if k == 0 || k >= numKinds {
		return "unknown"
	}
	return kindNames[k]
}

// ParseKind returns the kind named s ("flow", "alert", "volume").
func ParseKind(s string) (Kind, bool) {
	for k := KindFlow; k < numKinds; k++ {
		if kindNames[k] == s {
			return k, true
		}
	}
	return 0, false
}

// Encoded is one record on its way to the sinks: its JSON and, beside it,
// what routing needs, so no sink re-parses the JSON to find them.
type Encoded struct {
	Kind Kind   // the record's type
	Key  string // partition key: the flow's community_id ("" when none)
	JSON []byte // one JSON object without a trailing newline; valid only during Write

	// Severity is an alert's rule severity (SevLow..SevCritical), SevNone
	// for other records; syslog sinks derive the message's PRI from it.
	Severity Severity

	// Alt holds the record rendered in other formats, indexed by format
	// (record/siem.Format), filled by a Renderer; nil when no sink asked
	// for another format. A format that yields several documents (EVE)
	// holds them as JSON lines joined by '\n'.
	Alt [][]byte
}

// Severity is a rule severity carried beside an encoded record.
type Severity uint8

// The severities; SevNone is a record that is not an alert.
const (
	SevNone Severity = iota
	SevLow
	SevMedium
	SevHigh
	SevCritical
)

// ParseSeverity returns the Severity of a rule severity name (low, medium,
// high, critical), SevNone for anything else.
func ParseSeverity(s string) Severity {
	switch s {
	case "low":
		return SevLow
	case "medium":
		return SevMedium
	case "high":
		return SevHigh
	case "critical":
		return SevCritical
	}
	return SevNone
}

// Renderer is implemented by a sink that needs more than a record's
// native JSON (record/sinks.Router: sensor identity, ECS and EVE sinks).
// The producer calls Render with the record and its native encoding on the
// goroutine that built the record, while the record cannot change, and
// passes the returned Encoded to Write. Render is safe for concurrent use.
type Renderer interface {
	Render(v Routed, rec Encoded) Encoded
}

// Routed is implemented by the record types: the kind and partition key
// an Encoded carries for them.
type Routed interface {
	Route() (Kind, string)
}

// Route implements Routed.
func (f *Flow) Route() (Kind, string) { return KindFlow, f.CommunityID }

// Route implements Routed.
func (a *Alert) Route() (Kind, string) { return KindAlert, a.CommunityID }

// Route implements Routed: volume records have no partition key.
func (v *Volume) Route() (Kind, string) { return KindVolume, "" }

// Sink receives encoded records. Write must not retain rec.JSON after it
// returns. Implementations wrap driver errors so callers can test them
// with errors.Is.
type Sink interface {
	Write(rec Encoded) error
	Close() error
}

// WriterSink is the one sink that writes JSON lines to an io.Writer
// through a buffer: stdout for `replay`, the configured "stdout" output
// (record/sinks, with a flush timer and its counters as WriterOptions) and
// tests. Files, devices and pipes named by a path are written by
// record/sinks.FileSink. A write error wraps the writer's, so a reader
// that went away is errors.Is(err, syscall.EPIPE). It is safe for
// concurrent use; Close flushes and does not close the writer.
type WriterSink struct {
	opt    WriterOptions
	mu     sync.Mutex
	w      *bufio.Writer
	closed bool
	stop   chan struct{} // ends the flush timer; nil without one
	done   chan struct{}
}

// WriterOptions configure a WriterSink. Zero values mean off.
type WriterOptions struct {
	// FlushInterval makes buffered records reach the writer at least this
	// often, for a reader that follows it live (the configured stdout
	// output: 1s). 0: the buffer is flushed when full, by Flush and by Close.
	FlushInterval time.Duration
	// Counted, when set, is told the outcome of every Write and of every
	// timed flush that failed: a configured output's counters. It must be
	// quick and must not call the sink.
	Counted func(WriteResult)
}

// WriteResult is the outcome of one write, for WriterOptions.Counted.
type WriteResult uint8

// The write outcomes.
const (
	Written     WriteResult = iota // the record is in the buffer
	WriteFailed                    // the writer failed (the record, or a timed flush)
	WriteClosed                    // written after Close: dropped
)

// NewWriterSink wraps w without a flush timer or counters; w is not closed
// by Close.
func NewWriterSink(w io.Writer) *WriterSink { return NewWriterSinkOptions(w, WriterOptions{}) }

// NewWriterSinkOptions wraps w with opt; w is not closed by Close.
func NewWriterSinkOptions(w io.Writer, opt WriterOptions) *WriterSink {
	if opt.Counted == nil {
		opt.Counted = func(WriteResult) {}
	}
	s := &WriterSink{opt: opt, w: bufio.NewWriterSize(w, 256<<10)}
	if opt.FlushInterval > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.flusher()
	}
	return s
}

func (s *WriterSink) flusher() {
	defer close(s.done)
	t := time.NewTicker(s.opt.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.Flush(); err != nil {
				s.opt.Counted(WriteFailed)
			}
		case <-s.stop:
			return
		}
	}
}

// Write appends rec and a newline.
func (s *WriterSink) Write(rec Encoded) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.opt.Counted(WriteClosed)
		return ErrClosed
	}
	_, err := s.w.Write(rec.JSON)
	if err == nil {
		err = s.w.WriteByte('\n')
	}
	if err != nil {
		s.opt.Counted(WriteFailed)
		return fmt.Errorf("write record: %w", err)
	}
	s.opt.Counted(Written)
	return nil
}

// Flush pushes buffered records to the underlying writer.
func (s *WriterSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Flush()
}

// Close stops the flush timer and flushes the buffer; the writer is not
// closed.
func (s *WriterSink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.w.Flush()
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	if err != nil {
		return fmt.Errorf("close sink: %w", err)
	}
	return nil
}
