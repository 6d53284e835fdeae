package dns

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// Parse errors. They are sentinels so that the per-packet error path does
// not allocate; Message.ErrOffset gives the byte offset where parsing stopped.
var (
	ErrTruncated   = errors.New("dns: message truncated")
	ErrNameTooLong = errors.New("dns: name longer than 255 bytes")
	ErrBadPointer  = errors.New("dns: compression pointer not strictly backwards")
	ErrBadLabel    = errors.New("dns: reserved label type")
	ErrBadHeader   = errors.New("dns: implausible header")
	ErrNoQuestion  = errors.New("dns: no question")
)

// Limits. A message that exceeds them is still parsed; the excess is
// skipped and counted in Message.DroppedRRs.
const (
	// MaxRRs is how many answer-section records one Message keeps.
	MaxRRs = 64
	// MaxChain is how many CNAME hops are followed from the question name.
	MaxChain = 16
	// MaxHints is how many addresses one HTTPS/SVCB record contributes.
	MaxHints = 16
	// maxSections bounds the records walked over all sections (counts are
	// 16-bit, but each record needs ≥11 bytes, so this is never the binding
	// limit for a real message; it bounds work on lying headers).
	maxSections = 4096
)

// Record types the parser understands.
const (
	TypeA     uint16 = 1
	TypeNS    uint16 = 2
	TypeCNAME uint16 = 5
	TypeSOA   uint16 = 6
	TypePTR   uint16 = 12
	TypeMX    uint16 = 15
	TypeTXT   uint16 = 16
	TypeAAAA  uint16 = 28
	TypeSRV   uint16 = 33
	TypeOPT   uint16 = 41
	TypeSVCB  uint16 = 64
	TypeHTTPS uint16 = 65
	TypeANY   uint16 = 255
)

// Header is the fixed 12-byte DNS header.
type Header struct {
	ID                                 uint16
	Flags                              uint16
	QDCount, ANCount, NSCount, ARCount uint16
}

// Response reports the QR bit.
func (h Header) Response() bool { return h.Flags&0x8000 != 0 }

// Opcode returns the 4-bit opcode (0 = standard query).
func (h Header) Opcode() uint8 { return uint8(h.Flags>>11) & 0xF }

// Truncated reports the TC bit: the server cut the answer short.
func (h Header) Truncated() bool { return h.Flags&0x0200 != 0 }

// RCode returns the 4-bit response code of the header.
func (h Header) RCode() uint8 { return uint8(h.Flags & 0xF) }

// span locates a decoded name in Message.names.
type span struct{ off, n uint16 }

// rr is one kept answer-section record.
type rr struct {
	name   span
	typ    uint16
	ttl    uint32
	target span       // CNAME target
	addr   netip.Addr // A, AAAA
}

// Message is a decoded DNS message. It is owned by the caller and reused:
// Parse overwrites it completely and allocates nothing. Names live in an
// internal fixed buffer and are valid until the next Parse. A Message is
// about 37 KiB (every bound is preallocated), so keep one per worker, not
// one per flow.
type Message struct {
	Header
	QType, QClass uint16
	// QNameFlags holds what decoding the question name noticed.
	QNameFlags NameFlags
	// ErrOffset is where parsing stopped when Parse returned an error.
	ErrOffset int
	// Trailing is the number of bytes after the last record.
	Trailing int
	// DroppedRRs counts answer records beyond MaxRRs and HTTPS/SVCB hint
	// addresses beyond MaxHints: seen, not kept.
	DroppedRRs int

	msg   []byte // the message being parsed; valid only during Parse
	qname span
	rrs   [MaxRRs]rr
	nrr   int
	// names holds every decoded name back to back: question, owners and
	// targets. MaxRRs*2+1 names of at most MaxNameLen bytes always fit.
	names [(2*MaxRRs + 1) * MaxNameLen]byte
	nused int

	chain  [MaxChain]span // question name, then each CNAME target
	nchain int
	hits   [MaxRRs]uint8 // indices into rrs of addresses on the chain
	nhits  int
}

// Reset clears m for reuse without releasing anything.
func (m *Message) Reset() {
	m.Header = Header{}
	m.QType, m.QClass, m.QNameFlags = 0, 0, 0
	m.ErrOffset, m.Trailing, m.DroppedRRs = 0, 0, 0
	m.msg, m.qname, m.nrr, m.nused = nil, span{}, 0, 0
	m.nchain, m.nhits = 0, 0
}

// QName returns the first question's name in presentation form, lower case,
// without the trailing dot. It aliases m and is valid until the next Parse.
func (m *Message) QName() []byte { return m.bytes(m.qname) }

func (m *Message) bytes(s span) []byte { return m.names[s.off : s.off+s.n] }

// decodeName reads the name at off into the name buffer.
func (m *Message) decodeName(off int) (s span, end int, flags NameFlags, err error) {
	n, end, flags, err := readName(m.msg, off, m.names[m.nused:m.nused+MaxNameLen])
	if err != nil {
		return span{}, 0, flags, err
	}
	s = span{uint16(m.nused), uint16(n)}
	m.nused += n
	return s, end, flags, nil
}

// Parse decodes msg into m. On error m still holds the header and, when it
// decoded, the question, which is enough to log what a malformed response
// was about; no answers are reported from a message that failed, because
// records after a grammar error cannot be trusted.
func (m *Message) Parse(msg []byte) error {
	m.Reset()
	m.msg = msg
	defer func() { m.msg = nil }()
	if len(msg) < 12 {
		return ErrTruncated
	}
	m.Header = Header{
		ID:      binary.BigEndian.Uint16(msg[0:]),
		Flags:   binary.BigEndian.Uint16(msg[2:]),
		QDCount: binary.BigEndian.Uint16(msg[4:]),
		ANCount: binary.BigEndian.Uint16(msg[6:]),
		NSCount: binary.BigEndian.Uint16(msg[8:]),
		ARCount: binary.BigEndian.Uint16(msg[10:]),
	}
	off := 12
	for i := 0; i < int(m.QDCount); i++ {
		var (
			end   int
			err   error
			flags NameFlags
		)
		if i == 0 {
			m.qname, end, flags, err = m.decodeName(off)
			m.QNameFlags = flags
		} else {
			_, end, _, err = readName(msg, off, nil)
		}
		if err != nil {
			m.ErrOffset = off
			return err
		}
		if end+4 > len(msg) {
			m.ErrOffset = end
			return ErrTruncated
		}
		if i == 0 {
			m.QType = binary.BigEndian.Uint16(msg[end:])
			m.QClass = binary.BigEndian.Uint16(msg[end+2:])
		}
		off = end + 4
	}
	total := int(m.ANCount) + int(m.NSCount) + int(m.ARCount)
	if total > maxSections {
		m.ErrOffset = 6
		return ErrBadHeader
	}
	for i := 0; i < total; i++ {
		next, err := m.record(off, i < int(m.ANCount))
		if err != nil {
			m.ErrOffset = off
			return err
		}
		off = next
	}
	m.Trailing = len(msg) - off
	m.resolve()
	return nil
}

// record parses the resource record at off, keeping it when it is an
// answer-section record of a type the chain walk uses.
func (m *Message) record(off int, answer bool) (int, error) {
	msg := m.msg
	mark := m.nused
	var (
		owner span
		end   int
		err   error
	)
	keep := answer && m.nrr < MaxRRs
	if keep {
		owner, end, _, err = m.decodeName(off)
	} else {
		_, end, _, err = readName(msg, off, nil)
	}
	if err != nil {
		return 0, err
	}
	if end+10 > len(msg) {
		return 0, ErrTruncated
	}
	typ := binary.BigEndian.Uint16(msg[end:])
	ttl := binary.BigEndian.Uint32(msg[end+4:])
	rdlen := int(binary.BigEndian.Uint16(msg[end+8:]))
	rd := end + 10
	if rd+rdlen > len(msg) {
		return 0, ErrTruncated
	}
	next := rd + rdlen
	if !answer {
		return next, nil
	}
	if !keep {
		m.DroppedRRs++
		return next, nil
	}
	r := rr{name: owner, typ: typ, ttl: ttl}
	switch typ {
	case TypeA:
		if rdlen != 4 {
			m.nused = mark
			return next, nil
		}
		r.addr = netip.AddrFrom4([4]byte(msg[rd : rd+4]))
	case TypeAAAA:
		if rdlen != 16 {
			m.nused = mark
			return next, nil
		}
		r.addr = netip.AddrFrom16([16]byte(msg[rd : rd+16]))
	case TypeCNAME:
		t, tend, _, err := m.decodeName(rd)
		if err != nil || tend != next {
			// A broken CNAME must not break the chain walk of the rest.
			m.nused = mark
			return next, nil
		}
		r.target = t
	case TypeHTTPS, TypeSVCB:
		// Hints become address records of their own, owned by the HTTPS/SVCB
		// owner name, so the chain walk treats them like A/AAAA.
		if m.addHints(owner, typ, ttl, msg[rd:next]) == 0 {
			m.nused = mark
		}
		return next, nil
	default:
		m.nused = mark
		return next, nil
	}
	m.rrs[m.nrr] = r
	m.nrr++
	return next, nil
}
