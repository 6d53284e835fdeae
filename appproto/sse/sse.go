// Package sse parses server-sent events (text/event-stream, the WHATWG HTML
// "event stream" format), the way AI APIs stream completions: it is fed a
// response body in arbitrary chunks and streams each event's data — data
// lines joined with LF, CRLF, CR and LF line ends alike — to a Handler,
// with the event's type, id and retry fields, dispatching at the blank
// line. Nothing but short field values is buffered; data per event is
// capped and counted.
//
// It must not know about flows, destinations or PII: it finds the payload,
// the caller scans it.
package sse

import "sync/atomic"

// Flags describe how an event was delivered.
type Flags uint8

// Event flags.
const (
	FlagTruncated  Flags = 1 << iota // data beyond Config.MaxEvent was dropped
	FlagIncomplete                   // the stream ended before the blank line
	FlagFieldCut                     // an event or id value was longer than its buffer
)

// Event is the event in progress. It is owned by the Parser and reused:
// valid only during a Handler call.
type Event struct {
	Seq       int    // 1-based index of this event in the stream
	Type      []byte // the last "event:" value (empty means "message")
	ID        []byte // the last "id:" value
	Retry     int    // the last valid "retry:" value, -1 if none
	DataBytes int64  // data bytes delivered so far (LFs between lines included)
	Flags     Flags
}

// Handler receives events.
type Handler interface {
	// Data delivers the next bytes of ev's data. Type and ID are those
	// seen so far; End has the final values.
	Data(ev *Event, data []byte)
	// End is called when an event with data is dispatched (or the stream
	// ends inside it, FlagIncomplete).
	End(ev *Event)
}

// Stats are the parser's counters, shared and safe for concurrent use.
type Stats struct {
	Events     atomic.Uint64
	Truncated  atomic.Uint64
	LinesSkip  atomic.Uint64 // comment, unknown-field and over-long-name lines
	Incomplete atomic.Uint64
}

// Each calls fn with every counter's Prometheus name and value.
func (s *Stats) Each(fn func(name string, v uint64)) {
	fn("tapdlp_sse_events_total", s.Events.Load())
	fn("tapdlp_sse_events_truncated_total", s.Truncated.Load())
	fn("tapdlp_sse_lines_skipped_total", s.LinesSkip.Load())
	fn("tapdlp_sse_events_incomplete_total", s.Incomplete.Load())
}

// Config holds a Parser's limits. Zero fields mean the default.
type Config struct {
	// MaxEvent bounds the data bytes delivered per event (default 1 MiB).
	MaxEvent int64
	// Stats receives the counters; nil counts nothing.
	Stats *Stats
}

var discardStats Stats

type lstate uint8

const (
	stLineStart lstate = iota
	stName
	stSpace // the one optional space after the colon
	stValue
	stIgnore
)

type fieldKind uint8

const (
	fNone fieldKind = iota
	fData
	fEvent
	fID
	fRetry
)

// Parser reads one event stream. It is not safe for concurrent use.
type Parser struct {
	cfg   Config
	stats *Stats
	h     Handler

	st    lstate
	sawCR bool
	bom   int // BOM bytes matched at the stream start (-1: past it)

	name  [8]byte
	nname int
	kind  fieldKind

	ev       Event
	hasData  bool // a data line was seen in this event
	typBuf   [64]byte
	idBuf    [256]byte
	val      [256]byte // event/id/retry value in progress
	nval     int
	valCut   bool
	retryAcc int
	retryOK  bool
}

// NewParser returns a Parser reporting to h.
func NewParser(cfg Config, h Handler) *Parser {
	p := &Parser{}
	p.Reset(cfg, h)
	return p
}

// Reset makes p a fresh Parser.
func (p *Parser) Reset(cfg Config, h Handler) {
	*p = Parser{cfg: cfg, h: h}
	if p.cfg.MaxEvent <= 0 {
		p.cfg.MaxEvent = 1 << 20
	}
	p.stats = p.cfg.Stats
	if p.stats == nil {
		p.stats = &discardStats
	}
	p.ev = Event{Seq: 1, Retry: -1, Type: p.typBuf[:0], ID: p.idBuf[:0]}
}

var bom = [3]byte{0xef, 0xbb, 0xbf}

// Feed parses the next bytes of the stream. b is not retained.
func (p *Parser) Feed(b []byte) {
	for p.bom >= 0 && len(b) > 0 {
		if b[0] != bom[p.bom] {
			// A partial BOM followed by other bytes is dropped: it is not
			// valid UTF-8 text anyway.
			p.bom = -1
			break
		}
		b = b[1:]
		if p.bom++; p.bom == len(bom) {
			p.bom = -1
		}
	}
	for len(b) > 0 {
		c := b[0]
		if p.sawCR {
			p.sawCR = false
			if c == '\n' {
				b = b[1:]
				continue
			}
		}
		if c == '\r' || c == '\n' {
			p.sawCR = c == '\r'
			p.endLine()
			b = b[1:]
			continue
		}
		switch p.st {
		case stLineStart:
			if c == ':' {
				p.st = stIgnore // comment
				p.stats.LinesSkip.Add(1)
				b = b[1:]
				continue
			}
			p.st, p.nname = stName, 0
			fallthrough
		case stName:
			if c == ':' {
				p.fieldName()
				p.st = stSpace
				b = b[1:]
				continue
			}
			if p.nname == len(p.name) {
				p.st = stIgnore
				p.stats.LinesSkip.Add(1)
				continue
			}
			p.name[p.nname] = c
			p.nname++
			b = b[1:]
		case stSpace:
			p.st = stValue
			if c == ' ' {
				b = b[1:]
			}
		case stValue:
			n := 0
			for n < len(b) && b[n] != '\r' && b[n] != '\n' {
				n++
			}
			p.value(b[:n])
			b = b[n:]
		case stIgnore:
			n := 0
			for n < len(b) && b[n] != '\r' && b[n] != '\n' {
				n++
			}
			b = b[n:]
		}
	}
}

// fieldName decides what the line's value is for and starts it.
func (p *Parser) fieldName() {
	p.nval, p.valCut, p.retryAcc, p.retryOK = 0, false, 0, true
	switch string(p.name[:p.nname]) {
	case "data":
		p.kind = fData
		if p.hasData {
			p.data(lf)
		}
		p.hasData = true
	case "event":
		p.kind = fEvent
	case "id":
		p.kind = fID
	case "retry":
		p.kind = fRetry
	default:
		p.kind = fNone
		p.stats.LinesSkip.Add(1)
	}
}

var lf = []byte{'\n'}

// value handles a piece of the current line's value.
func (p *Parser) value(v []byte) {
	switch p.kind {
	case fData:
		p.data(v)
	case fEvent, fID:
		n := copy(p.val[p.nval:], v)
		p.nval += n
		if n < len(v) {
			p.valCut = true
		}
	case fRetry:
		for _, c := range v {
			if c < '0' || c > '9' || p.retryAcc > 1<<30 {
				p.retryOK = false
				return
			}
			p.retryAcc = p.retryAcc*10 + int(c-'0')
			p.nval++
		}
	}
}

// data delivers event data under the cap.
func (p *Parser) data(v []byte) {
	room := p.cfg.MaxEvent - p.ev.DataBytes
	if int64(len(v)) > room {
		v = v[:max(room, 0)]
		if p.ev.Flags&FlagTruncated == 0 {
			p.ev.Flags |= FlagTruncated
			p.stats.Truncated.Add(1)
		}
	}
	if len(v) > 0 {
		p.ev.DataBytes += int64(len(v))
		p.h.Data(&p.ev, v)
	}
}

// endLine completes a line: a field, or at a blank line the event.
func (p *Parser) endLine() {
	switch p.st {
	case stLineStart:
		p.dispatch(false)
	case stName:
		// A field name with no colon: the value is empty.
		p.fieldName()
		p.finishField()
	case stSpace, stValue:
		p.finishField()
	}
	p.st, p.nname, p.kind = stLineStart, 0, fNone
}

func (p *Parser) finishField() {
	switch p.kind {
	case fEvent:
		n := copy(p.typBuf[:], p.val[:p.nval])
		p.ev.Type = p.typBuf[:n]
		if n < p.nval || p.valCut {
			p.ev.Flags |= FlagFieldCut
		}
	case fID:
		n := copy(p.idBuf[:], p.val[:p.nval])
		p.ev.ID = p.idBuf[:n]
		if p.valCut {
			p.ev.Flags |= FlagFieldCut
		}
	case fRetry:
		if p.retryOK && p.nval > 0 { // only ASCII digits, at least one
			p.ev.Retry = p.retryAcc
		}
	}
}

// dispatch ends the event if it has data, and resets for the next one.
func (p *Parser) dispatch(incomplete bool) {
	if p.hasData {
		if incomplete {
			p.ev.Flags |= FlagIncomplete
			p.stats.Incomplete.Add(1)
		}
		p.stats.Events.Add(1)
		p.h.End(&p.ev)
		p.ev.Seq++
	}
	// id persists across events (the last event id); type does not.
	p.hasData = false
	p.ev.Type, p.ev.DataBytes, p.ev.Flags = p.typBuf[:0], 0, 0
}

// Close ends the stream: an event with data but no blank line yet ends
// with FlagIncomplete.
func (p *Parser) Close() {
	if p.st != stLineStart {
		p.endLine()
	}
	p.dispatch(true)
}
