package dns

import "encoding/binary"

// MaxTrailing is how many bytes may follow the last record of a message
// before LooksLikeDNS rejects it. Some stacks pad datagrams; random data
// that happens to parse almost never ends this close to the end.
const MaxTrailing = 8

// LooksLikeDNS reports whether b is very probably a DNS message. It is meant
// for UDP on ports other than 53 (and for the first bytes of a TCP stream
// after the length prefix), where a false positive would mislabel a flow, so
// it is strict: standard query/notify/update opcode, a single question that
// decodes exactly, sane counts for the direction, every record in every
// section well-formed, compression pointers only backwards, and at most
// MaxTrailing bytes of slack. It allocates nothing.
func LooksLikeDNS(b []byte) bool {
	if len(b) < 17 { // header + root name + type + class
		return false
	}
	flags := binary.BigEndian.Uint16(b[2:])
	qd := binary.BigEndian.Uint16(b[4:])
	an := binary.BigEndian.Uint16(b[6:])
	ns := binary.BigEndian.Uint16(b[8:])
	ar := binary.BigEndian.Uint16(b[10:])
	h := Header{Flags: flags}
	switch h.Opcode() {
	case 0, 4, 5: // QUERY, NOTIFY, UPDATE
	default:
		return false
	}
	if flags&0x0040 != 0 { // Z bit must be zero
		return false
	}
	if qd != 1 {
		return false
	}
	if h.Response() {
		if h.RCode() > 10 || int(an)+int(ns)+int(ar) > 256 {
			return false
		}
	} else {
		// A query carries at most an EDNS OPT and a TSIG/SIG(0) record;
		// NOTIFY/UPDATE may carry more, but never hundreds.
		if h.Opcode() == 0 && (an != 0 || ns != 0 || ar > 2) {
			return false
		}
		if h.RCode() != 0 || int(an)+int(ns)+int(ar) > 64 {
			return false
		}
	}
	_, end, nf, err := readName(b, 12, nil)
	if err != nil || nf&(NameInvalidChars|NameDotInLabel) != 0 || end+4 > len(b) {
		return false
	}
	qtype := binary.BigEndian.Uint16(b[end:])
	qclass := binary.BigEndian.Uint16(b[end+2:]) &^ 0x8000 // mDNS unicast-response bit
	if qtype == 0 || (qclass != 1 && qclass != 3 && qclass != 4 && qclass != 254 && qclass != 255) {
		return false
	}
	off := end + 4
	for i := 0; i < int(an)+int(ns)+int(ar); i++ {
		_, e, _, err := readName(b, off, nil)
		if err != nil || e+10 > len(b) {
			return false
		}
		class := binary.BigEndian.Uint16(b[e+2:]) &^ 0x8000 // mDNS cache-flush bit
		typ := binary.BigEndian.Uint16(b[e:])
		if typ == 0 || (typ != TypeOPT && class != 1 && class != 3 && class != 4 && class != 254 && class != 255) {
			return false
		}
		off = e + 10 + int(binary.BigEndian.Uint16(b[e+8:]))
		if off > len(b) {
			return false
		}
	}
	return len(b)-off <= MaxTrailing
}
