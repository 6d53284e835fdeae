package sinks

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/siem"
)

// ErrNotRendered is returned for a record that reached a sink whose format
// needs the record rendered (ecs, eve) without the producer calling
// Router.Render first.
var ErrNotRendered = errors.New("record not rendered for the sink's format")

// RecordTypes are the values of the "type" field a sink can subscribe to.
var RecordTypes = []string{record.KindFlow.String(), record.KindAlert.String(), record.KindVolume.String()}

type routedSink struct {
	name   string
	sink   record.Sink
	stats  *Stats
	format siem.Format
}

// Router is a record.Sink that fans each record out, by its kind, to the
// sinks subscribed to that type. It holds no queue of its own: network
// sinks queue and spool behind it, so Write costs a table lookup plus one
// memory copy per network sink.
type Router struct {
	sinks    []routedSink
	routes   [256][]int // by record.Kind
	need     [siem.NumFormats]bool
	sensor   *record.Sensor
	sensorJS []byte // `,"sensor":{…}}`, spliced over a native record's closing brace
	unrouted atomic.Uint64
	once     sync.Once
	closeErr error
}

// NewRouter returns an empty router; Build is the usual constructor.
func NewRouter() *Router { return &Router{} }

// Add subscribes s, named name (a metric label), to the record types
// (RecordTypes; Validate rejects others, Add ignores them).
// stats may be nil. Add is not safe to call concurrently with Write.
func (r *Router) Add(name string, s record.Sink, stats *Stats, types ...string) {
	if stats == nil {
		stats = new(Stats)
	}
	r.sinks = append(r.sinks, routedSink{name: name, sink: s, stats: stats})
	for _, t := range types {
		if k, ok := record.ParseKind(t); ok {
			r.routes[k] = append(r.routes[k], len(r.sinks)-1)
		}
	}
}

// SetFormat makes the named sink receive records in format f (native when
// never called). Not safe to call concurrently with Write or Render.
func (r *Router) SetFormat(name string, f siem.Format) {
	for i := range r.sinks {
		if r.sinks[i].name == name {
			r.sinks[i].format = f
			r.need[f] = true
		}
	}
}

// SetSensor sets the identity added to every record: `sensor` in native
// records, observer.* in ECS, host and in_iface in EVE. A zero s adds none.
// Not safe to call concurrently with Write or Render.
func (r *Router) SetSensor(s record.Sensor) {
	if s == (record.Sensor{}) {
		r.sensor, r.sensorJS = nil, nil
		return
	}
	r.sensor = &s
	r.sensorJS = siem.AppendSensor([]byte(`,"sensor":`), &s)
	r.sensorJS = append(r.sensorJS, '}')
}

// Render implements record.Renderer: it adds the sensor identity to the
// native JSON and renders v once for each other format a sink uses, so
// Write hands every sink of a format the same bytes. It runs on the
// producer's goroutine and keeps no state.
func (r *Router) Render(v record.Routed, rec record.Encoded) record.Encoded {
	if a, ok := v.(*record.Alert); ok {
		rec.Severity = record.ParseSeverity(a.Severity)
	}
	if r.sensorJS != nil && len(rec.JSON) > 2 && rec.JSON[len(rec.JSON)-1] == '}' {
		rec.JSON = append(rec.JSON[:len(rec.JSON)-1:len(rec.JSON)-1], r.sensorJS...)
	}
	if !r.need[siem.ECS] && !r.need[siem.EVE] {
		return rec
	}
	rec.Alt = make([][]byte, siem.NumFormats)
	if r.need[siem.ECS] {
		rec.Alt[siem.ECS] = siem.AppendECS(make([]byte, 0, 2*len(rec.JSON)), v, r.sensor)
	}
	if r.need[siem.EVE] {
		out := make([]byte, 0, 2*len(rec.JSON))
		siem.AppendEVE(nil, v, r.sensor, func(ev []byte) {
			if len(out) > 0 {
				out = append(out, '\n')
			}
			out = append(out, ev...)
		})
		rec.Alt[siem.EVE] = out
	}
	return rec
}

// Write sends rec to every sink subscribed to its type. A record whose type
// nobody subscribed to is counted (Unrouted) and dropped without error,
// since routing it nowhere is what the configuration asked for. Errors of
// individual sinks are joined; the other sinks still get the record.
func (r *Router) Write(rec record.Encoded) error {
	idx := r.routes[rec.Kind]
	if len(idx) == 0 {
		r.unrouted.Add(1)
		return nil
	}
	var errs []error
	for _, i := range idx {
		s := &r.sinks[i]
		if s.format == siem.Native {
			if err := s.sink.Write(rec); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if int(s.format) >= len(rec.Alt) || rec.Alt[s.format] == nil {
			s.stats.Drop(DropNotRendered, 1)
			errs = append(errs, fmt.Errorf("sink %s: %w", s.name, ErrNotRendered))
			continue
		}
		// Each document of the format is one record for the sink (EVE
		// writes several events for a flow; a volume record has none).
		docs := rec.Alt[s.format]
		for len(docs) > 0 {
			doc, rest, _ := bytes.Cut(docs, []byte{'\n'})
			docs = rest
			out := rec
			out.JSON, out.Alt = doc, nil
			if err := s.sink.Write(out); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// Close closes every sink concurrently, so network sinks spend their
// shutdown timeouts in parallel, and returns their joined errors.
func (r *Router) Close() error {
	r.once.Do(func() {
		errs := make([]error, len(r.sinks))
		var wg sync.WaitGroup
		for i, s := range r.sinks {
			wg.Go(func() {
				if err := s.sink.Close(); err != nil {
					errs[i] = fmt.Errorf("close sink %s: %w", s.name, err)
				}
			})
		}
		wg.Wait()
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// Reopen reopens every file sink (external log rotation, on SIGHUP).
func (r *Router) Reopen() error {
	var errs []error
	for _, s := range r.sinks {
		if f, ok := s.sink.(interface{ Reopen() error }); ok {
			if err := f.Reopen(); err != nil {
				errs = append(errs, fmt.Errorf("reopen sink %s: %w", s.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Unrouted reports records whose type no sink subscribed to.
func (r *Router) Unrouted() uint64 { return r.unrouted.Load() }

// Stats returns the counters of the named sink, or nil.
func (r *Router) Stats(name string) *Stats {
	for _, s := range r.sinks {
		if s.name == name {
			return s.stats
		}
	}
	return nil
}

// Each calls fn for every counter of every sink: sink is the configured
// sink name, name the counter (see Stats.Each). The set is fixed once the
// router is built, so it can back pre-registered metrics.
func (r *Router) Each(fn func(sink, name string, v uint64)) {
	for _, s := range r.sinks {
		s.stats.Each(func(name string, v uint64) { fn(s.name, name, v) })
	}
}
