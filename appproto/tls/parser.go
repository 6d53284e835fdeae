package tls

import "encoding/binary"

// DefaultMaxHandshake caps the handshake bytes a Parser buffers. Real
// ClientHellos are 0.5–2 KiB (post-quantum key shares push them toward
// 2–3 KiB; ECH padding a little more); 64 KiB leaves room for anything sane.
const DefaultMaxHandshake = 64 << 10

// maxRecordLen is the largest TLSPlaintext fragment (2^14) plus the slack
// RFC 8446 allows for compressed/protected records; beyond it the stream is
// not TLS.
const maxRecordLen = 1<<14 + 2048

// Record and handshake types used here.
const (
	recordHandshake = 22

	typeClientHello = 1
	typeServerHello = 2
)

// Status is where a Parser stands.
type Status uint8

const (
	// NeedMore: no verdict yet; feed more bytes.
	NeedMore Status = iota
	// Done: a ClientHello (Parser.Hello) or ServerHello (Parser.Server) was parsed.
	Done
	// NotTLS: the stream does not start with a TLS handshake record.
	NotTLS
	// TooLarge: the handshake message exceeds MaxHandshake; given up.
	TooLarge
	// Malformed: the bytes started like TLS but broke the grammar.
	Malformed
)

var statusNames = [...]string{"need-more", "done", "not-tls", "too-large", "malformed"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// Parser reassembles the first handshake message of one direction of a TLS
// connection from stream chunks and parses it. It is owned by one flow
// direction and may be reused for another after Reset; its buffer is kept.
type Parser struct {
	// MaxHandshake caps buffered handshake bytes; zero means DefaultMaxHandshake.
	MaxHandshake int

	// Hello is filled when the first handshake message is a ClientHello.
	Hello ClientHello
	// Server is filled when the first handshake message is a ServerHello.
	Server ServerHello
	// IsServer tells which of the two was parsed once Status is Done.
	IsServer bool
	// Records counts TLS records consumed so far.
	Records int

	status  Status
	hdr     [5]byte // current record header
	nhdr    int
	recLeft int    // body bytes of the current record still to come
	hs      []byte // handshake bytes gathered from record bodies
}

// Reset prepares p for a new stream, keeping its buffers.
func (p *Parser) Reset() {
	p.Hello.Reset()
	p.Server = ServerHello{}
	p.IsServer, p.Records, p.status, p.nhdr, p.recLeft = false, 0, NeedMore, 0, 0
	p.hs = p.hs[:0]
}

// Status reports the verdict so far.
func (p *Parser) Status() Status { return p.status }

func (p *Parser) limit() int {
	if p.MaxHandshake <= 0 {
		return DefaultMaxHandshake
	}
	return p.MaxHandshake
}

// Feed consumes the next chunk of the stream (it is not retained) and
// reports whether the parser has reached a verdict; Status says which.
// Once done, further input is ignored.
func (p *Parser) Feed(b []byte) (done bool) {
	if p.status == NeedMore && p.Records == 0 && p.nhdr == 0 && p.parseWhole(b) {
		return true
	}
	for len(b) > 0 && p.status == NeedMore {
		if p.nhdr < 5 {
			n := copy(p.hdr[p.nhdr:], b)
			p.nhdr += n
			b = b[n:]
			if !p.checkHeader() {
				return true
			}
			continue
		}
		n := min(p.recLeft, len(b))
		if len(p.hs)+n > p.limit() {
			p.status = TooLarge
			return true
		}
		p.hs = append(p.hs, b[:n]...)
		b = b[n:]
		p.recLeft -= n
		if p.recLeft == 0 {
			p.nhdr = 0
		}
		p.tryMessage()
	}
	return p.status != NeedMore
}

// parseWhole is the usual case: the stream's first chunk holds the first
// record and it holds the whole first handshake message. That message is
// parsed where it lies instead of being copied into the handshake buffer.
// It returns false, having changed nothing, whenever the general path
// (Feed's loop) must decide. MaxHandshake bounds the message, as it does
// when the record arrives a byte at a time (fed whole, a record longer
// than MaxHandshake is TooLarge on the general path even when the message
// in it is not; only a MaxHandshake below maxRecordLen can tell).
func (p *Parser) parseWhole(b []byte) bool {
	if len(b) < 5+4 || b[0] != recordHandshake || b[1] != 3 || b[2] > 4 {
		return false
	}
	n := int(binary.BigEndian.Uint16(b[3:]))
	if n < 4 || n > maxRecordLen || len(b) < 5+n {
		return false
	}
	body := b[5 : 5+n]
	typ := body[0]
	m := int(body[1])<<16 | int(body[2])<<8 | int(body[3])
	if (typ != typeClientHello && typ != typeServerHello) || 4+m > n || 4+m > p.limit() {
		return false
	}
	p.Records = 1
	var err error
	if typ == typeClientHello {
		err = p.Hello.parse(body[4 : 4+m])
	} else {
		p.IsServer = true
		err = p.Server.parse(body[4 : 4+m])
	}
	p.status = Done
	if err != nil {
		p.status = Malformed
	}
	return true
}

// checkHeader validates as much of the record header as has arrived, so
// that a non-TLS stream is rejected on its very first byte.
func (p *Parser) checkHeader() bool {
	bad := Malformed
	if p.Records == 0 && len(p.hs) == 0 {
		bad = NotTLS
	}
	h := p.hdr[:p.nhdr]
	switch {
	case len(h) >= 1 && h[0] != recordHandshake,
		len(h) >= 2 && h[1] != 3,
		len(h) >= 3 && h[2] > 4:
		p.status = bad
		return false
	}
	if len(h) < 5 {
		return true
	}
	n := int(binary.BigEndian.Uint16(h[3:]))
	if n == 0 || n > maxRecordLen {
		p.status = bad
		return false
	}
	p.recLeft = n
	p.Records++
	return true
}

// tryMessage parses the first handshake message once it is complete.
func (p *Parser) tryMessage() {
	if len(p.hs) < 4 {
		return
	}
	typ := p.hs[0]
	if typ != typeClientHello && typ != typeServerHello {
		p.status = Malformed
		return
	}
	n := int(p.hs[1])<<16 | int(p.hs[2])<<8 | int(p.hs[3])
	if 4+n > p.limit() {
		p.status = TooLarge
		return
	}
	if len(p.hs) < 4+n {
		return
	}
	var err error
	if typ == typeClientHello {
		err = p.Hello.parse(p.hs[4 : 4+n])
	} else {
		p.IsServer = true
		err = p.Server.parse(p.hs[4 : 4+n])
	}
	if err != nil {
		p.status = Malformed
		return
	}
	p.status = Done
}
