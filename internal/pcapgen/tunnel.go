package pcapgen

import "encoding/binary"

// VXLAN returns a VXLAN header (I flag set) followed by the inner Ethernet
// frame: the payload of a UDP datagram to port 4789.
func VXLAN(vni uint32, innerFrame []byte) []byte {
	b := make([]byte, 8, 8+len(innerFrame))
	b[0] = 0x08
	b[4], b[5], b[6] = byte(vni>>16), byte(vni>>8), byte(vni)
	return append(b, innerFrame...)
}

// GENEVE returns a GENEVE header with the given options (a multiple of 4
// bytes) and protocol (EtherTEB for Ethernet, EtherIPv4/EtherIPv6 for IP),
// followed by inner: the payload of a UDP datagram to port 6081.
func GENEVE(vni uint32, proto uint16, options, inner []byte) []byte {
	if len(options)%4 != 0 || len(options) > 252 {
		panic("pcapgen: GENEVE options must be a multiple of 4 bytes, at most 252")
	}
	b := make([]byte, 8, 8+len(options)+len(inner))
	b[0] = byte(len(options) / 4)
	binary.BigEndian.PutUint16(b[2:4], proto)
	b[4], b[5], b[6] = byte(vni>>16), byte(vni>>8), byte(vni)
	b = append(b, options...)
	return append(b, inner...)
}

// GRE returns a GRE header (RFC 2784/2890, with a key when hasKey) followed
// by inner: the payload of IP protocol 47.
func GRE(proto uint16, key uint32, hasKey bool, inner []byte) []byte {
	b := make([]byte, 4, 8+len(inner))
	if hasKey {
		b[0] = 0x20
		b = binary.BigEndian.AppendUint32(b, key)
	}
	binary.BigEndian.PutUint16(b[2:4], proto)
	return append(b, inner...)
}

// MPLS returns a label stack (outermost first, bottom-of-stack set on the
// last, TTL 64) followed by inner: the payload of EtherType 0x8847.
func MPLS(labels []uint32, inner []byte) []byte {
	b := make([]byte, 0, 4*len(labels)+len(inner))
	for i, l := range labels {
		e := l<<12 | 64
		if i == len(labels)-1 {
			e |= 1 << 8
		}
		b = binary.BigEndian.AppendUint32(b, e)
	}
	return append(b, inner...)
}

// PPPoE returns a PPPoE session header and PPP header around an IP packet:
// the payload of EtherType 0x8864.
func PPPoE(session uint16, ip []byte) []byte {
	proto := uint16(0x0021)
	if len(ip) > 0 && ip[0]>>4 == 6 {
		proto = 0x0057
	}
	b := []byte{0x11, 0}
	b = binary.BigEndian.AppendUint16(b, session)
	b = binary.BigEndian.AppendUint16(b, uint16(2+len(ip)))
	b = binary.BigEndian.AppendUint16(b, proto)
	return append(b, ip...)
}
