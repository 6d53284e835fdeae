package record

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
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

// WriterSink writes JSON lines to an io.Writer through a buffer: the one
// stdout sink (record/sinks' "stdout" output adds a flush timer and counters
// around it; replay and tests use it directly). Files are written by
// record/sinks.FileSink. It is safe for concurrent use; Close flushes and
// does not close the writer.
type WriterSink struct {
	mu     sync.Mutex
	w      *bufio.Writer
	closed bool
}

// NewWriterSink wraps w; w is not closed by Close.
func NewWriterSink(w io.Writer) *WriterSink {
	return &WriterSink{w: bufio.NewWriterSize(w, 256<<10)}
}

// Write appends rec and a newline.
func (s *WriterSink) Write(rec Encoded) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if _, err := s.w.Write(rec.JSON); err != nil {
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

// Close flushes the buffer; the writer is not closed.
func (s *WriterSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("close sink: %w", err)
	}
	return nil
}
