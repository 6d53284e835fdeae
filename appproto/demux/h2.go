package demux

import (
	"bytes"

	"github.com/tapdlp/tapdlp/appproto/grpc"
	"github.com/tapdlp/tapdlp/appproto/http2"
	"github.com/tapdlp/tapdlp/appproto/sse"
	"github.com/tapdlp/tapdlp/appproto/websocket"
	"github.com/tapdlp/tapdlp/internal/bodydec"
	"github.com/tapdlp/tapdlp/record"
)

// grpcMaxDepth bounds how deep the protobuf walk recurses into nested
// messages.
const grpcMaxDepth = 8

// h2Parser reads an HTTP/2 connection (prior knowledge, an h2c upgrade or
// decrypted h2) and turns each stream's messages into the Sink calls HTTP/1
// uses, per direction (request = Out, response = In). The Sink has one
// current message per direction; streams interleave, so a message is
// (re)started at the Sink whenever another stream's bytes come on its
// direction: two streams' bytes never join into one value (a value split
// across two DATA frames of one stream with another stream's DATA between
// them is the price). Streams carrying gRPC, server-sent events or an
// RFC 8441 WebSocket get a sub-parser (h2Sub) whose output is scanned
// instead of the raw DATA.
type h2Parser struct {
	fl   *Flow
	c    http2.Conn
	open [2]uint32 // stream whose message is open at the Sink per direction (0: none)
	subs map[uint32]*h2Sub
	free []*h2Sub
}

// subKey keys a stream direction's sub-parser.
func subKey(id uint32, dir Dir) uint32 { return id<<1 | uint32(dir) }

func (h *h2Parser) reset(fl *Flow) {
	h.fl = fl
	h.c.Reset(http2.Config{Stats: fl.d.cfg.HTTP2Stats, MaxDecoded: fl.d.cfg.MaxDecoded}, (*h2Events)(h))
	h.open = [2]uint32{}
	for k, s := range h.subs {
		h.release(k, s)
	}
}

// startUpgraded readies the parser for the bytes after an HTTP/1.1
// "Upgrade: h2c" answered by 101 (see http2.Conn.StartUpgraded).
func (h *h2Parser) startUpgraded(settings []byte) { h.c.StartUpgraded(settings) }

func h2Side(dir Dir) http2.Side {
	if dir == Out {
		return http2.Request
	}
	return http2.Response
}

func (h *h2Parser) Feed(dir Dir, b []byte) bool {
	more := h.c.Feed(h2Side(dir), b)
	h.streams()
	return more
}

func (h *h2Parser) Gap(dir Dir, n int) { h.c.Gap(h2Side(dir), n) }

func (h *h2Parser) Close() {
	h.c.Close()
	h.streams()
	for k, s := range h.subs {
		h.release(k, s)
	}
}

// streams copies the connection's stream count into the record.
func (h *h2Parser) streams() {
	if r := h.fl.res.HTTP; r != nil {
		r.Streams = h.c.Streams()
	}
}

// begin makes id's message the one open at the Sink on dir.
func (h *h2Parser) begin(dir Dir, id uint32, contentType []byte) {
	if h.open[dir] == id {
		return
	}
	if h.open[dir] != 0 {
		h.fl.sink.MessageEnd(dir)
	}
	h.open[dir] = id
	h.fl.sink.MessageStart(dir, contentType, nil)
}

// end closes id's message at the Sink if it is the open one on dir.
func (h *h2Parser) end(dir Dir, id uint32) {
	if h.open[dir] == id && id != 0 {
		h.fl.sink.MessageEnd(dir)
		h.open[dir] = 0
	}
}

// subKind is what a stream direction carries inside its DATA.
type subKind uint8

const (
	subGRPC subKind = iota + 1
	subSSE
	subWS
)

// h2Sub is one stream direction's sub-parser. The parsers are allocated
// on first use and kept while the sub is recycled.
type h2Sub struct {
	h      *h2Parser
	dir    Dir
	id     uint32
	kind   subKind
	begun  bool
	coding bodydec.Coding       // gRPC: grpc-encoding
	ext    websocket.Extensions // WebSocket: the response's extensions
	grpc   *grpc.Reader
	sse    *sse.Parser
	ws     *websocket.Parser
}

func (h *h2Parser) sub(id uint32, dir Dir) *h2Sub { return h.subs[subKey(id, dir)] }

func (h *h2Parser) newSub(id uint32, dir Dir, kind subKind) *h2Sub {
	if h.subs == nil {
		h.subs = make(map[uint32]*h2Sub)
	}
	var s *h2Sub
	if n := len(h.free); n > 0 {
		s, h.free = h.free[n-1], h.free[:n-1]
	} else {
		s = new(h2Sub)
	}
	s.h, s.dir, s.id, s.kind, s.begun = h, dir, id, kind, false
	s.coding, s.ext = bodydec.CodingNone, websocket.Extensions{}
	h.subs[subKey(id, dir)] = s
	return s
}

func (h *h2Parser) release(k uint32, s *h2Sub) {
	delete(h.subs, k)
	h.free = append(h.free, s)
}

// feed hands a DATA chunk to the sub-parser, set up on the first one
// (after the header fields that configure it).
func (s *h2Sub) feed(b []byte) {
	d := s.h.fl.d
	if !s.begun {
		s.begun = true
		switch s.kind {
		case subGRPC:
			if s.grpc == nil {
				s.grpc = new(grpc.Reader)
			}
			s.grpc.Reset(s.coding, grpc.Config{Stats: d.cfg.GRPCStats, MaxMessage: budgetInt(d.cfg.MaxDecoded)}, (*grpcEvents)(s))
		case subSSE:
			if s.sse == nil {
				s.sse = new(sse.Parser)
			}
			s.sse.Reset(sse.Config{Stats: d.cfg.SSEStats}, (*sseEvents)(s))
		case subWS:
			if s.ws == nil {
				s.ws = new(websocket.Parser)
			}
			side := websocket.Client
			if s.dir == In {
				side = websocket.Server
			}
			s.ws.Reset(side, s.ext, websocket.Config{Stats: d.cfg.WebSocketStats, MaxMessage: d.cfg.MaxDecoded}, wsEvents{fl: s.h.fl, dir: s.dir})
		}
	}
	switch s.kind {
	case subGRPC:
		s.grpc.Feed(b)
	case subSSE:
		s.sse.Feed(b)
	case subWS:
		s.ws.Feed(b)
	}
}

// finish flushes the sub-parser at its message's end.
func (s *h2Sub) finish() {
	if !s.begun {
		return
	}
	switch s.kind {
	case subGRPC:
		s.grpc.End()
	case subSSE:
		s.sse.Close()
	case subWS:
		s.ws.Close()
	}
}

// h2Events receives the HTTP/2 connection's events.
type h2Events h2Parser

func dirOfH2(side http2.Side) Dir {
	if side == http2.Request {
		return Out
	}
	return In
}

var (
	ctEventStream = []byte("text/event-stream")
	ctPlain       = []byte("text/plain")
)

func (e *h2Events) Start(m *http2.Message) {
	h := (*h2Parser)(e)
	fl := h.fl
	dir := dirOfH2(m.Side)
	kind := subKind(0)
	switch {
	case m.ExtendedConnect() && bytes.Equal(m.Protocol, []byte("websocket")):
		kind = subWS
	case grpc.IsGRPC(m.ContentType):
		kind = subGRPC
	case m.Side == http2.Response && bytes.Equal(m.ContentType, ctEventStream):
		kind = subSSE
	}
	if kind != 0 {
		if old := h.sub(m.StreamID, dir); old != nil {
			h.release(subKey(m.StreamID, dir), old)
		}
		h.newSub(m.StreamID, dir, kind)
	}
	h.begin(dir, m.StreamID, h.contentType(m, dir))
	if kind == subWS {
		fl.res.App = WebSocket
	}
	if m.Side == http2.Response {
		if fl.res.HTTP != nil && fl.res.HTTP.Status == 0 {
			fl.res.HTTP.Status = m.Status
		}
		return
	}
	path, query := m.Path, []byte(nil)
	if i := bytes.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	fl.sink.URL(dir, path, query)
	if req := fl.requests(); req != nil && kind == 0 {
		req.RequestStart(m.StreamID, m.Method, m.Host, path, m.ContentType)
	}
	if kind == subGRPC && fl.res.GRPC == nil {
		if svc, meth, ok := grpc.ParsePath(m.Path); ok {
			fl.res.GRPC = &record.GRPC{Service: string(svc), Method: string(meth)}
		}
	}
	if fl.res.HTTP == nil {
		rh := fl.d.pool.newHTTP()
		rh.Version = "2"
		rh.Method = fl.d.names.method(m.Method)
		rh.Host = fl.d.names.str(m.Host)
		rh.URI = fl.sink.Redact(path)
		fl.res.HTTP = rh
		if len(m.Host) > 0 && fl.res.NameSource == NoName {
			fl.setName(fl.res.HTTP.Host, FromHTTP)
		}
	}
	fl.res.HTTP.Requests++
}

// contentType is the media type the Sink scans m's delivered bytes as:
// a sub-parser's output is text (gRPC fields) or of no declared type.
func (h *h2Parser) contentType(m *http2.Message, dir Dir) []byte {
	if s := h.sub(m.StreamID, dir); s != nil {
		if s.kind == subGRPC {
			return ctPlain
		}
		return nil
	}
	return m.ContentType
}

func (e *h2Events) Header(m *http2.Message, name, value []byte) {
	h := (*h2Parser)(e)
	fl := h.fl
	dir := dirOfH2(m.Side)
	if string(name) == ":path" {
		return // delivered by URL, like an HTTP/1 request target
	}
	switch {
	case m.Side == http2.Request && !m.InTrailer && string(name) == "user-agent":
		if r := fl.res.HTTP; r != nil && r.UserAgent == "" && r.Requests == 1 {
			r.UserAgent = string(value)
		}
	case string(name) == "grpc-encoding":
		if s := h.sub(m.StreamID, dir); s != nil && s.kind == subGRPC && !s.begun {
			s.coding = grpc.ParseEncoding(value)
		}
	case m.Side == http2.Response && string(name) == "sec-websocket-extensions":
		ext := websocket.ParseExtensions(value)
		for _, d := range [2]Dir{Out, In} {
			if s := h.sub(m.StreamID, d); s != nil && s.kind == subWS && !s.begun {
				s.ext = ext
			}
		}
	}
	h.begin(dir, m.StreamID, h.contentType(m, dir))
	fl.sink.Header(dir, name, value)
}

func (e *h2Events) Body(m *http2.Message, data []byte) {
	h := (*h2Parser)(e)
	dir := dirOfH2(m.Side)
	// Bytes the parser could not decode are scanned as they are (see
	// httpEvents.Body).
	h.begin(dir, m.StreamID, h.contentType(m, dir))
	if s := h.sub(m.StreamID, dir); s != nil {
		s.feed(data)
		return
	}
	h.fl.sink.Body(dir, data)
	if req := h.fl.requests(); m.Side == http2.Request && req != nil {
		req.RequestBody(m.StreamID, data)
	}
}

func (e *h2Events) End(m *http2.Message) {
	h := (*h2Parser)(e)
	dir := dirOfH2(m.Side)
	if t := h2Truncation(m.Flags); t != TruncNone {
		h.fl.sink.Truncated(dir, t)
	}
	k := subKey(m.StreamID, dir)
	if s := h.subs[k]; s != nil {
		if s.begun {
			h.begin(dir, m.StreamID, h.contentType(m, dir))
			s.finish()
		}
		h.release(k, s)
	}
	h.end(dir, m.StreamID)
	if req := h.fl.requests(); m.Side == http2.Request && req != nil {
		req.RequestEnd(m.StreamID)
	}
}

// Stop: the HTTP/2 connection's framing is lost; nothing after it is
// inspected.
func (e *h2Events) Stop(side http2.Side, _ http2.Reason) {
	(*h2Parser)(e).fl.sink.Truncated(dirOfH2(side), TruncParserStopped)
}

// h2Truncation maps how an HTTP/2 body was delivered to why its inspection
// was cut short or degraded.
func h2Truncation(f http2.Flags) Truncation {
	switch {
	case f.Has(http2.FlagBomb):
		return TruncBomb
	case f.Has(http2.FlagTruncated):
		return TruncDecodeBudget
	case f.Has(http2.FlagDecodeError):
		return TruncDecodeError
	case f.Has(http2.FlagUndecoded):
		return TruncUndecodable
	}
	return TruncNone
}

// grpcEvents scans a gRPC message's text fields, each a value of its own.
type grpcEvents h2Sub

var newline = []byte{'\n'}

func (g *grpcEvents) Message(m *grpc.Message, data []byte) {
	s := (*h2Sub)(g)
	sink := s.h.fl.sink
	if t := grpcTruncation(m); t != TruncNone {
		sink.Truncated(s.dir, t)
	}
	grpc.WalkText(data, grpcMaxDepth, func(text []byte) {
		sink.Body(s.dir, text)
		sink.Body(s.dir, newline)
	})
}

// grpcTruncation maps how a gRPC message was delivered to why its
// inspection was cut short or degraded.
func grpcTruncation(m *grpc.Message) Truncation {
	switch f := m.Flags; {
	case f&grpc.FlagBomb != 0:
		return TruncBomb
	case f&grpc.FlagTruncated != 0 && m.Compressed:
		return TruncDecodeBudget
	case f&grpc.FlagTruncated != 0:
		return TruncInspectBytes // a plain message longer than the scan's budget
	case f&grpc.FlagDecodeError != 0:
		return TruncDecodeError
	case f&grpc.FlagUndecoded != 0:
		return TruncUndecodable
	}
	return TruncNone
}

// budgetInt is the decoding budget as an int limit (0: the parser's
// default).
func budgetInt(b int64) int {
	return int(min(max(b, 0), 1<<30))
}

// sseEvents scans an event stream's data payloads as one stream, so a
// value split across two events is found.
type sseEvents h2Sub

func (v *sseEvents) Data(_ *sse.Event, data []byte) {
	s := (*h2Sub)(v)
	s.h.fl.sink.Body(s.dir, data)
}

func (v *sseEvents) End(*sse.Event) {}

// wsEvents scans a WebSocket direction's messages, each a message of its
// own at the Sink (an HTTP/2 stream's WebSocket keeps its stream message
// open: its messages are separated by a newline instead).
type wsEvents struct {
	fl  *Flow
	dir Dir
	own bool // the Sink's message on dir is the WebSocket message (HTTP/1.1)
}

func (w wsEvents) Start(*websocket.Message) {
	if w.own {
		w.fl.sink.MessageStart(w.dir, nil, nil)
	}
}

func (w wsEvents) Data(_ *websocket.Message, data []byte) { w.fl.sink.Body(w.dir, data) }

func (w wsEvents) End(m *websocket.Message) {
	if t := wsTruncation(m); t != TruncNone {
		w.fl.sink.Truncated(w.dir, t)
	}
	if w.own {
		w.fl.sink.MessageEnd(w.dir)
	} else {
		w.fl.sink.Body(w.dir, newline)
	}
}

func (w wsEvents) Control(websocket.Side, websocket.Opcode, []byte) {}

// Stop: the direction's framing is lost (a bad frame, or bytes lost
// outside a payload); nothing after it is inspected.
func (w wsEvents) Stop(_ websocket.Side, r websocket.Reason) {
	if r == websocket.ReasonGap {
		w.fl.sink.Truncated(w.dir, TruncGap)
		return
	}
	w.fl.sink.Truncated(w.dir, TruncParserStopped)
}

// wsTruncation maps how a WebSocket message was delivered to why its
// inspection was cut short or degraded.
func wsTruncation(m *websocket.Message) Truncation {
	switch f := m.Flags; {
	case f.Has(websocket.FlagBomb):
		return TruncBomb
	case f.Has(websocket.FlagTruncated) && m.Compressed:
		return TruncDecodeBudget
	case f.Has(websocket.FlagTruncated):
		return TruncInspectBytes // a plain message longer than the scan's budget
	case f.Has(websocket.FlagDecodeError):
		return TruncDecodeError
	case f.Has(websocket.FlagUndecoded):
		return TruncUndecodable
	}
	return TruncNone
}

// wsParser reads a WebSocket connection after an HTTP/1.1 101: client
// frames (masked) on Out, server frames on In.
type wsParser struct {
	fl *Flow
	p  [2]websocket.Parser
}

func (w *wsParser) reset(fl *Flow, ext websocket.Extensions) {
	w.fl = fl
	cfg := websocket.Config{Stats: fl.d.cfg.WebSocketStats, MaxMessage: fl.d.cfg.MaxDecoded}
	w.p[Out].Reset(websocket.Client, ext, cfg, wsEvents{fl: fl, dir: Out, own: true})
	w.p[In].Reset(websocket.Server, ext, cfg, wsEvents{fl: fl, dir: In, own: true})
}

func (w *wsParser) Feed(dir Dir, b []byte) bool { return w.p[dir].Feed(b) }
func (w *wsParser) Gap(dir Dir, n int)          { w.p[dir].Gap(n) }
func (w *wsParser) Close() {
	w.p[Out].Close()
	w.p[In].Close()
}
