package pcapgen

import (
	"encoding/binary"
	"net/netip"
)

// EtherTypes used by the builders.
const (
	EtherIPv4   = 0x0800
	EtherIPv6   = 0x86dd
	EtherVLAN   = 0x8100
	EtherQinQ   = 0x88a8
	EtherMPLS   = 0x8847
	EtherPPPoES = 0x8864
	EtherTEB    = 0x6558 // Ethernet carried in GRE or GENEVE
	EtherARP    = 0x0806
)

// IP protocol numbers used by the builders.
const (
	ProtoICMP   = 1
	ProtoIPIP   = 4
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoIPv6   = 41
	ProtoGRE    = 47
	ProtoICMPv6 = 58
)

// TCP flags.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// Default MAC addresses for frames whose addresses do not matter.
var (
	ClientMAC = [6]byte{0x02, 0, 0, 0, 0, 0x01}
	ServerMAC = [6]byte{0x02, 0, 0, 0, 0, 0x02}
)

// Ethernet returns an Ethernet II frame. vlans are tag ids, outermost
// first; with two or more tags the outermost is an 802.1ad S-tag (0x88a8).
func Ethernet(src, dst [6]byte, etherType uint16, payload []byte, vlans ...uint16) []byte {
	b := make([]byte, 0, 14+4*len(vlans)+len(payload))
	b = append(b, dst[:]...)
	b = append(b, src[:]...)
	for i, v := range vlans {
		tpid := uint16(EtherVLAN)
		if i == 0 && len(vlans) > 1 {
			tpid = EtherQinQ
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, v&0x0fff)
	}
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, payload...)
}

// EthernetIP wraps an IP packet in an Ethernet frame with the default MACs,
// choosing the EtherType from the IP version.
func EthernetIP(ip []byte, vlans ...uint16) []byte {
	return Ethernet(ClientMAC, ServerMAC, etherTypeOf(ip), ip, vlans...)
}

func etherTypeOf(ip []byte) uint16 {
	if len(ip) > 0 && ip[0]>>4 == 6 {
		return EtherIPv6
	}
	return EtherIPv4
}

// IPv4Header describes an IPv4 header; Marshal fills lengths and checksum.
type IPv4Header struct {
	Src, Dst netip.Addr
	Proto    uint8
	ID       uint16
	TTL      uint8 // 0 means 64
	DF       bool
	MF       bool
	FragOff  int    // fragment offset in bytes, a multiple of 8
	Options  []byte // padded to a multiple of 4 with zeros (end of options)
}

// Marshal returns the header followed by payload.
func (h IPv4Header) Marshal(payload []byte) []byte {
	if !h.Src.Is4() || !h.Dst.Is4() {
		panic("pcapgen: IPv4Header needs IPv4 addresses")
	}
	if h.FragOff%8 != 0 {
		panic("pcapgen: fragment offset must be a multiple of 8")
	}
	opts := append([]byte(nil), h.Options...)
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	hl := 20 + len(opts)
	b := make([]byte, hl, hl+len(payload))
	b[0] = 0x40 | byte(hl/4)
	binary.BigEndian.PutUint16(b[2:4], uint16(hl+len(payload)))
	binary.BigEndian.PutUint16(b[4:6], h.ID)
	frag := uint16(h.FragOff / 8)
	if h.DF {
		frag |= 0x4000
	}
	if h.MF {
		frag |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:8], frag)
	b[8] = h.TTL
	if b[8] == 0 {
		b[8] = 64
	}
	b[9] = h.Proto
	s, d := h.Src.As4(), h.Dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	copy(b[20:], opts)
	binary.BigEndian.PutUint16(b[10:12], Checksum(b, 0))
	return append(b, payload...)
}

// IPv4Fragments splits payload (the complete L4 datagram) into fragments of
// at most size payload bytes each (size is rounded down to a multiple of 8).
func IPv4Fragments(h IPv4Header, payload []byte, size int) [][]byte {
	size &^= 7
	if size <= 0 {
		panic("pcapgen: fragment size must be at least 8")
	}
	var out [][]byte
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		f := h
		f.FragOff = off
		f.MF = end < len(payload)
		out = append(out, f.Marshal(payload[off:end]))
	}
	return out
}

// IPv6Header describes a fixed IPv6 header.
type IPv6Header struct {
	Src, Dst   netip.Addr
	NextHeader uint8
	HopLimit   uint8 // 0 means 64
	FlowLabel  uint32
}

// Marshal returns the header followed by payload (which starts with any
// extension headers).
func (h IPv6Header) Marshal(payload []byte) []byte {
	if !h.Src.Is6() || h.Src.Is4In6() || !h.Dst.Is6() || h.Dst.Is4In6() {
		panic("pcapgen: IPv6Header needs IPv6 addresses")
	}
	b := make([]byte, 40, 40+len(payload))
	binary.BigEndian.PutUint32(b[0:4], 6<<28|h.FlowLabel&0xfffff)
	binary.BigEndian.PutUint16(b[4:6], uint16(len(payload)))
	b[6] = h.NextHeader
	b[7] = h.HopLimit
	if b[7] == 0 {
		b[7] = 64
	}
	s, d := h.Src.As16(), h.Dst.As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
	return append(b, payload...)
}

// IPv6Fragments splits payload (the fragmentable part: L4 header and data)
// into fragments carrying a fragment extension header with identification
// id, at most size payload bytes each (rounded down to a multiple of 8).
func IPv6Fragments(h IPv6Header, id uint32, payload []byte, size int) [][]byte {
	size &^= 7
	if size <= 0 {
		panic("pcapgen: fragment size must be at least 8")
	}
	var out [][]byte
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		out = append(out, IPv6Fragment(h, id, off, end < len(payload), payload[off:end]))
	}
	return out
}

// IPv6Fragment returns one IPv6 fragment: offset in bytes (a multiple of 8),
// more set on every fragment but the last.
func IPv6Fragment(h IPv6Header, id uint32, offset int, more bool, data []byte) []byte {
	fh := make([]byte, 8, 8+len(data))
	fh[0] = h.NextHeader
	om := uint16(offset) &^ 7
	if more {
		om |= 1
	}
	binary.BigEndian.PutUint16(fh[2:4], om)
	binary.BigEndian.PutUint32(fh[4:8], id)
	h.NextHeader = 44
	return h.Marshal(append(fh, data...))
}

// IP returns an IPv4 or IPv6 packet (by address family) with default header
// fields.
func IP(src, dst netip.Addr, proto uint8, payload []byte) []byte {
	if src.Is4() {
		return IPv4Header{Src: src, Dst: dst, Proto: proto}.Marshal(payload)
	}
	return IPv6Header{Src: src, Dst: dst, NextHeader: proto}.Marshal(payload)
}

// TCP returns a TCP segment (header without options, then payload) with its
// checksum computed over the pseudo-header of src and dst.
func TCP(src, dst netip.AddrPort, seq, ack uint32, flags uint8, window uint16, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(b[0:2], src.Port())
	binary.BigEndian.PutUint16(b[2:4], dst.Port())
	binary.BigEndian.PutUint32(b[4:8], seq)
	binary.BigEndian.PutUint32(b[8:12], ack)
	b[12] = 5 << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:16], window)
	b = append(b, payload...)
	binary.BigEndian.PutUint16(b[16:18], Checksum(b, pseudoHeaderSum(src.Addr(), dst.Addr(), ProtoTCP, len(b))))
	return b
}

// UDP returns a UDP datagram with its checksum.
func UDP(src, dst netip.AddrPort, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:2], src.Port())
	binary.BigEndian.PutUint16(b[2:4], dst.Port())
	binary.BigEndian.PutUint16(b[4:6], uint16(8+len(payload)))
	b = append(b, payload...)
	c := Checksum(b, pseudoHeaderSum(src.Addr(), dst.Addr(), ProtoUDP, len(b)))
	if c == 0 {
		c = 0xffff // 0 means "no checksum" in UDP
	}
	binary.BigEndian.PutUint16(b[6:8], c)
	return b
}

// ICMPv4 returns an ICMP message; rest is the 4-byte rest of header (for
// echo: identifier<<16 | sequence).
func ICMPv4(typ, code uint8, rest uint32, body []byte) []byte {
	b := make([]byte, 8, 8+len(body))
	b[0], b[1] = typ, code
	binary.BigEndian.PutUint32(b[4:8], rest)
	b = append(b, body...)
	binary.BigEndian.PutUint16(b[2:4], Checksum(b, 0))
	return b
}

// ICMPv6 returns an ICMPv6 message with its pseudo-header checksum.
func ICMPv6(src, dst netip.Addr, typ, code uint8, rest uint32, body []byte) []byte {
	b := make([]byte, 8, 8+len(body))
	b[0], b[1] = typ, code
	binary.BigEndian.PutUint32(b[4:8], rest)
	b = append(b, body...)
	binary.BigEndian.PutUint16(b[2:4], Checksum(b, pseudoHeaderSum(src, dst, ProtoICMPv6, len(b))))
	return b
}

// IPTCP returns an IP packet carrying a TCP segment.
func IPTCP(src, dst netip.AddrPort, seq, ack uint32, flags uint8, payload []byte) []byte {
	return IP(src.Addr(), dst.Addr(), ProtoTCP, TCP(src, dst, seq, ack, flags, 65535, payload))
}

// IPUDP returns an IP packet carrying a UDP datagram.
func IPUDP(src, dst netip.AddrPort, payload []byte) []byte {
	return IP(src.Addr(), dst.Addr(), ProtoUDP, UDP(src, dst, payload))
}

// Checksum returns the Internet checksum (RFC 1071) of b, starting from the
// partial sum initial (a pseudo-header sum, or 0).
func Checksum(b []byte, initial uint32) uint16 {
	sum := initial
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// OffloadPlaceholder is the TCP or UDP checksum field a host leaves for its
// NIC to complete (Linux CHECKSUM_PARTIAL): the folded sum of the
// pseudo-header alone, as captured on the sending host before offload.
func OffloadPlaceholder(src, dst netip.Addr, proto uint8, length int) uint16 {
	return ^Checksum(nil, pseudoHeaderSum(src, dst, proto, length))
}

func pseudoHeaderSum(src, dst netip.Addr, proto uint8, length int) uint32 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
	}
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		add(s[:])
		add(d[:])
	} else {
		s, d := src.As16(), dst.As16()
		add(s[:])
		add(d[:])
	}
	sum += uint32(proto) + uint32(length)&0xffff + uint32(length)>>16
	return sum
}
