package http2

import (
	"encoding/binary"

	"golang.org/x/net/http2/hpack"
)

// Preface is the client connection preface (RFC 9113 §3.4).
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Frame types and flags (RFC 9113 §6).
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	framePriority     = 0x2
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePushPromise  = 0x5
	framePing         = 0x6
	frameGoAway       = 0x7
	frameWindowUpdate = 0x8
	frameContinuation = 0x9

	flagEndStream  = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20

	frameHeaderLen = 9
)

type dstate uint8

const (
	stPreface  dstate = iota // matching the client preface
	stHeader                 // reading a 9-byte frame header
	stPre                    // pad length, priority, promised stream id
	stRegion                 // DATA payload or header block fragment
	stSettings               // 6-byte SETTINGS entries
	stCtl                    // the first bytes of RST_STREAM / GOAWAY
	stSkip                   // padding and ignored payload
	stStopped
)

// dir is one direction's framing and HPACK state.
type dir struct {
	side Side
	st   dstate
	npre int // preface bytes matched

	hdr    [frameHeaderLen]byte
	nhdr   int
	typ    uint8
	flags  uint8
	sid    uint32
	left   int // payload bytes of the current frame not yet consumed
	pre    [9]byte
	npre2  int
	needPr int
	pad    int // padding bytes at the frame's end
	region int // content bytes left
	ctl    [8]byte
	nctl   int
	needCt int

	// Header block in progress (HEADERS or PUSH_PROMISE plus CONTINUATIONs).
	inBlock   bool
	blockSID  uint32
	blockEnd  bool // END_STREAM on the HEADERS frame
	blockPush bool
	promised  uint32
	blockLen  int // encoded bytes so far
	listLen   int // decoded size so far (RFC 9113 accounting)
	cut       bool
	dec       *hpack.Decoder
	tableMax  uint32
	fields    []field
	arena     []byte
	maxList   int // Config.MaxHeaderList, here for the emit callback
}

// field locates one decoded header field in dir.arena.
type field struct{ n0, n1, v0, v1 int32 }

// Conn parses both directions of one HTTP/2 connection. It is not safe for
// concurrent use; one worker owns it with its flow.
type Conn struct {
	cfg   Config
	stats *Stats
	h     Handler
	dirs  [2]dir

	streams []*stream // tracked, at most cfg.MaxStreams
	free    []*stream
	clock   uint64
	opened  int
	goAway  bool
}

// NewConn returns a Conn expecting the client preface on the Request side,
// reporting to h.
func NewConn(cfg Config, h Handler) *Conn {
	c := &Conn{}
	c.Reset(cfg, h)
	return c
}

// discardStats absorbs the counts of Conns configured without Stats.
var discardStats Stats

// Reset makes c a fresh Conn, keeping its stream and field buffers.
func (c *Conn) Reset(cfg Config, h Handler) {
	for _, s := range c.streams {
		s.release()
		c.free = append(c.free, s)
	}
	c.streams = c.streams[:0]
	c.cfg, c.h = cfg.withDefaults(), h
	c.stats = c.cfg.Stats
	if c.stats == nil {
		c.stats = &discardStats
	}
	c.clock, c.opened, c.goAway = 0, 0, false
	for i := range c.dirs {
		d := &c.dirs[i]
		fields, arena := d.fields[:0], d.arena[:0]
		*d = dir{side: Side(i), fields: fields, arena: arena, st: stHeader}
		d.tableMax = min(initialTableSize, c.cfg.MaxTableSize)
		d.maxList = c.cfg.MaxHeaderList
		d.dec = hpack.NewDecoder(d.tableMax, d.emit)
		// A string longer than an encoded block can hold (with Huffman's
		// 8/5 at most) is hostile; the bound also caps what hpack buffers
		// for a field split across frames.
		d.dec.SetMaxStringLength(c.cfg.MaxHeaderBlock * 2)
	}
	c.dirs[Request].st = stPreface
}

// StartUpgraded prepares c for the bytes that follow an HTTP/1.1 "Upgrade:
// h2c" request answered by 101: the request (already delivered by the
// HTTP/1 parser) is stream 1, half-closed; the server's first frames answer
// it; the client still sends the preface. settings is the request's
// HTTP2-Settings value (base64url SETTINGS payload), which sets the table
// size the server encodes with. Call it before any Feed.
func (c *Conn) StartUpgraded(settings []byte) {
	var buf [96]byte
	if n, ok := decodeBase64URL(buf[:], settings); ok {
		for p := buf[:n]; len(p) >= 6; p = p[6:] {
			c.setting(Request, binary.BigEndian.Uint16(p), binary.BigEndian.Uint32(p[2:]))
		}
	}
	s := c.open(1)
	s.half[Request].started, s.half[Request].ended = true, true
	s.half[Request].m.StreamID = 1
}

// Streams returns how many streams the connection opened (requests and
// server pushes), tracked or not.
func (c *Conn) Streams() int { return c.opened }

// GoAway reports whether either side sent GOAWAY.
func (c *Conn) GoAway() bool { return c.goAway }

// Stopped reports whether side's direction was given up.
func (c *Conn) Stopped(side Side) bool { return c.dirs[side&1].st == stStopped }

// Feed parses the next bytes of side's direction. It returns false once
// that direction has stopped. b is not retained.
func (c *Conn) Feed(side Side, b []byte) bool {
	d := &c.dirs[side&1]
	for len(b) > 0 {
		switch d.st {
		case stStopped:
			return false
		case stPreface:
			for len(b) > 0 && d.npre < len(Preface) {
				if b[0] != Preface[d.npre] {
					c.stop(d, ReasonNotHTTP2)
					return false
				}
				b = b[1:]
				d.npre++
			}
			if d.npre == len(Preface) {
				d.st = stHeader
			}
		case stHeader:
			n := copy(d.hdr[d.nhdr:], b)
			d.nhdr += n
			b = b[n:]
			if d.nhdr == frameHeaderLen {
				d.nhdr = 0
				c.beginFrame(d)
			}
		case stPre:
			n := copy(d.pre[d.npre2:d.needPr], b[:min(len(b), d.left)])
			d.npre2 += n
			d.left -= n
			b = b[n:]
			if d.npre2 == d.needPr {
				c.afterPre(d)
			}
		case stRegion:
			n := min(len(b), d.region)
			c.content(d, b[:n])
			b = b[n:]
			d.region -= n
			d.left -= n
			if d.region == 0 && d.st == stRegion {
				c.regionDone(d)
			}
		case stSettings:
			n := copy(d.ctl[d.nctl:6], b)
			d.nctl += n
			d.left -= n
			b = b[n:]
			if d.nctl == 6 {
				d.nctl = 0
				c.setting(d.side, binary.BigEndian.Uint16(d.ctl[:]), binary.BigEndian.Uint32(d.ctl[2:]))
				if d.left == 0 {
					d.st = stHeader
				}
			}
		case stCtl:
			n := copy(d.ctl[d.nctl:d.needCt], b)
			d.nctl += n
			d.left -= n
			b = b[n:]
			if d.nctl == d.needCt {
				c.ctlDone(d)
			}
		case stSkip:
			n := min(len(b), d.left)
			d.left -= n
			b = b[n:]
			if d.left == 0 {
				d.st = stHeader
			}
		}
	}
	return d.st != stStopped
}

// Gap reports n bytes of side's direction lost in capture. Inside a DATA
// payload they are skipped (FlagGap; a coded body stops decoding); anywhere
// else the framing or HPACK state is lost and the direction stops.
func (c *Conn) Gap(side Side, n int) {
	d := &c.dirs[side&1]
	if n <= 0 || d.st == stStopped {
		return
	}
	if d.st == stRegion && d.typ == frameData && n <= d.region {
		c.stats.Gaps.Add(1)
		if hf := c.halfFor(d, d.sid, false); hf != nil {
			hf.m.Flags |= FlagGap
			if hf.dec.Active() {
				hf.stopDecoding() // a coded stream cannot skip bytes
			}
		}
		d.region -= n
		d.left -= n
		if d.region == 0 {
			c.regionDone(d)
		}
		return
	}
	c.stop(d, ReasonGap)
}

// Close ends the connection: every started message ends with
// FlagIncomplete and decoders are released. It must be called when the
// flow ends. The Conn ignores input afterwards.
func (c *Conn) Close() {
	for i := range c.dirs {
		c.dirs[i].st = stStopped
	}
	for len(c.streams) > 0 {
		s := c.streams[len(c.streams)-1]
		c.endStream(s, FlagIncomplete)
	}
}

// stop gives up on one direction.
func (c *Conn) stop(d *dir, r Reason) {
	if d.st == stStopped {
		return
	}
	d.st = stStopped
	d.inBlock = false
	for i := len(c.streams) - 1; i >= 0; i-- {
		s := c.streams[i]
		if hf := &s.half[d.side]; hf.started && !hf.ended {
			hf.m.Flags |= FlagIncomplete
			c.endHalf(s, d.side)
		}
	}
	c.stats.Stops[r].Add(1)
	c.h.Stop(d.side, r)
}

// beginFrame interprets a complete frame header.
func (c *Conn) beginFrame(d *dir) {
	c.stats.Frames.Add(1)
	h := d.hdr[:]
	d.left = int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	d.typ, d.flags = h[3], h[4]
	d.sid = binary.BigEndian.Uint32(h[5:]) & 0x7fffffff
	d.npre2, d.needPr, d.pad, d.nctl = 0, 0, 0, 0
	if d.inBlock && (d.typ != frameContinuation || d.sid != d.blockSID) {
		c.stop(d, ReasonBadFrame)
		return
	}
	switch d.typ {
	case frameData, frameHeaders, framePushPromise:
		if d.sid == 0 {
			c.stop(d, ReasonBadFrame)
			return
		}
		if d.flags&flagPadded != 0 {
			d.needPr = 1
		}
		if d.typ == frameHeaders && d.flags&flagPriority != 0 {
			d.needPr += 5
		}
		if d.typ == framePushPromise {
			d.needPr += 4
		}
		if d.needPr > d.left {
			c.stop(d, ReasonBadFrame)
			return
		}
		if d.needPr > 0 {
			d.st = stPre
			return
		}
		c.afterPre(d)
	case frameContinuation:
		if !d.inBlock {
			c.stop(d, ReasonBadFrame)
			return
		}
		c.afterPre(d)
	case frameSettings:
		if d.left%6 != 0 || d.sid != 0 || (d.flags&0x1 != 0 && d.left > 0) {
			c.stop(d, ReasonBadFrame)
			return
		}
		d.st = stSettings
		if d.left == 0 {
			d.st = stHeader
		}
	case frameRSTStream, frameGoAway:
		d.needCt = 4
		if d.typ == frameGoAway {
			d.needCt = 8
		}
		if d.left < d.needCt {
			c.stop(d, ReasonBadFrame)
			return
		}
		d.st = stCtl
	default: // PRIORITY, PING, WINDOW_UPDATE, extensions: nothing to see
		c.skip(d)
	}
}

// skip consumes the rest of the frame.
func (c *Conn) skip(d *dir) {
	d.st = stSkip
	if d.left == 0 {
		d.st = stHeader
	}
}

// afterPre starts the content region once the fixed prefix is read.
func (c *Conn) afterPre(d *dir) {
	p := 0
	if d.typ != frameContinuation && d.flags&flagPadded != 0 {
		d.pad = int(d.pre[0])
		p = 1
	}
	if d.typ == frameHeaders && d.flags&flagPriority != 0 {
		p += 5
	}
	if d.pad > d.left {
		c.stop(d, ReasonBadFrame)
		return
	}
	d.region = d.left - d.pad
	switch d.typ {
	case frameHeaders:
		c.beginBlock(d, d.sid, false, 0)
	case framePushPromise:
		promised := binary.BigEndian.Uint32(d.pre[p:]) & 0x7fffffff
		c.stats.Pushes.Add(1)
		c.beginBlock(d, d.sid, true, promised)
	}
	if d.st == stStopped {
		return
	}
	d.st = stRegion
	if d.region == 0 {
		c.regionDone(d)
	}
}

// regionDone finishes a frame's content; padding follows.
func (c *Conn) regionDone(d *dir) {
	switch d.typ {
	case frameData:
		if d.flags&flagEndStream != 0 {
			if s := c.find(d.sid); s != nil {
				if hf := &s.half[d.side]; hf.started && !hf.ended {
					c.endHalf(s, d.side)
				}
			}
		}
	case frameHeaders, framePushPromise, frameContinuation:
		if d.flags&flagEndHeaders != 0 {
			c.endBlock(d)
		}
	}
	if d.st == stStopped {
		return
	}
	c.skip(d)
}

// content handles DATA payload and header block fragments.
func (c *Conn) content(d *dir, b []byte) {
	if d.typ == frameData {
		if hf := c.halfFor(d, d.sid, true); hf != nil {
			hf.body(b)
		}
		return
	}
	d.blockLen += len(b)
	if d.blockLen > c.cfg.MaxHeaderBlock {
		c.stop(d, ReasonHeaderBlockTooLong)
		return
	}
	if _, err := d.dec.Write(b); err != nil {
		c.stop(d, ReasonHPACK)
	}
}

// ctlDone acts on RST_STREAM and GOAWAY.
func (c *Conn) ctlDone(d *dir) {
	switch d.typ {
	case frameRSTStream:
		c.stats.Resets.Add(1)
		if s := c.find(d.sid); s != nil {
			c.endStream(s, FlagReset)
		}
	case frameGoAway:
		c.stats.GoAways.Add(1)
		c.goAway = true
	}
	c.skip(d)
}

// setting applies one SETTINGS entry sent by side. Only the table size
// matters to a reader: it bounds the peer's encoder, so the decoder of the
// other direction may follow it up to our cap.
func (c *Conn) setting(side Side, id uint16, v uint32) {
	if id != 0x1 {
		return
	}
	d := &c.dirs[1-side&1]
	if v > c.cfg.MaxTableSize {
		c.stats.TableCapped.Add(1)
		v = c.cfg.MaxTableSize
	}
	// The peer may switch to the new size at any point after it sees the
	// SETTINGS, which a passive reader cannot time: allow the larger.
	if v > d.tableMax {
		d.tableMax = v
		d.dec.SetAllowedMaxDynamicTableSize(v)
	}
}

// beginBlock starts collecting a header block's fields.
func (c *Conn) beginBlock(d *dir, sid uint32, push bool, promised uint32) {
	d.inBlock, d.blockSID, d.blockPush, d.promised = true, sid, push, promised
	d.blockEnd = !push && d.flags&flagEndStream != 0
	d.blockLen, d.listLen, d.cut = 0, 0, false
	d.fields, d.arena = d.fields[:0], d.arena[:0]
}

// emit is the HPACK callback: it keeps fields within the list bound.
func (d *dir) emit(f hpack.HeaderField) {
	size := len(f.Name) + len(f.Value) + 32
	if d.listLen+size > d.maxList {
		// Drop this field but keep the ones that still fit: one huge
		// cookie must not hide the content-type after it. Indexed
		// repetitions (the HPACK bomb) cost a callback each, no copy.
		d.cut = true
		return
	}
	d.listLen += size
	n0 := len(d.arena)
	d.arena = append(d.arena, f.Name...)
	v0 := len(d.arena)
	d.arena = append(d.arena, f.Value...)
	d.fields = append(d.fields, field{int32(n0), int32(v0), int32(v0), int32(len(d.arena))})
}

// endBlock dispatches a complete header block.
func (c *Conn) endBlock(d *dir) {
	d.inBlock = false
	if err := d.dec.Close(); err != nil {
		c.stop(d, ReasonHPACK)
		return
	}
	if d.cut {
		c.stats.HeaderListsCut.Add(1)
	}
	if d.blockPush {
		// The promised request travels server→client but is a request.
		s := c.find(d.promised)
		if s == nil {
			s = c.open(d.promised)
		}
		hf := &s.half[Request]
		if hf.started {
			return
		}
		hf.m.Pushed = true
		c.startMessage(d, s, Request, false)
		c.endHalf(s, Request)
		return
	}
	s := c.find(d.blockSID)
	if s == nil {
		if d.side == Response {
			c.stats.StreamsUnknown.Add(1)
			return
		}
		s = c.open(d.blockSID)
	}
	hf := &s.half[d.side]
	switch {
	case hf.ended:
		c.stats.StreamsUnknown.Add(1)
		return
	case hf.started:
		// Trailers.
		hf.m.InTrailer = true
		c.headers(d, hf)
		hf.m.InTrailer = false
		if d.blockEnd {
			c.endHalf(s, d.side)
		}
		return
	}
	c.startMessage(d, s, d.side, d.blockEnd)
}

// startMessage fills a half's Message from the block's fields and reports
// it. A 1xx response is a message of its own; the real one follows.
func (c *Conn) startMessage(d *dir, s *stream, side Side, endStream bool) {
	hf := &s.half[side]
	hf.reset(s.id, side)
	m := &hf.m
	if d.cut {
		m.Flags |= FlagHeadersCut
	}
	var host []byte
	for _, f := range d.fields {
		name, val := d.arena[f.n0:f.n1], d.arena[f.v0:f.v1]
		switch string(name) {
		case ":method":
			m.Method = hf.keep(m.Method, val, 32)
		case ":scheme":
			m.Scheme = hf.keep(m.Scheme, val, 32)
		case ":authority":
			m.Authority = hf.keep(m.Authority, val, 255)
		case "host":
			host = val
		case ":path":
			m.Path = hf.keep(m.Path, val, maxPath)
		case ":protocol":
			m.Protocol = hf.keep(m.Protocol, val, 32)
		case ":status":
			m.Status = atoi3(val)
		case "content-type":
			m.ContentType = hf.keep(m.ContentType, mediaType(val), 128)
			lower(m.ContentType)
		case "content-encoding":
			m.ContentEncoding = hf.keep(m.ContentEncoding, val, 64)
		}
	}
	if len(m.Authority) == 0 && len(host) > 0 {
		m.Authority = hf.keep(m.Authority, host, 255)
	}
	if len(m.Authority) > 0 {
		m.Host, m.Port = normalizeHost(hf.hostBuf[:], m.Authority)
	}
	if side == Response {
		if rq := &s.half[Request]; rq.started {
			// Copies, not aliases: each half reuses its own buffers.
			m.Method = hf.keep(m.Method, rq.m.Method, 32)
			m.Scheme = hf.keep(m.Scheme, rq.m.Scheme, 32)
			m.Authority = hf.keep(m.Authority, rq.m.Authority, 255)
			m.Path = hf.keep(m.Path, rq.m.Path, maxPath)
			m.Protocol = hf.keep(m.Protocol, rq.m.Protocol, 32)
			m.Host, m.Port = hf.hostBuf[:copy(hf.hostBuf[:], rq.m.Host)], rq.m.Port
		}
	}
	hf.started = true
	c.h.Start(m)
	c.headers(d, hf)
	if side == Response && m.Status >= 100 && m.Status < 200 {
		// Informational: this message ends here, the stream goes on.
		c.h.End(m)
		hf.started = false
		if endStream {
			hf.ended = true
		}
		return
	}
	hf.beginBody(c)
	if endStream {
		c.endHalf(s, side)
	}
}

// headers reports the block's fields for hf.
func (c *Conn) headers(d *dir, hf *half) {
	for _, f := range d.fields {
		c.h.Header(&hf.m, d.arena[f.n0:f.n1], d.arena[f.v0:f.v1])
	}
}

// halfFor returns the half of stream sid that d's DATA belong to, or nil
// (counted when count is set).
func (c *Conn) halfFor(d *dir, sid uint32, count bool) *half {
	s := c.find(sid)
	if s == nil || !s.half[d.side].started || s.half[d.side].ended {
		if count && d.region > 0 && d.left == d.region+d.pad {
			c.stats.StreamsUnknown.Add(1) // once per frame
		}
		return nil
	}
	return &s.half[d.side]
}
