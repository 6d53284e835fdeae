package capture

import (
	"encoding/binary"
	"strconv"
	"time"
)

// LinkType is a pcap link-layer header type (LINKTYPE_* / DLT_*).
type LinkType uint16

// Link types the decoder understands.
const (
	LinkNull     LinkType = 0   // BSD loopback: 4-byte address family in host order
	LinkEthernet LinkType = 1   // Ethernet II / 802.3
	LinkRawDLT12 LinkType = 12  // raw IP as some libpcap builds number DLT_RAW
	LinkRawDLT14 LinkType = 14  // raw IP as OpenBSD numbers DLT_RAW
	LinkRaw      LinkType = 101 // raw IPv4 or IPv6, version from the first nibble
	LinkLoop     LinkType = 108 // OpenBSD loopback: address family in network order
	LinkSLL      LinkType = 113 // Linux cooked capture v1
	LinkIPv4     LinkType = 228 // raw IPv4
	LinkIPv6     LinkType = 229 // raw IPv6
	LinkSLL2     LinkType = 276 // Linux cooked capture v2
)

// String returns libpcap's short name for the link type.
func (l LinkType) String() string {
	switch l {
	case LinkNull:
		return "NULL"
	case LinkEthernet:
		return "EN10MB"
	case LinkRawDLT12, LinkRawDLT14, LinkRaw:
		return "RAW"
	case LinkLoop:
		return "LOOP"
	case LinkSLL:
		return "LINUX_SLL"
	case LinkIPv4:
		return "IPV4"
	case LinkIPv6:
		return "IPV6"
	case LinkSLL2:
		return "LINUX_SLL2"
	}
	return "linktype(" + strconv.Itoa(int(l)) + ")"
}

// Meta describes one captured frame.
type Meta struct {
	TS       int64    // capture time, Unix nanoseconds
	CapLen   int      // bytes captured
	WireLen  int      // bytes on the wire
	LinkType LinkType // link type of this frame (pcapng interfaces differ)
}

// Time returns TS as a time.Time.
func (m Meta) Time() time.Time { return time.Unix(0, m.TS) }

func (d *Decoder) decodeLink(b []byte, lt LinkType, p *Packet) Result {
	switch lt {
	case LinkEthernet:
		return d.decodeEthernet(b, p, 0)
	case LinkRaw, LinkRawDLT12, LinkRawDLT14:
		return d.decodeRawIP(b, p, 0)
	case LinkIPv4:
		return d.decodeIPv4(b, p, 0)
	case LinkIPv6:
		return d.decodeIPv6(b, p, 0)
	case LinkSLL:
		// packet type, ARPHRD type, address length, 8 address bytes, protocol
		if len(b) < 16 {
			return Truncated
		}
		return d.decodeSLLProto(binary.BigEndian.Uint16(b[14:16]), b[16:], p)
	case LinkSLL2:
		// protocol, reserved, ifindex, ARPHRD type, packet type, address length, 8 address bytes
		if len(b) < 20 {
			return Truncated
		}
		return d.decodeSLLProto(binary.BigEndian.Uint16(b[0:2]), b[20:], p)
	case LinkNull, LinkLoop:
		if len(b) < 4 {
			return Truncated
		}
		// DLT_NULL is in the writer's byte order, DLT_LOOP in network order;
		// address families are small, so whichever reading is small is right.
		af := binary.LittleEndian.Uint32(b[:4])
		if af > 0xffff {
			af = binary.BigEndian.Uint32(b[:4])
		}
		switch af {
		case 2: // AF_INET everywhere
			return d.decodeIPv4(b[4:], p, 0)
		case 10, 24, 28, 30: // AF_INET6: Linux, NetBSD/OpenBSD, FreeBSD, Darwin
			return d.decodeIPv6(b[4:], p, 0)
		}
		return NotIP
	}
	return Unsupported
}

// decodeSLLProto handles the protocol field of Linux cooked captures: an
// EtherType, except for a few ARPHRD-specific small values that carry no IP.
func (d *Decoder) decodeSLLProto(proto uint16, b []byte, p *Packet) Result {
	if proto < 0x0600 {
		return NotIP
	}
	return d.decodeEtherType(proto, b, p, 0)
}

// EtherTypes the decoder follows.
const (
	etherIPv4      = 0x0800
	etherVLAN      = 0x8100
	etherQinQ      = 0x88a8
	etherQinQOld   = 0x9100
	etherIPv6      = 0x86dd
	etherMPLS      = 0x8847
	etherMPLSMcast = 0x8848
	etherPPPoES    = 0x8864
	etherTEB       = 0x6558 // transparent Ethernet bridging (Ethernet over GRE/GENEVE)
	etherERSPAN2   = 0x88be
	etherERSPAN3   = 0x22eb
	etherPPP       = 0x880b
)

// maxVLANTags bounds the VLAN loop: a frame of nothing but tags must not
// keep the decoder busy.
const maxVLANTags = 8

func (d *Decoder) decodeEthernet(b []byte, p *Packet, depth int) Result {
	if len(b) < 14 {
		return Truncated
	}
	et := binary.BigEndian.Uint16(b[12:14])
	if et < 0x0600 { // 802.3 length field: LLC/SNAP frames carry no IP we follow
		return NotIP
	}
	return d.decodeEtherType(et, b[14:], p, depth)
}

func (d *Decoder) decodeEtherType(et uint16, b []byte, p *Packet, depth int) Result {
	for tags := 0; et == etherVLAN || et == etherQinQ || et == etherQinQOld; tags++ {
		if tags == maxVLANTags {
			return Malformed
		}
		if len(b) < 4 {
			return Truncated
		}
		if p.NVLAN < MaxVLANs {
			p.VLAN[p.NVLAN] = binary.BigEndian.Uint16(b[0:2]) & 0x0fff
			p.NVLAN++
		} else {
			d.stats.extraVLANs.Add(1)
		}
		et = binary.BigEndian.Uint16(b[2:4])
		b = b[4:]
	}
	switch et {
	case etherIPv4:
		return d.decodeIPv4(b, p, depth)
	case etherIPv6:
		return d.decodeIPv6(b, p, depth)
	case etherMPLS, etherMPLSMcast:
		return d.decodeMPLS(b, p, depth)
	case etherPPPoES:
		return d.decodePPPoE(b, p, depth)
	}
	return NotIP
}

// decodeRawIP picks the IP version from the first nibble.
func (d *Decoder) decodeRawIP(b []byte, p *Packet, depth int) Result {
	if len(b) < 1 {
		return Truncated
	}
	switch b[0] >> 4 {
	case 4:
		return d.decodeIPv4(b, p, depth)
	case 6:
		return d.decodeIPv6(b, p, depth)
	}
	return Malformed
}
