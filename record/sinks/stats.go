package sinks

import (
	"sync/atomic"

	"github.com/tapdlp/tapdlp/record"
)

// DropReason says why a sink gave up on a record.
type DropReason uint8

// Drop reasons, one pre-built counter each.
const (
	DropSpoolFull   DropReason = iota // memory queue and spool both full
	DropQueueFull                     // memory queue full and the sink has no spool
	DropTooLarge                      // record larger than the sink or spool accepts
	DropClosed                        // written after Close
	DropSpoolError                    // the spool could not be written (disk error)
	DropUnrouted                      // no destination for the record's type
	DropNotRendered                   // the sink's format (ecs, eve) needs a rendering the producer did not make
	numDropReasons
)

var dropNames = [numDropReasons]string{"spool_full", "queue_full", "too_large", "closed", "spool_error", "unrouted", "not_rendered"}

// String returns the reason's metric label value.
func (r DropReason) String() string {
	if r < numDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// Stats are one sink's counters. Everything is atomic so the metrics
// exporter reads them without locks while the sink runs.
type Stats struct {
	Written    atomic.Uint64 // records delivered (acknowledged where the protocol allows)
	Failed     atomic.Uint64 // records whose delivery attempt failed (they are retried, not lost)
	Spooled    atomic.Uint64 // records written to the on-disk spool
	Reconnects atomic.Uint64 // network connections (re)established after the first
	Rotations  atomic.Uint64 // file rotations (by size, age or Reopen)
	// SpoolCorrupt counts spool segments whose tail was torn (a crash
	// mid-append) or corrupt; the rest of such a segment is skipped.
	SpoolCorrupt atomic.Uint64
	dropped      [numDropReasons]atomic.Uint64
	// Gauges.
	SpoolBytes atomic.Int64 // bytes currently held in the spool
	QueueLen   atomic.Int64 // records currently in the memory queue
}

// Drop counts n records dropped for reason r.
func (s *Stats) Drop(r DropReason, n uint64) { s.dropped[r].Add(n) }

// Count counts one outcome of a record.WriterSink (the stdout output).
func (s *Stats) Count(r record.WriteResult) {
	switch r {
	case record.Written:
		s.Written.Add(1)
	case record.WriteFailed:
		s.Failed.Add(1)
	case record.WriteClosed:
		s.Drop(DropClosed, 1)
	}
}

// Dropped returns how many records were dropped for reason r.
func (s *Stats) Dropped(r DropReason) uint64 { return s.dropped[r].Load() }

// Each calls fn once per counter with a stable metric-style name. Names
// ending in _total are counters; the others are gauges. The set of names is
// fixed, so labels built from them are bounded.
func (s *Stats) Each(fn func(name string, v uint64)) {
	fn("written_total", s.Written.Load())
	fn("failed_total", s.Failed.Load())
	fn("spooled_total", s.Spooled.Load())
	fn("reconnects_total", s.Reconnects.Load())
	fn("rotations_total", s.Rotations.Load())
	fn("spool_corrupt_segments_total", s.SpoolCorrupt.Load())
	for r := DropReason(0); r < numDropReasons; r++ {
		fn("dropped_"+dropNames[r]+"_total", s.dropped[r].Load())
	}
	fn("spool_bytes", uint64(max(s.SpoolBytes.Load(), 0)))
	fn("queue_length", uint64(max(s.QueueLen.Load(), 0)))
}
