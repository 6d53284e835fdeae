package capture

import (
	"net/netip"
)

// IP protocol numbers the pipeline cares about.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// TCP flag bits as they appear in the TCP header's flags byte.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
)

// Packet is one decoded packet: a value the caller owns and reuses, filled by
// Decoder.Decode. It holds only what the flow table, reassembly and app
// parsers need. Payload points into the frame (or the defragmenter's buffer)
// and is valid only until the next Decode on the same Decoder; whoever keeps
// it past that must copy it.
type Packet struct {
	TS      int64 // packet time, Unix nanoseconds
	WireLen int   // length on the wire of the outer frame
	IPLen   int   // IP header + payload length of the (inner) IP packet, after defragmentation

	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // ICMP: type and code are in ICMPType/ICMPCode, ports are 0
	Proto            uint8  // IP protocol number of the (inner) packet

	TCPFlags uint8
	Seq, Ack uint32
	Window   uint16

	ICMPType, ICMPCode uint8

	// Quoted is the flow an ICMP or ICMPv6 error (destination unreachable,
	// time exceeded) quotes: the inner IP header and the first 8 bytes of
	// its TCP or UDP header, oriented as the quoted packet was sent. Its
	// Proto is 0 when the packet is not such an error or the quote is too
	// short to name a flow.
	Quoted Quote

	VLAN  [MaxVLANs]uint16 // VLAN ids, outermost first
	NVLAN uint8

	Tunnel TunnelInfo // outermost encapsulation; Type==TunnelNone when none

	// Truncated is set when the capture cut the packet short (caplen < wire
	// length) or a header claimed more bytes than were present; the packet is
	// still counted but its payload may be short.
	Truncated bool
	// Reassembled is set when the packet was rebuilt from IP fragments.
	Reassembled bool
	// Checksum is the verdict on the packet's checksums (see ChecksumMode):
	// the flow table drops a ChecksumBad packet in a direction that carried
	// good ones before.
	Checksum ChecksumState

	Payload []byte // L4 payload (TCP/UDP data, ICMP body)

	// Frame is the captured frame the packet was decoded from (the last
	// fragment's for a reassembled datagram) and Link its link type, set
	// only when DecoderConfig.KeepFrames is (alert pcaps): nil otherwise.
	// Like Payload it is valid only until the next Decode.
	Frame []byte
	Link  LinkType
}

// Quote is the 5-tuple of the packet an ICMP error quotes. Only the first 8
// bytes of the transport header are needed (RFC 792 guarantees no more):
// for TCP the ports and the sequence number, for UDP the ports.
type Quote struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8  // ProtoTCP or ProtoUDP; 0: no quote
	Seq              uint32 // TCP only
}

// IsICMPError reports whether an ICMP (v4 when !v6) type is an error that
// quotes the offending packet and refuses or ends its flow: destination
// unreachable and time exceeded.
func IsICMPError(v6 bool, typ uint8) bool {
	if v6 {
		return typ == 1 || typ == 3
	}
	return typ == 3 || typ == 11
}

// QuotedHash is the FlowHash of the flow an ICMP error quotes (p.Quoted;
// meaningless when its Proto is 0), so a dispatcher can also hand the error
// to the worker that owns that flow.
func (p *Packet) QuotedHash() uint32 {
	q := &p.Quoted
	return flowHash(q.Src, q.Dst, q.SrcPort, q.DstPort, q.Proto)
}

// MaxVLANs is how many VLAN tags a Packet keeps (802.1ad outer + 802.1Q inner).
const MaxVLANs = 2

// TunnelType names an encapsulation tapdlp decapsulates.
type TunnelType uint8

// Tunnel types.
const (
	TunnelNone TunnelType = iota
	TunnelVXLAN
	TunnelGENEVE
	TunnelGRE
	TunnelERSPAN
	TunnelIPIP
	TunnelMPLS
	TunnelPPPoE
)

var tunnelNames = [...]string{"", "vxlan", "geneve", "gre", "erspan", "ipip", "mpls", "pppoe"}

// String returns the record identifier of the tunnel type ("" for none).
func (t TunnelType) String() string {
	if int(t) < len(tunnelNames) {
		return tunnelNames[t]
	}
	return "unknown"
}

// TunnelInfo records the outermost tunnel a packet was carried in.
type TunnelInfo struct {
	Type               TunnelType
	ID                 uint32 // VNI, GRE key, ERSPAN session id, MPLS label, PPPoE session
	OuterSrc, OuterDst netip.Addr
}

// FlowHash returns a symmetric hash of the packet's 5-tuple: both directions of
// a flow hash alike, so a dispatcher can send them to the same worker. It does
// not allocate.
func (p *Packet) FlowHash() uint32 {
	return flowHash(p.Src, p.Dst, p.SrcPort, p.DstPort, p.Proto)
}

func flowHash(a, b netip.Addr, pa, pb uint16, proto uint8) uint32 {
	if b.Less(a) || (a == b && pb < pa) {
		a, b = b, a
		pa, pb = pb, pa
	}
	h := uint32(2166136261)
	mix := func(x uint32) {
		h ^= x
		h *= 16777619
	}
	a16, b16 := a.As16(), b.As16()
	for i := 0; i < 16; i += 4 {
		mix(uint32(a16[i])<<24 | uint32(a16[i+1])<<16 | uint32(a16[i+2])<<8 | uint32(a16[i+3]))
		mix(uint32(b16[i])<<24 | uint32(b16[i+1])<<16 | uint32(b16[i+2])<<8 | uint32(b16[i+3]))
	}
	mix(uint32(pa)<<16 | uint32(pb))
	mix(uint32(proto))
	// final avalanche so the low bits (used for modulo) are well mixed
	h ^= h >> 16
	h *= 0x7feb352d
	h ^= h >> 15
	h *= 0x846ca68b
	h ^= h >> 16
	return h
}
