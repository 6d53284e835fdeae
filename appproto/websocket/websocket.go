package websocket

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"

	"github.com/tapdlp/tapdlp/internal/bodydec"
)

// Side says which peer sent the frames a Parser reads.
type Side uint8

// Sides: Client frames are masked, Server frames are not.
const (
	Client Side = iota
	Server
)

// String returns "client" or "server".
func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

// Opcode is a frame's opcode (RFC 6455 §5.2).
type Opcode uint8

// Opcodes.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xa
)

// Reason says why a Parser stopped for good.
type Reason uint8

// Stop reasons, each counted in Stats.
const (
	ReasonNone     Reason = iota
	ReasonBadFrame        // reserved opcode or bits, oversized or fragmented control frame, bad continuation
	ReasonGap             // bytes lost outside a data frame's payload
	numReasons
)

var reasonNames = [numReasons]string{"none", "bad_frame", "gap"}

// String returns the reason's stable identifier.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Flags describe how a message was delivered.
type Flags uint8

// Message flags; End reports the final set.
const (
	FlagTruncated   Flags = 1 << iota // decoded output reached Config.MaxMessage (the decoding budget)
	FlagBomb                          // beyond the budget at a ratio past Config.MaxRatio: the inflater stopped
	FlagUndecoded                     // compressed, but the inflater was lost (bomb or error earlier): nothing delivered
	FlagDecodeError                   // the deflate data was corrupt
	FlagGap                           // payload bytes were lost in capture
	FlagIncomplete                    // the stream ended inside the message
)

// Has reports whether all of f2 are set.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

// Extensions are the permessage-deflate parameters the server accepted
// (its Sec-WebSocket-Extensions response header).
type Extensions struct {
	Deflate                 bool
	ClientNoContextTakeover bool // the client resets its compressor per message
	ServerNoContextTakeover bool
}

// ParseExtensions reads a Sec-WebSocket-Extensions value; only the first
// permessage-deflate offer counts (RFC 7692 §5). It does not allocate.
func ParseExtensions(v []byte) Extensions {
	var e Extensions
	for len(v) > 0 {
		ext := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			ext, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		name := ext
		var params []byte
		if i := bytes.IndexByte(ext, ';'); i >= 0 {
			name, params = ext[:i], ext[i+1:]
		}
		if !bytes.EqualFold(bytes.TrimSpace(name), []byte("permessage-deflate")) {
			continue
		}
		e.Deflate = true
		for len(params) > 0 {
			p := params
			if i := bytes.IndexByte(params, ';'); i >= 0 {
				p, params = params[:i], params[i+1:]
			} else {
				params = nil
			}
			if i := bytes.IndexByte(p, '='); i >= 0 {
				p = p[:i]
			}
			switch p = bytes.TrimSpace(p); {
			case bytes.EqualFold(p, []byte("client_no_context_takeover")):
				e.ClientNoContextTakeover = true
			case bytes.EqualFold(p, []byte("server_no_context_takeover")):
				e.ServerNoContextTakeover = true
			}
		}
		return e
	}
	return e
}

// Message is the data message in progress on one side. It is owned by the
// Parser and reused: valid only during a Handler call.
type Message struct {
	Side         Side
	Seq          int    // 1-based index of this message on its side
	Opcode       Opcode // OpText or OpBinary
	Compressed   bool   // RSV1 on the first frame: permessage-deflate
	Frames       int    // frames so far
	RawBytes     int64  // payload bytes on the wire
	DecodedBytes int64  // bytes delivered through Data
	Flags        Flags
}

// Handler receives a Parser's events, from the goroutine that calls Feed,
// Gap or Close. Data is only valid during the call.
type Handler interface {
	// Start is called at a text or binary message's first frame.
	Start(m *Message)
	// Data delivers the message's next unmasked, inflated bytes.
	Data(m *Message, data []byte)
	// End is called once per started message: at its final frame, or when
	// the stream ends first (FlagIncomplete).
	End(m *Message)
	// Control delivers a close, ping or pong frame's unmasked payload.
	Control(side Side, op Opcode, payload []byte)
	// Stop is called at most once, when the Parser gives up.
	Stop(side Side, reason Reason)
}

// Stats are the parser's counters, shared and safe for concurrent use
// (names follow tapdlp_websocket_*_total).
type Stats struct {
	Frames       atomic.Uint64
	Messages     atomic.Uint64
	Control      atomic.Uint64
	Truncated    atomic.Uint64
	Bombs        atomic.Uint64
	Undecoded    atomic.Uint64
	DecodeErrors atomic.Uint64
	Gaps         atomic.Uint64
	Stops        [numReasons]atomic.Uint64
}

// Each calls fn with every counter's Prometheus name and value.
func (s *Stats) Each(fn func(name string, v uint64)) {
	fn("tapdlp_websocket_frames_total", s.Frames.Load())
	fn("tapdlp_websocket_messages_total", s.Messages.Load())
	fn("tapdlp_websocket_control_frames_total", s.Control.Load())
	fn("tapdlp_websocket_messages_truncated_total", s.Truncated.Load())
	fn("tapdlp_websocket_decompression_bombs_total", s.Bombs.Load())
	fn("tapdlp_websocket_messages_undecoded_total", s.Undecoded.Load())
	fn("tapdlp_websocket_decode_errors_total", s.DecodeErrors.Load())
	fn("tapdlp_websocket_gaps_total", s.Gaps.Load())
	for r := ReasonNone + 1; r < numReasons; r++ {
		fn(`tapdlp_websocket_stops_total{reason="`+r.String()+`"}`, s.Stops[r].Load())
	}
}

// Config holds a Parser's limits. Zero fields mean the default.
type Config struct {
	// MaxMessage is the decoding budget: the bytes delivered per message
	// (default 1 MiB; the pipeline passes inspection.inspect_bytes). The
	// rest is dropped (FlagTruncated); a compressed message is inflated on
	// only to keep a shared context for the next ones (context takeover).
	MaxMessage int64
	// MaxRatio bounds, beyond the budget only, a compressed message's
	// inflated/compressed bytes (default 100): past it the inflater stops
	// (FlagBomb). Within the budget the ratio never stops inflation, so a
	// value behind compressible padding is delivered.
	MaxRatio int64
	// Stats receives the counters; nil counts nothing.
	Stats *Stats
}

var discardStats Stats

type pstate uint8

const (
	stHeader pstate = iota
	stPayload
	stControl
	stStopped
)

// deflateTail ends every permessage-deflate message (RFC 7692 §7.2.2).
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// Parser reads one direction of a WebSocket connection. It is not safe for
// concurrent use.
type Parser struct {
	side  Side
	ext   Extensions
	cfg   Config
	stats *Stats
	h     Handler
	st    pstate

	hdr    [14]byte
	nhdr   int
	fin    bool
	op     Opcode
	rsv1   bool
	masked bool
	mask   [4]byte
	moff   int   // mask offset of the next payload byte
	left   int64 // payload bytes left in the frame

	inMsg bool
	m     Message

	ctl  [125]byte
	nctl int

	dec      bodydec.Decoder
	takeover bool  // this side keeps the deflate context between messages
	dead     bool  // the inflater stopped (bomb or error): compressed messages are undecodable
	inflated int64 // bytes the current message inflated to (ratio)
	cut      Flags // why Decoded stopped the inflater (FlagBomb, or 0 for the budget)

	scratch [4096]byte
}

// NewParser returns a Parser for side's frames under the negotiated
// extensions.
func NewParser(side Side, ext Extensions, cfg Config, h Handler) *Parser {
	p := &Parser{}
	p.Reset(side, ext, cfg, h)
	return p
}

// Reset makes p a fresh Parser, releasing any inflater.
func (p *Parser) Reset(side Side, ext Extensions, cfg Config, h Handler) {
	p.dec.End()
	*p = Parser{side: side, ext: ext, cfg: cfg, h: h}
	if p.cfg.MaxMessage <= 0 {
		p.cfg.MaxMessage = 1 << 20
	}
	if p.cfg.MaxRatio <= 0 {
		p.cfg.MaxRatio = 100
	}
	p.stats = p.cfg.Stats
	if p.stats == nil {
		p.stats = &discardStats
	}
	p.takeover = (side == Client && !ext.ClientNoContextTakeover) || (side == Server && !ext.ServerNoContextTakeover)
}

// Stopped reports whether the Parser gave up.
func (p *Parser) Stopped() bool { return p.st == stStopped }

// Feed parses the next bytes of the direction; it returns false once the
// Parser has stopped. b is not retained.
func (p *Parser) Feed(b []byte) bool {
	for len(b) > 0 {
		switch p.st {
		case stStopped:
			return false
		case stHeader:
			b = p.header(b)
		case stPayload:
			n := int(min(int64(len(b)), p.left))
			p.payload(b[:n])
			b = b[n:]
			p.left -= int64(n)
			if p.left == 0 {
				p.frameDone()
			}
		case stControl:
			n := int(min(int64(len(b)), p.left))
			p.unmask(p.ctl[p.nctl:p.nctl+n], b[:n])
			p.nctl += n
			b = b[n:]
			p.left -= int64(n)
			if p.left == 0 {
				p.stats.Control.Add(1)
				p.h.Control(p.side, p.op, p.ctl[:p.nctl])
				p.st = stHeader
			}
		}
	}
	return p.st != stStopped
}

// header collects a frame header and interprets it when complete.
func (p *Parser) header(b []byte) []byte {
	need := 2
	for {
		if p.nhdr < need {
			n := copy(p.hdr[p.nhdr:need], b)
			p.nhdr += n
			b = b[n:]
			if p.nhdr < need {
				return b
			}
		}
		if need > 2 {
			break
		}
		switch l := p.hdr[1] & 0x7f; l {
		case 126:
			need += 2
		case 127:
			need += 8
		}
		if p.hdr[1]&0x80 != 0 {
			need += 4
		}
		if need == 2 {
			break
		}
	}
	p.nhdr = 0
	p.stats.Frames.Add(1)
	h := p.hdr[:]
	p.fin, p.rsv1 = h[0]&0x80 != 0, h[0]&0x40 != 0
	p.op = Opcode(h[0] & 0x0f)
	p.masked = h[1]&0x80 != 0
	off := 2
	switch l := h[1] & 0x7f; l {
	case 126:
		p.left = int64(binary.BigEndian.Uint16(h[2:]))
		off = 4
	case 127:
		u := binary.BigEndian.Uint64(h[2:])
		if u>>63 != 0 {
			p.stop(ReasonBadFrame)
			return nil
		}
		p.left = int64(u)
		off = 10
	default:
		p.left = int64(l)
	}
	if p.masked {
		copy(p.mask[:], h[off:off+4])
	}
	p.moff = 0
	if h[0]&0x30 != 0 || (p.rsv1 && !p.ext.Deflate) {
		p.stop(ReasonBadFrame)
		return nil
	}
	switch p.op {
	case OpClose, OpPing, OpPong:
		if !p.fin || p.left > 125 || p.rsv1 {
			p.stop(ReasonBadFrame)
			return nil
		}
		p.nctl = 0
		p.st = stControl
		if p.left == 0 {
			p.stats.Control.Add(1)
			p.h.Control(p.side, p.op, nil)
			p.st = stHeader
		}
		return b
	case OpText, OpBinary:
		if p.inMsg {
			p.stop(ReasonBadFrame)
			return nil
		}
		p.startMessage()
	case OpContinuation:
		if !p.inMsg || p.rsv1 {
			p.stop(ReasonBadFrame)
			return nil
		}
	default:
		p.stop(ReasonBadFrame)
		return nil
	}
	p.m.Frames++
	p.st = stPayload
	if p.left == 0 {
		p.frameDone()
	}
	return b
}

// startMessage begins a data message; a compressed one starts the
// inflater unless the context is kept from the previous message.
func (p *Parser) startMessage() {
	p.inMsg = true
	p.m = Message{Side: p.side, Seq: p.m.Seq + 1, Opcode: p.op, Compressed: p.rsv1}
	p.stats.Messages.Add(1)
	if p.rsv1 {
		switch {
		case p.dead:
			p.m.Flags |= FlagUndecoded
			p.stats.Undecoded.Add(1)
		case !p.dec.Active() || p.dec.Ended():
			p.dec.Begin(rawDeflate[:])
		}
	}
	p.inflated, p.cut = 0, 0
	p.h.Start(&p.m)
}

// unmask copies src into dst, unmasking with the frame's key.
func (p *Parser) unmask(dst, src []byte) {
	copy(dst, src)
	if !p.masked {
		return
	}
	d := dst[:len(src)]
	// Eight bytes at a time: the key rotated to the current offset,
	// repeated twice, XORed as one word.
	var k [8]byte
	for i := range k {
		k[i] = p.mask[(p.moff+i)&3]
	}
	k64 := binary.LittleEndian.Uint64(k[:])
	i := 0
	for ; i+8 <= len(d); i += 8 {
		binary.LittleEndian.PutUint64(d[i:], binary.LittleEndian.Uint64(d[i:])^k64)
	}
	for ; i < len(d); i++ {
		d[i] ^= k[i&7]
	}
	p.moff = (p.moff + len(src)) & 3
}

// payload unmasks a data frame's bytes in scratch-sized pieces and hands
// them on.
func (p *Parser) payload(b []byte) {
	p.m.RawBytes += int64(len(b))
	for len(b) > 0 {
		n := min(len(b), len(p.scratch))
		chunk := b[:n]
		if p.masked {
			p.unmask(p.scratch[:n], chunk)
			chunk = p.scratch[:n]
		}
		p.deliver(chunk)
		b = b[n:]
	}
}

// deliver passes plain bytes on, or through the inflater.
func (p *Parser) deliver(b []byte) {
	switch {
	case !p.m.Compressed:
		p.out(b)
	case p.m.Flags&(FlagUndecoded|FlagDecodeError|FlagGap) != 0 || !p.dec.Active():
		// nothing decodable
	default:
		if err := p.dec.Push(b, p); err != nil {
			p.inflateFailed(FlagDecodeError)
		} else if p.dec.Failed() {
			p.inflateFailed(p.cut)
		}
	}
}

// inflateFailed loses the inflater for this direction when the context is
// kept (later messages depend on it), or for this message only. f is 0
// when the budget stopped a message that shares no context.
func (p *Parser) inflateFailed(f Flags) {
	p.m.Flags |= f
	if f == FlagDecodeError {
		p.stats.DecodeErrors.Add(1)
	}
	p.dec.End()
	if p.takeover && f != 0 {
		p.dead = true
	}
}

// out delivers decoded bytes under the message cap.
func (p *Parser) out(b []byte) {
	room := p.cfg.MaxMessage - p.m.DecodedBytes
	if int64(len(b)) > room {
		b = b[:max(room, 0)]
		if p.m.Flags&FlagTruncated == 0 {
			p.m.Flags |= FlagTruncated
			p.stats.Truncated.Add(1)
		}
	}
	if len(b) > 0 {
		p.m.DecodedBytes += int64(len(b))
		p.h.Data(&p.m, b)
	}
}

// Decoded receives inflated bytes (bodydec.Sink). Inflation is budgeted
// by decoded bytes: within MaxMessage it goes on whatever the ratio.
// Beyond it nothing is delivered; a message sharing its context with the
// next ones is inflated on while its ratio is one real content has.
func (p *Parser) Decoded(b []byte) bool {
	p.inflated += int64(len(b))
	p.out(b)
	if p.inflated <= p.cfg.MaxMessage {
		return true
	}
	if !p.takeover {
		return false // nothing later depends on the rest
	}
	if p.inflated > p.cfg.MaxRatio*max(p.m.RawBytes, 1) {
		p.cut = FlagBomb
		p.stats.Bombs.Add(1)
		return false
	}
	return true
}

// frameDone ends a data frame, and the message at FIN.
func (p *Parser) frameDone() {
	p.st = stHeader
	if !p.fin {
		return
	}
	if p.m.Compressed && p.dec.Active() && p.m.Flags&(FlagUndecoded|FlagGap|FlagDecodeError) == 0 {
		p.deliver(deflateTail)
		if !p.takeover {
			p.dec.End()
		}
	}
	p.endMessage()
}

func (p *Parser) endMessage() {
	p.inMsg = false
	p.h.End(&p.m)
}

// Gap reports n bytes lost in capture. Inside a data frame's payload they
// are skipped (FlagGap; a compressed message, and with context takeover the
// direction's inflater, is lost); anywhere else the Parser stops.
func (p *Parser) Gap(n int) {
	if n <= 0 || p.st == stStopped {
		return
	}
	if p.st != stPayload || int64(n) > p.left {
		p.stop(ReasonGap)
		return
	}
	p.stats.Gaps.Add(1)
	p.m.Flags |= FlagGap
	p.m.RawBytes += int64(n)
	if p.m.Compressed && p.dec.Active() {
		p.dec.End()
		if p.takeover {
			p.dead = true
		}
	}
	p.moff = (p.moff + n) & 3
	p.left -= int64(n)
	if p.left == 0 {
		p.frameDone()
	}
}

// Close ends the direction: a message in progress ends with FlagIncomplete
// and the inflater is released. It must be called when the flow ends.
func (p *Parser) Close() {
	if p.inMsg {
		p.m.Flags |= FlagIncomplete
		p.endMessage()
	}
	p.dec.End()
	p.st = stStopped
}

func (p *Parser) stop(r Reason) {
	if p.st == stStopped {
		return
	}
	if p.inMsg {
		p.m.Flags |= FlagIncomplete
		p.endMessage()
	}
	p.dec.End()
	p.st = stStopped
	p.stats.Stops[r].Add(1)
	p.h.Stop(p.side, r)
}

var rawDeflate = [1]bodydec.Coding{bodydec.CodingRawDeflate}
