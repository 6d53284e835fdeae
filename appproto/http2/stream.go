package http2

import (
	"bytes"

	"github.com/tapdlp/tapdlp/internal/bodydec"
)

// maxPath bounds the :path kept on a Message (Header still carries it whole).
const maxPath = 4 << 10

// stream is one tracked stream: its request and response halves.
type stream struct {
	id   uint32
	last uint64 // Conn.clock at the last activity (LRU)
	half [2]half
}

// half is one direction of a stream. It is the decoder's Sink.
type half struct {
	c       *Conn
	m       Message
	started bool
	ended   bool
	skip    bool // body no longer delivered (decoding stopped)
	dec     bodydec.Decoder

	// Buffers the Message's fields point into, kept across reuse.
	method, scheme, authority, path, protocol, ctype, cenc []byte
	hostBuf                                                [255]byte
}

func (hf *half) reset(id uint32, side Side) {
	hf.dec.End()
	hf.save()
	hf.m = Message{Side: side, StreamID: id, Pushed: hf.m.Pushed && side == Request}
	hf.m.Method, hf.m.Scheme, hf.m.Authority = hf.method[:0], hf.scheme[:0], hf.authority[:0]
	hf.m.Path, hf.m.Protocol = hf.path[:0], hf.protocol[:0]
	hf.m.ContentType, hf.m.ContentEncoding = hf.ctype[:0], hf.cenc[:0]
	hf.started, hf.ended, hf.skip = false, false, false
}

// keep copies v (at most limit bytes) into dst's storage.
func (hf *half) keep(dst, v []byte, limit int) []byte {
	if len(v) > limit {
		v = v[:limit]
		hf.m.Flags |= FlagFieldCut
	}
	return append(dst[:0], v...)
}

// save returns the Message's buffers to the half so the next message
// reuses them (append may have grown them).
func (hf *half) save() {
	m := &hf.m
	hf.method, hf.scheme, hf.authority = m.Method[:0], m.Scheme[:0], m.Authority[:0]
	hf.path, hf.protocol = m.Path[:0], m.Protocol[:0]
	hf.ctype, hf.cenc = m.ContentType[:0], m.ContentEncoding[:0]
}

// beginBody prepares body delivery after the head.
func (hf *half) beginBody(c *Conn) {
	hf.c = c
	m := &hf.m
	if len(m.ContentEncoding) == 0 || m.ExtendedConnect() {
		return
	}
	n, ok := bodydec.ParseCodings(m.ContentEncoding, m.Codings[:])
	m.NCodings = n
	if !ok {
		m.Flags |= FlagUndecoded
		c.stats.Undecoded.Add(1)
		return
	}
	if n > 0 {
		hf.dec.Begin(m.Codings[:n])
	}
}

// body hands DATA payload to the decoder or straight to the Handler.
func (hf *half) body(b []byte) {
	hf.m.RawBytes += int64(len(b))
	if hf.skip || len(b) == 0 {
		return
	}
	if hf.dec.Active() {
		if err := hf.dec.Push(b, hf); err != nil {
			hf.decodeError()
		}
		if hf.dec.Failed() {
			hf.stopDecoding()
		}
		return
	}
	hf.m.DecodedBytes += int64(len(b))
	hf.c.h.Body(&hf.m, b)
}

// Decoded receives decoded bytes and enforces the cap.
func (hf *half) Decoded(b []byte) bool {
	c := hf.c
	room := c.cfg.MaxDecoded - hf.m.DecodedBytes
	cut := int64(len(b)) > room
	if cut {
		b = b[:max(room, 0)]
	}
	if len(b) > 0 {
		hf.m.DecodedBytes += int64(len(b))
		c.h.Body(&hf.m, b)
	}
	if cut {
		hf.m.Flags |= FlagTruncated
		c.stats.Truncated.Add(1)
		// Decoding is budgeted by decoded bytes (MaxDecoded), not by
		// ratio: a value behind compressible padding within the budget is
		// delivered. The ratio only names a cut body a bomb.
		if hf.m.DecodedBytes > c.cfg.MaxRatio*max(hf.dec.CompressedIn(), 1) {
			hf.m.Flags |= FlagBomb
			c.stats.Bombs.Add(1)
		}
		return false
	}
	return true
}

func (hf *half) decodeError() {
	hf.m.Flags |= FlagDecodeError
	hf.c.stats.DecodeErrors.Add(1)
}

// stopDecoding drops the rest of the body and frees the decoder now.
func (hf *half) stopDecoding() {
	hf.skip = true
	hf.dec.End()
}

// endHalf finishes one direction of s; a stream whose two halves ended is
// released.
func (c *Conn) endHalf(s *stream, side Side) {
	hf := &s.half[side]
	if hf.dec.Active() {
		if !hf.skip {
			if err := hf.dec.Finish(hf); err != nil {
				hf.decodeError()
			}
		}
		hf.dec.End()
	}
	if hf.started && !hf.ended {
		hf.ended = true
		c.h.End(&hf.m)
	}
	hf.ended = true
	if s.half[Request].ended && s.half[Response].ended {
		c.release(s)
	}
}

// endStream ends both halves with flag (RST_STREAM, eviction, close) and
// releases the stream.
func (c *Conn) endStream(s *stream, flag Flags) {
	for side := Request; side <= Response; side++ {
		hf := &s.half[side]
		if hf.started && !hf.ended {
			hf.m.Flags |= flag
			hf.skip = true // no decoder drain: the body did not end
			hf.dec.End()
			hf.ended = true
			c.h.End(&hf.m)
		}
	}
	c.release(s)
}

// find returns the tracked stream id, touching it for the LRU.
func (c *Conn) find(id uint32) *stream {
	for i := len(c.streams) - 1; i >= 0; i-- {
		if s := c.streams[i]; s.id == id {
			c.clock++
			s.last = c.clock
			return s
		}
	}
	return nil
}

// open starts tracking stream id, evicting the least recently active stream
// when the table is full.
func (c *Conn) open(id uint32) *stream {
	c.opened++
	c.stats.Streams.Add(1)
	if len(c.streams) >= c.cfg.MaxStreams {
		lru := c.streams[0]
		for _, s := range c.streams[1:] {
			if s.last < lru.last {
				lru = s
			}
		}
		c.stats.StreamsEvicted.Add(1)
		c.endStream(lru, FlagEvicted)
	}
	var s *stream
	if n := len(c.free); n > 0 {
		s, c.free = c.free[n-1], c.free[:n-1]
	} else {
		s = new(stream)
	}
	s.id = id
	c.clock++
	s.last = c.clock
	for side := Request; side <= Response; side++ {
		s.half[side].m.Pushed = false
		s.half[side].reset(id, side)
		s.half[side].c = c
	}
	c.streams = append(c.streams, s)
	return s
}

// release stops tracking s and keeps it for reuse.
func (c *Conn) release(s *stream) {
	for i, t := range c.streams {
		if t == s {
			copy(c.streams[i:], c.streams[i+1:])
			c.streams[len(c.streams)-1] = nil
			c.streams = c.streams[:len(c.streams)-1]
			s.release()
			c.free = append(c.free, s)
			return
		}
	}
}

func (s *stream) release() {
	for i := range s.half {
		hf := &s.half[i]
		hf.dec.End()
		hf.save()
		hf.started, hf.ended = false, false
	}
}

// atoi3 parses a 3-digit status, 0 when malformed.
func atoi3(v []byte) int {
	if len(v) != 3 {
		return 0
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// mediaType returns v up to its parameters, trimmed.
func mediaType(v []byte) []byte {
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return bytes.TrimSpace(v)
}

func lower(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

// normalizeHost writes the host of an authority into dst, lowercased,
// without userinfo, port, IPv6 brackets or trailing dot, and returns it
// with the port (0 if none). A host that does not fit is returned empty.
func normalizeHost(dst []byte, auth []byte) ([]byte, uint16) {
	if at := bytes.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	var port []byte
	if len(auth) > 0 && auth[0] == '[' {
		if e := bytes.IndexByte(auth, ']'); e > 0 {
			if rest := auth[e+1:]; len(rest) > 0 && rest[0] == ':' {
				port = rest[1:]
			}
			auth = auth[1:e]
		}
	} else if i := bytes.IndexByte(auth, ':'); i >= 0 && bytes.IndexByte(auth[i+1:], ':') < 0 {
		auth, port = auth[:i], auth[i+1:]
	}
	for len(auth) > 0 && auth[len(auth)-1] == '.' {
		auth = auth[:len(auth)-1]
	}
	if len(auth) > len(dst) {
		return dst[:0], 0
	}
	n := copy(dst, auth)
	lower(dst[:n])
	p := 0
	for _, c := range port {
		if c < '0' || c > '9' || p > 0xffff {
			p = 0
			break
		}
		p = p*10 + int(c-'0')
	}
	if p > 0xffff {
		p = 0
	}
	return dst[:n], uint16(p)
}

// decodeBase64URL decodes unpadded base64url (HTTP2-Settings) into dst.
func decodeBase64URL(dst, src []byte) (int, bool) {
	src = bytes.TrimRight(bytes.TrimSpace(src), "=")
	var acc uint32
	bits, n := 0, 0
	for _, c := range src {
		var v byte
		switch {
		case 'A' <= c && c <= 'Z':
			v = c - 'A'
		case 'a' <= c && c <= 'z':
			v = c - 'a' + 26
		case '0' <= c && c <= '9':
			v = c - '0' + 52
		case c == '-' || c == '+':
			v = 62
		case c == '_' || c == '/':
			v = 63
		default:
			return 0, false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			if n == len(dst) {
				return n, false
			}
			dst[n] = byte(acc >> bits)
			n++
		}
	}
	return n, true
}

// Sniffed is what the first bytes of a client direction look like.
type Sniffed uint8

// Sniff outcomes.
const (
	SniffNeedMore Sniffed = iota // a prefix of the preface so far
	SniffPreface                 // the client connection preface
	SniffNo                      // not HTTP/2 prior knowledge
)

// Sniff tells whether a client direction starts with the HTTP/2 connection
// preface, on any port. It does not allocate.
func Sniff(b []byte) Sniffed {
	n := min(len(b), len(Preface))
	if string(b[:n]) != Preface[:n] {
		return SniffNo
	}
	if n < len(Preface) {
		return SniffNeedMore
	}
	return SniffPreface
}
