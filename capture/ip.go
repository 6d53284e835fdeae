package capture

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers that are followed rather than reported.
const (
	protoIPIP     = 4
	protoIPv6     = 41
	protoGRE      = 47
	protoHopOpts  = 0
	protoRouting  = 43
	protoFragment = 44
	protoESP      = 50
	protoAH       = 51
	protoNoNext   = 59
	protoDstOpts  = 60
	protoMobility = 135
)

func (d *Decoder) decodeIPv4(b []byte, p *Packet, depth int) Result {
	if len(b) < 20 {
		return Truncated
	}
	if b[0]>>4 != 4 {
		return Malformed
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return Malformed
	}
	if len(b) < ihl {
		return Truncated
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	switch {
	case total == 0:
		// Segmentation offload: packets captured before the NIC splits them
		// carry total length 0; the captured bytes are the datagram, and
		// the NIC has yet to fill in its checksums.
		total = len(b)
		d.noL4Sum = true
	case total < ihl:
		return Malformed
	case total > len(b):
		p.Truncated = true
	}
	if !d.verifyIPv4(b[:ihl], binary.BigEndian.Uint16(b[6:8])&0x3fff != 0, p) {
		return BadChecksum // the host drops it before anything else
	}
	end := min(total, len(b)) // drops Ethernet padding after the datagram
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Proto = b[9]
	p.IPLen = total
	frag := binary.BigEndian.Uint16(b[6:8])
	if frag&0x3fff != 0 { // MF set or offset non-zero
		return d.defragIPv4(b[:ihl], b[ihl:end], total-ihl, p, depth)
	}
	return d.decodeL4(p.Proto, b[ihl:end], p, depth)
}

func (d *Decoder) decodeIPv6(b []byte, p *Packet, depth int) Result {
	if len(b) < 40 {
		return Truncated
	}
	if b[0]>>4 != 6 {
		return Malformed
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	if plen == 0 {
		// Jumbogram or segmentation offload: take what was captured.
		plen = len(b) - 40
		d.noL4Sum = true
	}
	total := 40 + plen
	if total > len(b) {
		p.Truncated = true
	}
	end := min(total, len(b))
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	p.IPLen = total
	return d.decodeIPv6Ext(b[6], b[40:end], p, depth, 40, true)
}

// decodeIPv6Ext walks the extension headers starting with next header nh.
// hdrLen is the bytes of IPv6 header already consumed (for IPLen of a
// reassembled datagram); allowFrag is false inside a reassembled datagram,
// where a second fragment header is malformed.
//
// The number of headers is not limited: Linux follows any chain that fits
// the packet (its max_dst_opts_number and max_hbh_opts_number sysctls count
// options inside one header, not headers), and each header is at least 8
// bytes, so the walk costs at most one step per 8 bytes of packet.
func (d *Decoder) decodeIPv6Ext(nh uint8, b []byte, p *Packet, depth, hdrLen int, allowFrag bool) Result {
	for {
		switch nh {
		case protoHopOpts, protoRouting, protoDstOpts, protoMobility:
			if len(b) < 8 {
				return d.setL4Trunc(nh, p)
			}
			n := (int(b[1]) + 1) * 8
			if len(b) < n {
				return d.setL4Trunc(nh, p)
			}
			if nh == protoRouting && b[3] != 0 {
				// Segments left: the pseudo-header's destination is the
				// final hop's, not the address in the header.
				d.noL4Sum = true
			}
			nh, b, hdrLen = b[0], b[n:], hdrLen+n
		case protoAH:
			if len(b) < 8 {
				return d.setL4Trunc(nh, p)
			}
			n := (int(b[1]) + 2) * 4
			if len(b) < n {
				return d.setL4Trunc(nh, p)
			}
			nh, b, hdrLen = b[0], b[n:], hdrLen+n
		case protoFragment:
			if len(b) < 8 {
				return d.setL4Trunc(nh, p)
			}
			offMF := binary.BigEndian.Uint16(b[2:4])
			if offMF&0xfff9 == 0 {
				// Atomic fragment (RFC 6946): offset 0, no more fragments.
				nh, b, hdrLen = b[0], b[8:], hdrLen+8
				continue
			}
			if !allowFrag {
				return Malformed
			}
			p.Proto = b[0]
			return d.defragIPv6(b[0], offMF, binary.BigEndian.Uint32(b[4:8]), b[8:], hdrLen, p, depth)
		default:
			p.Proto = nh
			return d.decodeL4(nh, b, p, depth)
		}
	}
}

// setL4Trunc records an IPv6 packet cut inside its extension headers.
func (d *Decoder) setL4Trunc(nh uint8, p *Packet) Result {
	p.Proto = nh
	p.Truncated = true
	return Truncated
}

// decodeL4 parses the transport header, or follows a tunnel.
func (d *Decoder) decodeL4(proto uint8, b []byte, p *Packet, depth int) Result {
	p.Proto = proto
	switch proto {
	case ProtoTCP:
		if len(b) < 20 {
			p.Truncated = true
			return Truncated
		}
		off := int(b[12]>>4) * 4
		if off < 20 {
			return Malformed
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		p.Seq = binary.BigEndian.Uint32(b[4:8])
		p.Ack = binary.BigEndian.Uint32(b[8:12])
		p.TCPFlags = b[13]
		p.Window = binary.BigEndian.Uint16(b[14:16])
		if len(b) < off { // options cut off: ports and flags are still good
			p.Truncated = true
			p.Payload = b[len(b):]
			return OK
		}
		if !p.Truncated && !d.noL4Sum && !d.verifyL4(b, 16, ProtoTCP, p, &d.stats.badTCPSum) {
			return BadChecksum
		}
		p.Payload = b[off:]
		return OK
	case ProtoUDP:
		if len(b) < 8 {
			p.Truncated = true
			return Truncated
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		ulen := int(binary.BigEndian.Uint16(b[4:6]))
		switch {
		case ulen == 0: // jumbogram or offload: the IP length rules
			ulen = len(b)
		case ulen < 8:
			return Malformed
		case ulen > len(b):
			p.Truncated = true
			ulen = len(b)
		}
		// A zero checksum is "none" over IPv4; over IPv6 it is invalid but
		// some tunnels use it (RFC 6935), so it is not held against the packet.
		if !p.Truncated && !d.noL4Sum && binary.BigEndian.Uint16(b[6:8]) != 0 &&
			!d.verifyL4(b[:ulen], 6, ProtoUDP, p, &d.stats.badUDPSum) {
			return BadChecksum
		}
		p.Payload = b[8:ulen]
		return d.decodeUDPTunnel(p, depth)
	case ProtoICMP, ProtoICMPv6:
		if len(b) < 4 {
			p.Truncated = true
			return Truncated
		}
		p.ICMPType, p.ICMPCode = b[0], b[1]
		// The body follows the 4-byte rest-of-header (id/seq, MTU, pointer…).
		p.Payload = b[min(8, len(b)):]
		if IsICMPError(proto == ProtoICMPv6, p.ICMPType) {
			decodeQuote(p.Payload, proto == ProtoICMPv6, &p.Quoted)
		}
		return OK
	case protoIPIP:
		if r := d.enterTunnel(TunnelIPIP, 0, p, &depth); r != OK {
			return r
		}
		return d.decodeIPv4(b, p, depth)
	case protoIPv6:
		if r := d.enterTunnel(TunnelIPIP, 0, p, &depth); r != OK {
			return r
		}
		return d.decodeIPv6(b, p, depth)
	case protoGRE:
		return d.decodeGRE(b, p, depth)
	}
	// Any other protocol (ESP, SCTP, OSPF, …) is still an IP packet the flow
	// table may account for; its payload is everything after the IP header.
	p.Payload = b
	return OK
}

// decodeQuote parses the packet an ICMP error quotes: an IPv4 or IPv6
// header (its version must match the ICMP's) followed by at least the 8
// bytes of TCP or UDP header that carry the ports. The quote's checksums and
// lengths are not checked: routers quote truncated and rewritten packets. On
// anything else q stays zero.
func decodeQuote(b []byte, v6 bool, q *Quote) {
	var l4 []byte
	var proto uint8
	switch {
	case !v6 && len(b) >= 20 && b[0]>>4 == 4:
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl || binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 {
			return // a non-first fragment quotes no transport header
		}
		proto = b[9]
		q.Src = netip.AddrFrom4([4]byte(b[12:16]))
		q.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		l4 = b[ihl:]
	case v6 && len(b) >= 40 && b[0]>>4 == 6:
		// Extension headers are not followed: an error quoting one names
		// no flow here.
		proto = b[6]
		q.Src = netip.AddrFrom16([16]byte(b[8:24]))
		q.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		l4 = b[40:]
	default:
		return
	}
	if (proto != ProtoTCP && proto != ProtoUDP) || len(l4) < 8 {
		*q = Quote{}
		return
	}
	q.Proto = proto
	q.SrcPort = binary.BigEndian.Uint16(l4[0:2])
	q.DstPort = binary.BigEndian.Uint16(l4[2:4])
	if proto == ProtoTCP {
		q.Seq = binary.BigEndian.Uint32(l4[4:8])
	}
}
