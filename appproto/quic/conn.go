package quic

import (
	"bytes"
	"encoding/binary"

	apptls "github.com/tapdlp/tapdlp/appproto/tls"
)

// Limits; zero in a Conn field means the default.
const (
	// DefaultMaxCrypto caps the CRYPTO bytes reassembled (ClientHellos with
	// post-quantum key shares are 1.5–3 KiB and span 2–3 packets).
	DefaultMaxCrypto = 64 << 10
	// DefaultMaxPackets caps the Initial packets considered per connection.
	DefaultMaxPackets = 16
	// maxRanges caps the disjoint CRYPTO byte ranges tracked while holes
	// remain; each frame adds at most one.
	maxRanges = 64
)

// Status is where a Conn stands.
type Status uint8

const (
	// NeedMore: no ClientHello yet.
	NeedMore Status = iota
	// Done: Hello holds the ClientHello.
	Done
	// NotQUIC: the first datagram is not a v1/v2 client Initial.
	NotQUIC
	// Unsupported: a QUIC long header of a version without known Initial keys.
	Unsupported
	// GaveUp: a limit was hit (packets, CRYPTO bytes or ranges) before the
	// ClientHello was complete.
	GaveUp
	// Malformed: decrypted content broke the grammar (bad frame, not a
	// ClientHello, ClientHello unparsable) or the client closed the connection.
	Malformed
)

var statusNames = [...]string{"need-more", "done", "not-quic", "unsupported", "gave-up", "malformed"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// Stats counts what a Conn saw and dropped.
type Stats struct {
	Datagrams     int
	Initials      int // Initial packets decrypted
	DecryptFailed int // Initial packets that failed authentication
	Skipped       int // coalesced non-Initial packets skipped
	CryptoFrames  int
	CryptoDropped int // CRYPTO frames beyond MaxCrypto or maxRanges
	UnknownFrames int // frame types not allowed in Initial packets
}

// Conn recovers the ClientHello of one QUIC connection. Feed it the
// client-to-server UDP payloads in capture order; server datagrams must not
// be fed (they are protected with the server's keys and would only count as
// decryption failures). A Conn is owned by one flow; Reset reuses it.
type Conn struct {
	MaxCrypto  int
	MaxPackets int

	// Version of the connection (Version1 or Version2) once known.
	Version uint32
	// Hello is the ClientHello once Status is Done.
	Hello apptls.ClientHello
	Stats Stats

	status  Status
	dcid    [20]byte
	ndcid   int
	keyed   bool
	open    opener
	largest int64

	crypto []byte   // reassembly buffer, grown to the highest offset seen
	ranges [][2]int // received [start,end) ranges, sorted and merged
	pkt    []byte   // scratch copy of the packet being decrypted
	kdf    *kdf     // key derivation state, kept across Reset
}

// Reset prepares c for another connection, keeping its buffers.
func (c *Conn) Reset() {
	maxC, maxP := c.MaxCrypto, c.MaxPackets
	crypto, ranges, pkt, kdf := c.crypto[:0], c.ranges[:0], c.pkt[:0], c.kdf
	c.Hello.Reset()
	hello := c.Hello
	*c = Conn{MaxCrypto: maxC, MaxPackets: maxP, crypto: crypto, ranges: ranges, pkt: pkt, Hello: hello, kdf: kdf}
}

// Status reports the verdict so far.
func (c *Conn) Status() Status { return c.status }

// JA4 is the ClientHello's JA4 with the QUIC marker; "" before Done.
func (c *Conn) JA4() string {
	if c.status != Done {
		return ""
	}
	return c.Hello.JA4(apptls.TransportQUIC)
}

func (c *Conn) maxCrypto() int {
	if c.MaxCrypto <= 0 {
		return DefaultMaxCrypto
	}
	return c.MaxCrypto
}

func (c *Conn) maxPackets() int {
	if c.MaxPackets <= 0 {
		return DefaultMaxPackets
	}
	return c.MaxPackets
}

// LooksLikeInitial reports whether a UDP payload starts with a QUIC v1 or
// v2 Initial long header carrying a plausible connection ID. It is cheap
// and allocation-free, for classifying UDP flows on any port.
func LooksLikeInitial(b []byte) bool {
	if len(b) < 7 || b[0]&0xC0 != 0xC0 {
		return false
	}
	h, err := parseLong(b)
	return err == nil && (h.version == Version1 || h.version == Version2) &&
		h.typ == typeInitial && len(h.dcid) >= 8 && h.pnOffset+20 <= h.end
}

// Feed processes one client-to-server UDP payload (not retained) and
// reports whether the Conn reached a verdict.
func (c *Conn) Feed(datagram []byte) (done bool) {
	if c.status != NeedMore {
		return true
	}
	c.Stats.Datagrams++
	if c.Stats.Datagrams == 1 && !LooksLikeInitial(datagram) {
		c.status = NotQUIC
		if len(datagram) >= 5 && datagram[0]&0x80 != 0 {
			v := binary.BigEndian.Uint32(datagram[1:])
			if v != Version1 && v != Version2 && v != 0 {
				c.status = Unsupported
			}
		}
		return true
	}
	b := datagram
	for len(b) > 0 && c.status == NeedMore {
		if b[0]&0x80 == 0 {
			break // a short-header packet ends the datagram
		}
		h, err := parseLong(b)
		if err != nil || (h.version != Version1 && h.version != Version2) {
			break
		}
		if h.typ != typeInitial {
			c.Stats.Skipped++
			b = b[h.end:]
			continue
		}
		c.initial(b[:h.end], h)
		b = b[h.end:]
	}
	return c.status != NeedMore
}

// initial decrypts one Initial packet and consumes its frames.
func (c *Conn) initial(p []byte, h header) {
	if c.Stats.Initials+c.Stats.DecryptFailed >= c.maxPackets() {
		c.status = GaveUp
		return
	}
	if !c.keyed || h.version != c.Version || !bytes.Equal(h.dcid, c.dcid[:c.ndcid]) {
		// New DCID: the first Initial, or the client's retry after a Retry
		// or version change. Its CRYPTO stream starts over.
		if c.kdf == nil {
			c.kdf = new(kdf)
		}
		k, err := c.kdf.clientInitialKeys(h.version, h.dcid)
		if err != nil {
			c.status = Unsupported
			return
		}
		if c.open, err = newOpener(k); err != nil {
			c.status = Unsupported
			return
		}
		c.keyed, c.Version = true, h.version
		c.ndcid = copy(c.dcid[:], h.dcid)
		c.largest = -1
		c.crypto, c.ranges = c.crypto[:0], c.ranges[:0]
	}
	c.pkt = append(c.pkt[:0], p...)
	payload, pn, err := c.open.open(c.pkt, h, c.largest)
	if err != nil {
		c.Stats.DecryptFailed++
		return
	}
	c.Stats.Initials++
	if int64(pn) > c.largest {
		c.largest = int64(pn)
	}
	if !c.frames(payload) {
		return
	}
	c.tryHello()
}

// frames walks the frames of a decrypted Initial payload. Only the frame
// types RFC 9000 §12.4 allows in Initial packets are understood; anything
// else is a protocol violation and ends the packet.
func (c *Conn) frames(p []byte) bool {
	for len(p) > 0 {
		typ := p[0]
		p = p[1:]
		switch typ {
		case 0x00: // PADDING
			for len(p) > 0 && p[0] == 0 {
				p = p[1:]
			}
		case 0x01: // PING
		case 0x02, 0x03: // ACK, ACK with ECN counts
			var ok bool
			if p, ok = skipACK(p, typ == 0x03); !ok {
				c.status = Malformed
				return false
			}
		case 0x06: // CRYPTO
			off, n1, ok1 := varint(p)
			if !ok1 {
				c.status = Malformed
				return false
			}
			l, n2, ok2 := varint(p[n1:])
			if !ok2 || l > uint64(len(p)-n1-n2) {
				c.status = Malformed
				return false
			}
			data := p[n1+n2 : n1+n2+int(l)]
			p = p[n1+n2+int(l):]
			c.Stats.CryptoFrames++
			if !c.addCrypto(off, data) {
				return false
			}
		case 0x1c, 0x1d: // CONNECTION_CLOSE: the client gave up
			c.status = Malformed
			return false
		default:
			c.Stats.UnknownFrames++
			return true
		}
	}
	return true
}

// skipACK skips an ACK frame body. Each range costs at least two bytes, so
// a lying range count runs out of input, not time.
func skipACK(p []byte, ecn bool) ([]byte, bool) {
	var count uint64
	for i := 0; i < 4; i++ { // largest, delay, range count, first range
		v, n, ok := varint(p)
		if !ok {
			return nil, false
		}
		if i == 2 {
			count = v
		}
		p = p[n:]
	}
	if count > uint64(len(p))/2 {
		return nil, false
	}
	extra := 2 * int(count)
	if ecn {
		extra += 3
	}
	for i := 0; i < extra; i++ {
		_, n, ok := varint(p)
		if !ok {
			return nil, false
		}
		p = p[n:]
	}
	return p, true
}

// addCrypto stores a CRYPTO frame's data at its offset.
func (c *Conn) addCrypto(off uint64, data []byte) bool {
	if len(data) == 0 {
		return true
	}
	end := off + uint64(len(data))
	if end > uint64(c.maxCrypto()) {
		c.Stats.CryptoDropped++
		c.status = GaveUp
		return false
	}
	if int(end) > len(c.crypto) {
		if int(end) > cap(c.crypto) {
			grown := make([]byte, len(c.crypto), max(int(end), 2*cap(c.crypto), 4096))
			copy(grown, c.crypto)
			c.crypto = grown
		}
		c.crypto = c.crypto[:end]
	}
	copy(c.crypto[off:end], data)
	if !c.addRange(int(off), int(end)) {
		c.Stats.CryptoDropped++
		c.status = GaveUp
		return false
	}
	return true
}

// addRange records [s,e) as received, merging overlaps.
func (c *Conn) addRange(s, e int) bool {
	// Built in a stack array: ranges are few and this runs per frame.
	var buf [maxRanges + 2][2]int
	out := buf[:0]
	merged := [2]int{s, e}
	inserted := false
	for _, r := range c.ranges {
		if len(out) > maxRanges {
			return false
		}
		switch {
		case r[1] < merged[0]:
			out = append(out, r)
		case r[0] > merged[1]:
			if !inserted {
				out = append(out, merged)
				inserted = true
			}
			out = append(out, r)
		default:
			merged[0], merged[1] = min(merged[0], r[0]), max(merged[1], r[1])
		}
	}
	if !inserted {
		out = append(out, merged)
	}
	if len(out) > maxRanges {
		return false
	}
	c.ranges = append(c.ranges[:0], out...)
	return true
}

// contiguous is how many CRYPTO bytes from offset 0 have arrived.
func (c *Conn) contiguous() int {
	if len(c.ranges) == 0 || c.ranges[0][0] != 0 {
		return 0
	}
	return c.ranges[0][1]
}

// tryHello parses the ClientHello once its bytes are contiguous.
func (c *Conn) tryHello() {
	n := c.contiguous()
	if n < 4 {
		return
	}
	if c.crypto[0] != 1 { // the client's first handshake message is ClientHello
		c.status = Malformed
		return
	}
	l := int(c.crypto[1])<<16 | int(c.crypto[2])<<8 | int(c.crypto[3])
	if 4+l > c.maxCrypto() {
		c.status = GaveUp
		return
	}
	if n < 4+l {
		return
	}
	if err := c.Hello.ParseHandshake(c.crypto[:4+l]); err != nil {
		c.status = Malformed
		return
	}
	c.status = Done
}
