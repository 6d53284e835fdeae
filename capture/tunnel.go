package capture

import "encoding/binary"

// greInUDPPort is RFC 8086 GRE-in-UDP.
const greInUDPPort = 4754

// maxMPLSLabels bounds the label-stack walk.
const maxMPLSLabels = 8

// enterTunnel is called before decoding an encapsulated packet: it checks
// the depth limit, records the outermost tunnel with the outer addresses, and
// clears the outer packet's L3/L4 fields so none leak into the inner one.
func (d *Decoder) enterTunnel(t TunnelType, id uint32, p *Packet, depth *int) Result {
	if *depth >= d.maxDepth {
		return TooDeep
	}
	*depth++
	d.stats.decaps[t].Add(1)
	keep := Packet{
		TS: p.TS, WireLen: p.WireLen, VLAN: p.VLAN, NVLAN: p.NVLAN,
		Tunnel: p.Tunnel, Truncated: p.Truncated, Reassembled: p.Reassembled,
		Checksum: p.Checksum, // an outer failure stands: the decapsulating host drops the packet
	}
	if keep.Tunnel.Type == TunnelNone {
		keep.Tunnel = TunnelInfo{Type: t, ID: id, OuterSrc: p.Src, OuterDst: p.Dst}
	}
	*p = keep
	return OK
}

func portIn(port uint16, ports []uint16) bool {
	for _, x := range ports {
		if x == port {
			return true
		}
	}
	return false
}

// decodeUDPTunnel looks at a decoded UDP packet and decapsulates it if a
// port names a tunnel and the header agrees; otherwise the UDP packet stands.
func (d *Decoder) decodeUDPTunnel(p *Packet, depth int) Result {
	b := p.Payload
	switch {
	case portIn(p.DstPort, d.vxlanPorts) || portIn(p.SrcPort, d.vxlanPorts):
		// flags (I bit = VNI valid), 3 reserved, VNI, reserved. Either port
		// counts, as in Wireshark: some VTEPs reply from 4789 to a hashed port.
		if len(b) < 8 || b[0]&0x08 == 0 || b[7] != 0 {
			return OK
		}
		vni := uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])
		if r := d.enterTunnel(TunnelVXLAN, vni, p, &depth); r != OK {
			return r
		}
		return d.decodeEthernet(b[8:], p, depth)
	case portIn(p.DstPort, d.genevePorts) || portIn(p.SrcPort, d.genevePorts):
		// ver(2) optlen(6), flags, protocol, VNI(24), reserved, options
		if len(b) < 8 || b[0]>>6 != 0 {
			return OK
		}
		hl := 8 + int(b[0]&0x3f)*4
		if len(b) < hl {
			p.Truncated = true
			return Truncated
		}
		proto := binary.BigEndian.Uint16(b[2:4])
		vni := uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])
		if r := d.enterTunnel(TunnelGENEVE, vni, p, &depth); r != OK {
			return r
		}
		if proto == etherTEB {
			return d.decodeEthernet(b[hl:], p, depth)
		}
		return d.decodeEtherType(proto, b[hl:], p, depth)
	case p.DstPort == greInUDPPort:
		return d.decodeGRE(b, p, depth)
	}
	return OK
}

// GRE flag bits (RFC 2784/2890, RFC 2637 for version 1).
const (
	greChecksum = 0x8000
	greRouting  = 0x4000
	greKey      = 0x2000
	greSeq      = 0x1000
	greAck      = 0x0080 // version 1 (PPTP) only
)

func (d *Decoder) decodeGRE(b []byte, p *Packet, depth int) Result {
	if len(b) < 4 {
		p.Truncated = true
		return Truncated
	}
	flags := binary.BigEndian.Uint16(b[0:2])
	proto := binary.BigEndian.Uint16(b[2:4])
	ver := flags & 0x7
	if ver > 1 || flags&greRouting != 0 {
		// Source routing (RFC 1701) is deprecated and never seen in practice.
		return Unsupported
	}
	hl := 4
	if flags&greChecksum != 0 {
		hl += 4
	}
	var key uint32
	keyAt := -1
	if flags&greKey != 0 {
		keyAt = hl
		hl += 4
	}
	if flags&greSeq != 0 {
		hl += 4
	}
	if ver == 1 && flags&greAck != 0 {
		hl += 4
	}
	if len(b) < hl {
		p.Truncated = true
		return Truncated
	}
	if keyAt >= 0 {
		key = binary.BigEndian.Uint32(b[keyAt : keyAt+4])
		if ver == 1 {
			// Enhanced GRE (PPTP, RFC 2637): payload length, then call id.
			key &= 0xffff
		}
	}
	b = b[hl:]
	switch proto {
	case etherERSPAN2:
		if flags&greSeq == 0 {
			// ERSPAN type I: no sequence number and no ERSPAN header.
			if r := d.enterTunnel(TunnelERSPAN, 0, p, &depth); r != OK {
				return r
			}
			return d.decodeEthernet(b, p, depth)
		}
		if len(b) < 8 {
			p.Truncated = true
			return Truncated
		}
		session := uint32(binary.BigEndian.Uint16(b[2:4]) & 0x3ff)
		if r := d.enterTunnel(TunnelERSPAN, session, p, &depth); r != OK {
			return r
		}
		return d.decodeEthernet(b[8:], p, depth)
	case etherERSPAN3:
		if len(b) < 12 {
			p.Truncated = true
			return Truncated
		}
		session := uint32(binary.BigEndian.Uint16(b[2:4]) & 0x3ff)
		hl := 12
		if b[11]&0x01 != 0 { // O bit: platform-specific sub-header follows
			hl += 8
		}
		if len(b) < hl {
			p.Truncated = true
			return Truncated
		}
		if ft := (b[10] >> 2) & 0x1f; ft != 0 { // frame type 0 is Ethernet
			return Unsupported
		}
		if r := d.enterTunnel(TunnelERSPAN, session, p, &depth); r != OK {
			return r
		}
		return d.decodeEthernet(b[hl:], p, depth)
	}
	if r := d.enterTunnel(TunnelGRE, key, p, &depth); r != OK {
		return r
	}
	switch proto {
	case etherTEB:
		return d.decodeEthernet(b, p, depth)
	case etherPPP:
		return d.decodePPP(b, p, depth)
	}
	return d.decodeEtherType(proto, b, p, depth)
}

// decodeMPLS walks the label stack and guesses the payload from its first
// nibble, as every MPLS-aware sensor does: the stack does not say.
func (d *Decoder) decodeMPLS(b []byte, p *Packet, depth int) Result {
	if len(b) < 4 {
		return Truncated
	}
	top := binary.BigEndian.Uint32(b[0:4]) >> 12
	if r := d.enterTunnel(TunnelMPLS, top, p, &depth); r != OK {
		return r
	}
	for i := 0; ; i++ {
		if i == maxMPLSLabels {
			return Malformed
		}
		if len(b) < 4 {
			return Truncated
		}
		bottom := b[2]&0x01 != 0
		b = b[4:]
		if bottom {
			break
		}
	}
	if len(b) < 1 {
		return Truncated
	}
	switch b[0] >> 4 {
	case 4:
		return d.decodeIPv4(b, p, depth)
	case 6:
		return d.decodeIPv6(b, p, depth)
	case 0:
		// Pseudowire control word (RFC 4385), then the emulated Ethernet.
		if len(b) < 4 {
			return Truncated
		}
		return d.decodeEthernet(b[4:], p, depth)
	}
	return Unsupported
}

// decodePPPoE handles a PPPoE session frame (RFC 2516).
func (d *Decoder) decodePPPoE(b []byte, p *Packet, depth int) Result {
	if len(b) < 6 {
		return Truncated
	}
	if b[0] != 0x11 || b[1] != 0 { // version 1, type 1, code 0 (session data)
		return Malformed
	}
	session := uint32(binary.BigEndian.Uint16(b[2:4]))
	n := int(binary.BigEndian.Uint16(b[4:6]))
	b = b[6:]
	if n < len(b) {
		b = b[:n] // Ethernet padding
	}
	if r := d.enterTunnel(TunnelPPPoE, session, p, &depth); r != OK {
		return r
	}
	return d.decodePPP(b, p, depth)
}

// decodePPP strips a PPP header (optional address/control, 1- or 2-byte
// protocol) and follows IPv4 and IPv6.
func (d *Decoder) decodePPP(b []byte, p *Packet, depth int) Result {
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) < 1 {
		return Truncated
	}
	var proto uint16
	if b[0]&0x01 != 0 { // protocol field compression: one byte
		proto, b = uint16(b[0]), b[1:]
	} else {
		if len(b) < 2 {
			return Truncated
		}
		proto, b = binary.BigEndian.Uint16(b[0:2]), b[2:]
	}
	switch proto {
	case 0x0021:
		return d.decodeIPv4(b, p, depth)
	case 0x0057:
		return d.decodeIPv6(b, p, depth)
	}
	return NotIP
}
