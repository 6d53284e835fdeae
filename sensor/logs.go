package sensor

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tapdlp/tapdlp/record/sinks"
)

// statusLog turns the pipeline's periodic status lines ("tapdlp run:
// packets=1 bytes=2 ...") into log records, so that log.format (json or
// text) and log.level apply to them like to every other line.
type statusLog struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

func (s *statusLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		s.log.Info("status", statusAttrs(string(s.buf[:i]))...)
		s.buf = s.buf[i+1:]
	}
	if len(s.buf) > 64<<10 { // a line without end: bounded
		s.buf = s.buf[:0]
	}
	return len(p), nil
}

// statusAttrs parses "prefix: k=v k=v" into attributes, numbers as numbers.
func statusAttrs(line string) []any {
	if _, rest, ok := strings.Cut(line, ": "); ok {
		line = rest
	}
	var attrs []any
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			attrs = append(attrs, slog.String("text", f))
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			attrs = append(attrs, slog.Int64(k, n))
		} else {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	return attrs
}

// sinkState is what a configured sink is doing, as its counters show.
type sinkState int

const (
	sinkOK sinkState = iota
	sinkDown
	sinkSpooling
	sinkSpoolFull
)

// sinkSnap is one reading of a sink's counters.
type sinkSnap struct {
	written, failed, spooled, spoolFull, dropped uint64
	spoolBytes                                   int64
}

func snapSink(st *sinks.Stats) sinkSnap {
	s := sinkSnap{written: st.Written.Load(), failed: st.Failed.Load(), spooled: st.Spooled.Load(),
		spoolFull: st.Dropped(sinks.DropSpoolFull), spoolBytes: st.SpoolBytes.Load()}
	st.Each(func(name string, v uint64) {
		if strings.HasPrefix(name, "dropped_") {
			s.dropped += v
		}
	})
	return s
}

// watchedSink is one sink's state between readings.
type watchedSink struct {
	last    sinkSnap
	state   sinkState
	logged  sinkState // the state the last line reported
	lastLog time.Time
	since   sinkSnap  // counters when it left sinkOK
	downAt  time.Time // when it left sinkOK
}

// sinkWatch logs a sink's state changes — down, spooling, spool full,
// recovered (with what the outage cost) — one line per change, at most one
// per sink every gap: changes within the gap are folded and the state then
// current is logged once the gap has passed.
type sinkWatch struct {
	stats func(name string) *sinks.Stats
	names []string
	log   *slog.Logger
	gap   time.Duration
	sinks map[string]*watchedSink
}

func newSinkWatch(stats func(string) *sinks.Stats, names []string, log *slog.Logger, gap time.Duration) *sinkWatch {
	w := &sinkWatch{stats: stats, names: names, log: log, gap: gap, sinks: make(map[string]*watchedSink, len(names))}
	for _, n := range names {
		if st := stats(n); st != nil {
			w.sinks[n] = &watchedSink{last: snapSink(st)}
		}
	}
	return w
}

// run observes every poll until ctx is done.
func (w *sinkWatch) run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			w.observe(now)
		}
	}
}

// observe reads the counters once and logs what changed.
func (w *sinkWatch) observe(now time.Time) {
	for _, n := range w.names {
		ws := w.sinks[n]
		st := w.stats(n)
		if ws == nil || st == nil {
			continue
		}
		cur := snapSink(st)
		next := ws.state
		switch {
		case cur.spoolFull > ws.last.spoolFull:
			next = sinkSpoolFull
		case cur.spooled > ws.last.spooled:
			next = sinkSpooling
		case cur.failed > ws.last.failed && cur.written == ws.last.written:
			next = sinkDown
		case cur.written > ws.last.written && cur.failed == ws.last.failed && cur.spoolBytes == 0:
			next = sinkOK
		}
		if ws.state == sinkOK && next != sinkOK {
			ws.since, ws.downAt = ws.last, now
		}
		ws.state, ws.last = next, cur
		if ws.state != ws.logged && (ws.lastLog.IsZero() || now.Sub(ws.lastLog) >= w.gap) {
			w.report(n, ws, cur, now)
			ws.logged, ws.lastLog = ws.state, now
		}
	}
}

func (w *sinkWatch) report(name string, ws *watchedSink, cur sinkSnap, now time.Time) {
	failed, spooled, dropped := cur.failed-ws.since.failed, cur.spooled-ws.since.spooled, cur.dropped-ws.since.dropped
	switch ws.state {
	case sinkDown:
		w.log.Warn("sink down: deliveries failing, records are retried", "sink", name, "failed", failed)
	case sinkSpooling:
		w.log.Warn("sink spooling: records go to the on-disk spool until it recovers", "sink", name,
			"spooled", spooled, "spool_bytes", cur.spoolBytes)
	case sinkSpoolFull:
		w.log.Error("sink spool full: records are being dropped", "sink", name,
			"dropped", dropped, "spool_bytes", cur.spoolBytes)
	case sinkOK:
		w.log.Info("sink recovered", "sink", name, "after", now.Sub(ws.downAt).Round(time.Second).String(),
			"failed", failed, "spooled", spooled, "dropped", dropped)
	}
}
