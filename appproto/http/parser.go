package http

import "github.com/tapdlp/tapdlp/internal/bodydec"

type state uint8

const (
	stHead         state = iota // start line and header block
	stBody                      // Content-Length body
	stChunkSize                 // chunk-size hex digits
	stChunkExt                  // rest of the chunk-size line
	stChunkData                 // chunk data
	stChunkDataEnd              // CRLF after chunk data
	stTrailer                   // trailer section after the last chunk
	stUntilClose                // response body delimited by close
	stAwait                     // request side: CONNECT/Upgrade sent, answer unknown
	stStopped
)

const (
	maxChunkSize = 1 << 40 // a terabyte: anything larger is hostile
	maxChunkLine = 4 << 10 // chunk-size line with extensions
	keepHeadBuf  = 4 << 10 // head buffer kept between messages
)

// Parser parses one direction of an HTTP/1.x connection. It is not safe
// for concurrent use; one worker owns it with its flow.
type Parser struct {
	side  Side
	cfg   Config
	stats *Stats
	pair  *Pairing
	h     Handler

	st    state
	m     Message
	inMsg bool
	seq   int
	await bool // after this message, wait for the CONNECT/Upgrade verdict
	skip  bool // body no longer delivered (decoding stopped)
	// headSeen: the current head's fields were delivered (Start), so a
	// stop after it gives up only what follows the head.
	headSeen bool

	// sniff: the body has no coding and its first bytes decide whether it
	// is a gzip or zstd file (FlagSniffed); magic holds them meanwhile.
	sniff  bool
	magic  [4]byte
	nmagic int
	// held is the first bytes of a coded body while it has decoded to
	// nothing, so a body that is not coded after all (plaintext labelled
	// gzip) can be delivered raw when its decoder fails.
	held []byte

	unread int // bytes of the last Feed's input left unread by a stop

	hbuf     []byte // head bytes spanning chunks, at most cfg.MaxHeaderBytes
	scanFrom int
	lineOK   bool // the start line in hbuf is complete and was judged HTTP

	remaining int64
	chunkSize int64
	chunkLen  int // bytes of the current chunk-size line
	chunkHex  int // hex digits in it
	sawCR     bool

	dec decoder

	methodBuf [maxMethod]byte
	hostBuf   [255]byte
	typBuf    [128]byte
	bndBuf    [128]byte
}

// NewParser returns a Parser for side, reporting to h. pair links the two
// sides of one connection (nil: responses are framed without knowing the
// request, so HEAD and CONNECT answers may be misread).
func NewParser(side Side, cfg Config, pair *Pairing, h Handler) *Parser {
	p := &Parser{}
	p.Reset(side, cfg, pair, h)
	return p
}

// Reset makes p a fresh Parser, keeping its buffers, so a pipeline can
// reuse Parsers across connections. It releases any decoder in use.
func (p *Parser) Reset(side Side, cfg Config, pair *Pairing, h Handler) {
	p.dec.end()
	hbuf, held := p.hbuf[:0], p.held[:0]
	*p = Parser{side: side, cfg: cfg.withDefaults(), pair: pair, h: h, hbuf: hbuf, held: held}
	p.stats = p.cfg.Stats
	if p.stats == nil {
		p.stats = &discardStats
	}
}

// discardStats absorbs the counts of Parsers configured without Stats, so
// the hot path never tests for nil and Reset never allocates.
var discardStats Stats

// Stopped reports whether the Parser gave up on its stream.
func (p *Parser) Stopped() bool { return p.st == stStopped }

// Idle reports whether the Parser is between messages with nothing
// buffered or in progress: all that tells it from a fresh Parser is how
// many messages it read (Messages), so a caller holding many idle
// connections may drop it and continue the stream later with a recycled
// one (Reset, then Resume).
func (p *Parser) Idle() bool {
	return p.st == stHead && !p.inMsg && len(p.hbuf) == 0 && !p.dec.Active()
}

// Messages returns how many messages the Parser started.
func (p *Parser) Messages() int { return p.seq }

// Resume, right after Reset, continues a stream on which messages messages
// were already read by a Parser that was Idle.
func (p *Parser) Resume(messages int) { p.seq = messages }

// Unread returns how many bytes at the end of the last Feed's input the
// Parser did not read because it stopped there. After a stop with
// ReasonTunnel they are the tunnel's first bytes, for whatever parses the
// tunnel next.
func (p *Parser) Unread() int { return p.unread }

// Held returns, once the Parser has stopped, the bytes it had buffered and
// gave up on (a header block spanning Feeds that it could not parse); they
// precede the Unread bytes of the Feed that stopped. Valid until the next
// Feed or Reset. Together the two are everything a stop left unparsed, for
// a caller that scans it raw.
func (p *Parser) Held() []byte {
	if p.st != stStopped {
		return nil
	}
	return p.hbuf
}

// Feed parses the next bytes of the stream. It returns false once the
// Parser has stopped (Handler.Stop was called); later input is ignored.
// b is not retained.
func (p *Parser) Feed(b []byte) bool {
	p.unread = 0
	for len(b) > 0 {
		switch p.st {
		case stStopped:
			p.unread = len(b)
			return false
		case stHead:
			b = p.feedHead(b, false)
		case stTrailer:
			b = p.feedHead(b, true)
		case stBody:
			n := min(int64(len(b)), p.remaining)
			p.body(b[:n])
			b = b[n:]
			p.remaining -= n
			if p.remaining == 0 {
				p.endMessage()
			}
		case stChunkData:
			n := min(int64(len(b)), p.remaining)
			p.body(b[:n])
			b = b[n:]
			p.remaining -= n
			if p.remaining == 0 {
				p.st = stChunkDataEnd
			}
		case stChunkSize, stChunkExt, stChunkDataEnd:
			b = p.chunkLine(b)
		case stUntilClose:
			p.body(b)
			b = nil
		case stAwait:
			p.awaitVerdict(b[0])
		}
	}
	return p.st != stStopped
}

// Gap reports n bytes of the stream lost in capture. Bodies with known
// framing skip them (FlagGap): identity bytes after the hole are still
// delivered, a coded body stops decoding. Anywhere else the Parser stops.
func (p *Parser) Gap(n int) {
	if n <= 0 || p.st == stStopped {
		return
	}
	p.flushSniff()
	switch p.st {
	case stBody, stChunkData:
		p.m.Flags |= FlagGap
		if p.dec.Active() {
			p.stopDecoding()
		}
		if int64(n) > p.remaining {
			p.stop(ReasonGap)
			return
		}
		p.remaining -= int64(n)
		if p.remaining == 0 {
			if p.st == stBody {
				p.endMessage()
			} else {
				p.st = stChunkDataEnd
			}
		}
	case stUntilClose:
		p.m.Flags |= FlagGap
		if p.dec.Active() {
			p.stopDecoding()
		}
	default:
		p.stop(ReasonGap)
	}
}

// Close ends the stream: a body delimited by close completes, any other
// message in progress ends with FlagIncomplete. It must be called when the
// flow ends, because a coded body in progress holds a decoder coroutine.
// The Parser ignores input afterwards.
func (p *Parser) Close() {
	switch {
	case p.st == stUntilClose:
		p.endMessage()
	case p.inMsg:
		p.m.Flags |= FlagIncomplete
		p.dec.end()
		p.endMessage()
	}
	p.dec.end()
	p.st = stStopped
}

// stop gives up on the stream, ending a started message first.
func (p *Parser) stop(r Reason) {
	if p.st == stStopped {
		return
	}
	if p.inMsg {
		p.m.Flags |= FlagIncomplete
		p.dec.end()
		p.endMessage()
	}
	p.dec.end()
	if p.st != stHead && p.st != stTrailer {
		p.hbuf = p.hbuf[:0] // only an unparsed head is Held
	}
	p.st = stStopped
	p.stats.Stops[r].Add(1)
	p.h.Stop(p.side, r)
}

func (p *Parser) stopStartLine() {
	if p.seq == 0 {
		p.stop(ReasonNotHTTP)
	} else {
		p.stop(ReasonBadStartLine)
	}
}

// checkStart judges the start line visible in b (a prefix of the head).
func (p *Parser) checkStart(b []byte) verdict {
	line, complete := firstLine(b)
	var sl startLine
	if p.side == Request {
		return parseRequestLine(line, complete, &sl)
	}
	return parseStatusLine(line, complete, &sl)
}

// feedHead collects a header block (or trailer section) and parses it once
// complete. A block inside one chunk is parsed in place; only a block that
// spans chunks is copied into hbuf.
func (p *Parser) feedHead(b []byte, trailer bool) []byte {
	lim := p.cfg.MaxHeaderBytes
	if len(p.hbuf) == 0 {
		if !trailer {
			// RFC 9112 §2.2: ignore empty lines before a start line.
			i := 0
			for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
				i++
			}
			if b = b[i:]; len(b) == 0 {
				return nil
			}
			if p.checkStart(b[:min(len(b), lim)]) == notHTTP {
				p.stopStartLine()
				return b // all of it is left unread
			}
		}
		if e := findBlockEnd(b, 0, trailer); e >= 0 {
			if e > lim {
				p.stop(ReasonHeaderTooLong)
				return b
			}
			p.headSeen = false
			p.head(b[:e], trailer)
			if p.st == stStopped && !trailer && !p.headSeen {
				return b // the head was not delivered: unread with the rest
			}
			return b[e:]
		}
		if len(b) >= lim {
			p.stop(ReasonHeaderTooLong)
			return b
		}
		p.hbuf = append(p.hbuf, b...)
		p.scanFrom = 0
		p.lineOK = false
		return nil
	}
	old := len(p.hbuf)
	take := min(len(b), lim-old)
	p.hbuf = append(p.hbuf, b[:take]...)
	if !trailer && !p.lineOK {
		// Judged again as the line grows; once complete and good, never
		// again (a head sent in small pieces stays linear).
		switch p.checkStart(p.hbuf) {
		case notHTTP:
			p.stopStartLine()
			return b[take:] // hbuf is Held
		case isHTTP:
			p.lineOK = true
		}
	}
	if e := findBlockEnd(p.hbuf, p.scanFrom, trailer); e >= 0 {
		p.hbuf = p.hbuf[:e]
		p.headSeen = false
		p.head(p.hbuf, trailer)
		rest := b[max0(e-old):]
		if p.st == stStopped && !trailer && !p.headSeen {
			return rest // the undelivered block stays in hbuf: Held
		}
		p.hbuf = p.hbuf[:0]
		if cap(p.hbuf) > keepHeadBuf {
			// A rare huge head must not pin its buffer for the flow's life.
			p.hbuf = nil
		}
		return rest
	}
	if len(p.hbuf) >= lim {
		p.stop(ReasonHeaderTooLong)
		return b[take:] // hbuf is Held
	}
	p.scanFrom = max0(len(p.hbuf) - 3)
	return b[take:]
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// startBody enters a body state and starts its decoder.
func (p *Parser) startBody(st state) {
	p.st = st
	p.m.Chunked = st == stChunkSize
	p.chunkSize, p.chunkLen, p.chunkHex, p.sawCR = 0, 0, 0, false
	p.held, p.nmagic = p.held[:0], 0
	p.sniff = p.m.NCodings == 0 && !p.m.Flags.Has(FlagUndecoded)
	if p.m.NCodings > 0 && !p.m.Flags.Has(FlagUndecoded) {
		p.dec.begin(p.m.Codings[:p.m.NCodings])
	}
}

// trailer delivers trailer fields and ends the chunked message.
func (p *Parser) trailer(block []byte) {
	p.m.InTrailer = true
	bad, n := 0, 0
	for it := (headerIter{b: block}); ; {
		name, val, ok := it.next(&bad)
		if !ok || n == p.cfg.MaxHeaders {
			break
		}
		n++
		p.h.Header(&p.m, name, val)
	}
	p.m.InTrailer = false
	p.endMessage()
}

// chunkLine parses chunk-size lines and the CRLF after chunk data byte by
// byte, so no line is ever buffered.
func (p *Parser) chunkLine(b []byte) []byte {
	for i, c := range b {
		switch p.st {
		case stChunkSize:
			if d, ok := unhex(c); ok {
				p.chunkSize = p.chunkSize<<4 | int64(d)
				p.chunkHex++
				if p.chunkSize > maxChunkSize {
					p.stop(ReasonBadChunk)
					return b[i:]
				}
				p.chunkLen++
				continue
			}
			if p.chunkHex == 0 {
				p.stop(ReasonBadChunk)
				return b[i:]
			}
			p.st = stChunkExt
			fallthrough
		case stChunkExt:
			p.chunkLen++
			if p.chunkLen > maxChunkLine || c == 0 {
				p.stop(ReasonBadChunk)
				return b[i:]
			}
			if c != '\n' {
				continue
			}
			size := p.chunkSize
			p.chunkSize, p.chunkLen, p.chunkHex = 0, 0, 0
			if size == 0 {
				p.st = stTrailer
				return b[i+1:]
			}
			p.remaining = size
			p.st = stChunkData
			return b[i+1:]
		case stChunkDataEnd:
			switch {
			case c == '\r' && !p.sawCR:
				p.sawCR = true
			case c == '\n':
				p.sawCR = false
				p.st = stChunkSize
			default:
				p.stop(ReasonBadChunk)
				return b[i:]
			}
		}
	}
	return nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// awaitVerdict decides, at the first byte after a CONNECT or Upgrade
// request, whether HTTP goes on.
func (p *Parser) awaitVerdict(first byte) {
	switch p.pair.getVerdict() {
	case verdictAccepted:
		p.stop(ReasonTunnel)
	case verdictRejected:
		p.st = stHead
	default:
		// The answer has not been seen: a new request line (say, a retry
		// with Proxy-Authorization after 407) means HTTP; anything else is
		// the tunnel's first bytes.
		if 'A' <= first && first <= 'Z' {
			p.st = stHead
		} else {
			p.stop(ReasonTunnel)
		}
	}
}

// body hands framed body bytes to the decoder or straight to the Handler.
func (p *Parser) body(b []byte) {
	p.m.RawBytes += int64(len(b))
	if p.skip || len(b) == 0 {
		return
	}
	if p.sniff {
		if b = p.sniffBody(b); len(b) == 0 {
			return
		}
	}
	p.pass(b)
}

// maxHeld bounds the prefix of a coded body kept for the raw fallback:
// decoders reject a body that is not coded within its first bytes.
const maxHeld = 2 << 10

// pass delivers body bytes through the decoder when one runs; a decoder
// that fails hands the body over to raw delivery (rawFallback).
func (p *Parser) pass(b []byte) {
	if !p.dec.Active() {
		p.m.DecodedBytes += int64(len(b))
		p.h.Body(&p.m, b)
		return
	}
	if p.m.DecodedBytes == 0 && len(p.held) < maxHeld {
		p.held = append(p.held, b[:min(len(b), maxHeld-len(p.held))]...)
	}
	if err := p.dec.push(b, p); err != nil {
		p.rawFallback(b)
		return
	}
	if p.dec.Failed() {
		p.stopDecoding()
	}
}

// sniffBody collects the first body bytes of a message without a coding
// and starts a decoder when they are a gzip, zstd or zip magic number (a file
// uploaded or served as application/gzip, octet-stream…: compressed data
// the receiver stores and opens). It returns what is left of b to pass on
// (the collected prefix is passed first).
func (p *Parser) sniffBody(b []byte) []byte {
	if p.nmagic == 0 && len(b) >= len(p.magic) {
		p.sniff = false
		p.sniffed(b)
		return b
	}
	n := copy(p.magic[p.nmagic:], b)
	p.nmagic += n
	if p.nmagic < len(p.magic) {
		return nil
	}
	p.sniff = false
	p.sniffed(p.magic[:])
	p.nmagic = 0
	p.pass(p.magic[:])
	if p.skip || p.st == stStopped {
		return nil
	}
	return b[n:]
}

// sniffed starts the decoder a body's first bytes call for, if any.
func (p *Parser) sniffed(first []byte) {
	if c := magicCoding(first); c != CodingNone {
		p.m.Codings[0], p.m.NCodings = c, 1
		p.m.Flags |= FlagSniffed
		p.dec.begin(p.m.Codings[:1])
	}
}

// flushSniff passes on a body prefix too short to be judged (the body
// ended or lost bytes first).
func (p *Parser) flushSniff() {
	if p.sniff {
		p.sniff = false
		if n := p.nmagic; n > 0 && !p.skip {
			p.nmagic = 0
			p.pass(p.magic[:n])
		}
	}
}

// magicCoding recognises the file formats a body decoder can open by their
// first four bytes (bodydec.Sniff: gzip, zstd frames and zip archives).
func magicCoding(m []byte) Coding {
	switch bodydec.Sniff(m) {
	case bodydec.CodingGzip:
		return CodingGzip
	case bodydec.CodingZstd:
		return CodingZstd
	case bodydec.CodingZip:
		return CodingZip
	}
	return CodingNone
}

// rawFallback: the decoder failed on b. The rest of the body is delivered
// raw (FlagUndecoded); when nothing had decoded, the body was not coded
// after all, so what the decoder consumed is delivered first (the held
// prefix, then b past it).
func (p *Parser) rawFallback(b []byte) {
	p.decodeError()
	p.dec.end()
	p.m.Flags |= FlagUndecoded
	if p.m.DecodedBytes == 0 {
		p.deliverHeld()
		if from := int64(len(p.held)) - (p.m.RawBytes - int64(len(b))); from < int64(len(b)) {
			b = b[max(from, 0):]
		} else {
			b = nil
		}
	}
	p.held = p.held[:0]
	if len(b) > 0 {
		p.m.DecodedBytes += int64(len(b))
		p.h.Body(&p.m, b)
	}
}

// deliverHeld delivers the held prefix of a body that decoded to nothing.
func (p *Parser) deliverHeld() {
	if len(p.held) > 0 {
		p.m.DecodedBytes += int64(len(p.held))
		p.h.Body(&p.m, p.held)
	}
}

// decoded receives the decoder's output and enforces the cap: decoding is
// budgeted by the decoded bytes a message may deliver, whatever the
// compression ratio, so a bomb costs at most MaxDecoded of work and a
// value behind highly compressible padding within it is still delivered.
func (p *Parser) decoded(b []byte) bool {
	room := p.cfg.MaxDecoded - p.m.DecodedBytes
	cut := int64(len(b)) > room
	if cut {
		b = b[:max(room, 0)]
	}
	if len(b) > 0 {
		p.m.DecodedBytes += int64(len(b))
		p.h.Body(&p.m, b)
	}
	if cut {
		p.m.Flags |= FlagTruncated
		p.stats.Truncated.Add(1)
		// A cap reached at a ratio no real content has marks a bomb
		// (judged on the coded bytes the decoder took, which for zstd and
		// brotli depends a little on how the input was cut).
		if p.m.DecodedBytes > p.cfg.MaxRatio*max(p.dec.CompressedIn(), 1) {
			p.m.Flags |= FlagBomb
			p.stats.Bombs.Add(1)
		}
		return false
	}
	return true
}

func (p *Parser) decodeError() {
	p.m.Flags |= FlagDecodeError
	p.stats.DecodeErrors.Add(1)
}

// stopDecoding drops the rest of the body (framing goes on) and frees the
// decoder now rather than at the message end.
func (p *Parser) stopDecoding() {
	p.skip = true
	p.dec.end()
}

// endMessage finishes decoding, reports End and readies the next message.
func (p *Parser) endMessage() {
	p.flushSniff()
	if p.dec.Active() {
		if !p.skip {
			if err := p.dec.finish(p); err != nil {
				p.decodeError()
				if p.m.DecodedBytes == 0 {
					// Not coded after all (or cut before any output).
					p.m.Flags |= FlagUndecoded
					p.deliverHeld()
				}
			}
		}
		p.dec.end()
	}
	p.held = p.held[:0]
	if p.inMsg {
		p.inMsg = false
		p.h.End(&p.m)
	}
	p.st = stHead
	if p.await {
		p.await = false
		p.st = stAwait
	}
}
