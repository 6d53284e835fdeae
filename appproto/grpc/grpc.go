package grpc

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
	"unicode/utf8"

	"github.com/tapdlp/tapdlp/internal/bodydec"
)

// ParsePath splits a gRPC :path "/package.Service/Method" into service and
// method; ok is false for anything else.
func ParsePath(path []byte) (service, method []byte, ok bool) {
	if len(path) < 4 || path[0] != '/' {
		return nil, nil, false
	}
	i := bytes.LastIndexByte(path, '/')
	if i <= 1 || i == len(path)-1 || bytes.IndexByte(path[1:i], '/') >= 0 || bytes.IndexByte(path, '?') >= 0 {
		return nil, nil, false
	}
	return path[1:i], path[i+1:], true
}

// IsGRPC reports whether a content-type (lowercased media type) is gRPC's:
// "application/grpc" or "application/grpc+proto", "+json", ….
func IsGRPC(contentType []byte) bool {
	return bytes.Equal(contentType, []byte("application/grpc")) || bytes.HasPrefix(contentType, []byte("application/grpc+"))
}

// ParseEncoding maps a grpc-encoding value to a coding: identity, gzip,
// deflate (zlib), snappy (the snappy framing format, as the Go and Java
// snappy compressors write it); CodingUnknown otherwise.
func ParseEncoding(v []byte) bodydec.Coding {
	switch c := bodydec.ParseCoding(v); c {
	case bodydec.CodingNone, bodydec.CodingGzip, bodydec.CodingDeflate, bodydec.CodingSnappy:
		return c
	}
	return bodydec.CodingUnknown
}

// Flags describe how a message was delivered.
type Flags uint8

// Message flags.
const (
	FlagTruncated   Flags = 1 << iota // beyond Config.MaxMessage: the rest was dropped (and not decoded)
	FlagBomb                          // truncated at a decompression ratio beyond Config.MaxRatio
	FlagUndecoded                     // compressed with an unknown encoding: data is empty
	FlagDecodeError                   // corrupt compressed data
	FlagIncomplete                    // the stream ended inside the message
)

// Message describes one gRPC message. It is owned by the Reader and reused.
type Message struct {
	Seq        int    // 1-based index in this stream direction
	Compressed bool   // the prefix's compressed flag
	WireLen    uint32 // the prefix's length
	Flags      Flags
}

// Handler receives complete messages: data is the decompressed message
// (at most Config.MaxMessage bytes), valid only during the call.
type Handler interface {
	Message(m *Message, data []byte)
}

// Stats are the reader's counters, shared and safe for concurrent use.
type Stats struct {
	Messages     atomic.Uint64
	Truncated    atomic.Uint64
	Bombs        atomic.Uint64
	Undecoded    atomic.Uint64
	DecodeErrors atomic.Uint64
	Incomplete   atomic.Uint64
}

// Each calls fn with every counter's Prometheus name and value.
func (s *Stats) Each(fn func(name string, v uint64)) {
	fn("tapdlp_grpc_messages_total", s.Messages.Load())
	fn("tapdlp_grpc_messages_truncated_total", s.Truncated.Load())
	fn("tapdlp_grpc_decompression_bombs_total", s.Bombs.Load())
	fn("tapdlp_grpc_messages_undecoded_total", s.Undecoded.Load())
	fn("tapdlp_grpc_decode_errors_total", s.DecodeErrors.Load())
	fn("tapdlp_grpc_messages_incomplete_total", s.Incomplete.Load())
}

// Config holds a Reader's limits. Zero fields mean the default.
type Config struct {
	// MaxMessage is the decoding budget: the decompressed bytes kept per
	// message (default 1 MiB; the pipeline passes inspection.inspect_bytes).
	// Longer messages are delivered cut (FlagTruncated) and the rest is
	// not decompressed.
	MaxMessage int
	// MaxRatio is the decompressed/compressed ratio beyond which a message
	// that reached MaxMessage is reported as a bomb (FlagBomb; default
	// 100). It does not stop decoding earlier: decoding is budgeted by
	// decoded bytes, so a value behind compressible padding within the
	// budget is delivered.
	MaxRatio int64
	// Stats receives the counters; nil counts nothing.
	Stats *Stats
}

var discardStats Stats

// Reader splits one stream direction into messages. It is not safe for
// concurrent use.
type Reader struct {
	cfg    Config
	stats  *Stats
	h      Handler
	coding bodydec.Coding

	pre  [5]byte
	npre int
	left int64 // payload bytes of the current message not yet read
	m    Message
	buf  []byte // the message, at most cfg.MaxMessage
	dec  bodydec.Decoder
	one  [1]bodydec.Coding
	skip bool
}

// NewReader returns a Reader for a stream direction whose grpc-encoding is
// coding.
func NewReader(coding bodydec.Coding, cfg Config, h Handler) *Reader {
	r := &Reader{}
	r.Reset(coding, cfg, h)
	return r
}

// Reset makes r a fresh Reader, keeping its buffer.
func (r *Reader) Reset(coding bodydec.Coding, cfg Config, h Handler) {
	r.dec.End()
	buf := r.buf[:0]
	*r = Reader{cfg: cfg, h: h, coding: coding, buf: buf}
	if r.cfg.MaxMessage <= 0 {
		r.cfg.MaxMessage = 1 << 20
	}
	if r.cfg.MaxRatio <= 0 {
		r.cfg.MaxRatio = 100
	}
	r.stats = r.cfg.Stats
	if r.stats == nil {
		r.stats = &discardStats
	}
}

// Feed reads the next DATA bytes. b is not retained.
func (r *Reader) Feed(b []byte) {
	for len(b) > 0 {
		if r.npre < len(r.pre) {
			n := copy(r.pre[r.npre:], b)
			r.npre += n
			b = b[n:]
			if r.npre == len(r.pre) {
				r.begin()
			}
			continue
		}
		n := int(min(int64(len(b)), r.left))
		r.payload(b[:n])
		b = b[n:]
		r.left -= int64(n)
		if r.left == 0 {
			r.finish()
		}
	}
}

// End reports the end of the stream direction: a message in progress is
// delivered with FlagIncomplete, and the decoder released.
func (r *Reader) End() {
	if r.npre == len(r.pre) {
		r.m.Flags |= FlagIncomplete
		r.stats.Incomplete.Add(1)
		r.dec.End()
		r.deliver()
	}
	r.npre = 0
	r.dec.End()
}

func (r *Reader) begin() {
	r.m = Message{Seq: r.m.Seq + 1, Compressed: r.pre[0]&1 != 0, WireLen: binary.BigEndian.Uint32(r.pre[1:])}
	r.left = int64(r.m.WireLen)
	r.buf, r.skip = r.buf[:0], false
	if r.m.Compressed {
		switch r.coding {
		case bodydec.CodingNone, bodydec.CodingUnknown:
			r.m.Flags |= FlagUndecoded
			r.stats.Undecoded.Add(1)
			r.skip = true
		default:
			r.one[0] = r.coding
			r.dec.Begin(r.one[:])
		}
	}
	if r.left == 0 {
		r.finish()
	}
}

func (r *Reader) payload(b []byte) {
	if r.skip {
		return
	}
	if !r.m.Compressed {
		if !r.Decoded(b) {
			r.skip = true
		}
		return
	}
	if err := r.dec.Push(b, r); err != nil {
		r.failed(FlagDecodeError)
	} else if r.dec.Failed() {
		r.failed(0)
	}
}

func (r *Reader) failed(f Flags) {
	if f == FlagDecodeError {
		r.stats.DecodeErrors.Add(1)
	}
	r.m.Flags |= f
	r.skip = true
	r.dec.End()
}

// Decoded collects message bytes under the decoding budget (bodydec.Sink).
// Only the budget stops decoding; the ratio names a cut message a bomb.
func (r *Reader) Decoded(b []byte) bool {
	room := r.cfg.MaxMessage - len(r.buf)
	if len(b) <= room {
		r.buf = append(r.buf, b...)
		return true
	}
	r.buf = append(r.buf, b[:room]...)
	r.m.Flags |= FlagTruncated
	r.stats.Truncated.Add(1)
	if r.m.Compressed && int64(len(r.buf)) > r.cfg.MaxRatio*max(r.dec.CompressedIn(), 1) {
		r.m.Flags |= FlagBomb
		r.stats.Bombs.Add(1)
	}
	return false
}

func (r *Reader) finish() {
	if r.m.Compressed && !r.skip {
		if err := r.dec.Finish(r); err != nil {
			r.failed(FlagDecodeError)
		}
	}
	r.dec.End()
	r.deliver()
	r.npre = 0
}

func (r *Reader) deliver() {
	r.stats.Messages.Add(1)
	r.h.Message(&r.m, r.buf)
}

// WalkText walks b as a protobuf message without a schema and calls fn with
// every length-delimited field that is text: printable UTF-8 is yielded as
// is; other bytes that parse as a message are walked, down to maxDepth
// nested levels; what remains is yielded when it is valid UTF-8. If b
// itself is not a message, it is yielded whole when it is valid UTF-8 (a
// JSON codec). Work is bounded by len(b)·maxDepth; nothing is allocated.
func WalkText(b []byte, maxDepth int, fn func(text []byte)) {
	if len(b) == 0 {
		return
	}
	if !isText(b) && validMessage(b, 0) {
		walk(b, maxDepth, fn)
		return
	}
	if utf8.Valid(b) {
		fn(b)
	}
}

func walk(b []byte, depth int, fn func([]byte)) {
	for len(b) > 0 {
		tag, n := uvarint(b)
		b = b[n:]
		switch tag & 7 {
		case 0:
			_, n = uvarint(b)
			b = b[n:]
		case 1:
			b = b[8:]
		case 5:
			b = b[4:]
		case 2:
			l, n := uvarint(b)
			sub := b[n : n+int(l)]
			b = b[n+int(l):]
			switch {
			case len(sub) == 0:
			case isText(sub):
				fn(sub)
			case depth > 0 && validMessage(sub, 0):
				walk(sub, depth-1, fn)
			case utf8.Valid(sub):
				fn(sub)
			}
		}
	}
}

// validMessage reports whether b is a sequence of well-formed fields (no
// groups, no field number 0) ending exactly at its end.
func validMessage(b []byte, _ int) bool {
	for len(b) > 0 {
		tag, n := uvarint(b)
		if n <= 0 || tag>>3 == 0 || tag>>3 > 1<<29-1 {
			return false
		}
		b = b[n:]
		switch tag & 7 {
		case 0:
			if _, n = uvarint(b); n <= 0 {
				return false
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return false
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return false
			}
			b = b[4:]
		case 2:
			l, n := uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return false
			}
			b = b[n+int(l):]
		default:
			return false
		}
	}
	return true
}

// uvarint decodes a varint; n <= 0 when malformed or cut.
func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if i == 9 && c > 1 {
				return 0, -1
			}
			return x, i + 1
		}
	}
	return 0, -1
}

// isText reports whether b is valid UTF-8 without control characters other
// than tab, CR and LF.
func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(b)
}
