package filter

import (
	"fmt"
	"net/netip"

	"golang.org/x/net/bpf"
)

// Ethertypes and IP protocol numbers the generator uses.
const (
	etherIP     = 0x0800
	etherARP    = 0x0806
	etherRARP   = 0x8035
	etherIPv6   = 0x86dd
	ether8021Q  = 0x8100
	ether8021AD = 0x88a8
	etherQinQ   = 0x9100
	etherMTU    = 1500

	ipprotoICMP   = 1
	ipprotoIGMP   = 2
	ipprotoTCP    = 6
	ipprotoUDP    = 17
	ipprotoFrag   = 44 // IPv6 fragment header
	ipprotoICMPv6 = 58
	ipprotoSCTP   = 132
	protoUndef    = -1
)

// Protocol qualifiers (libpcap's Q_LINK, Q_IP ...).
type protoQ uint8

const (
	pDefault protoQ = iota
	pLink
	pIP
	pIP6
	pARP
	pRARP
	pTCP
	pUDP
	pSCTP
	pICMP
	pICMP6
	pIGMP
)

var protoNames = map[string]protoQ{
	"ether": pLink, "link": pLink, "ip": pIP, "ip6": pIP6, "arp": pARP, "rarp": pRARP,
	"tcp": pTCP, "udp": pUDP, "sctp": pSCTP, "icmp": pICMP, "icmp6": pICMP6, "igmp": pIGMP,
}

func (p protoQ) String() string {
	for k, v := range protoNames {
		if v == p && k != "link" {
			return k
		}
	}
	return "default"
}

// Direction qualifiers.
type dirQ uint8

const (
	dDefault dirQ = iota
	dSrc
	dDst
	dOr
	dAnd
)

// Address-type qualifiers.
type addrQ uint8

const (
	aDefault addrQ = iota
	aHost
	aNet
	aPort
	aPortRange
	aProto
)

// qual is the qualifier set in force for an id, reused by tcpdump's
// abbreviation rule ("host a or b"). valid is false after primitives that
// leave nothing to reuse (libpcap's qerr).
type qual struct {
	proto protoQ
	dir   dirQ
	addr  addrQ
	valid bool
}

// gen holds the compile-time state libpcap keeps in its compiler_state:
// the link type and the offsets, which "vlan" moves for everything parsed
// after it.
type gen struct {
	link        LinkType
	offLinkType int // -1: the link layer has no type field
	offPL       uint32
	kernelVLAN  bool // Options.KernelVLAN
	varShift    bool // a kernel-mode vlan was generated: later loads shift at run time
}

func newGen(lt LinkType, kernelVLAN bool) (*gen, error) {
	switch lt {
	case LinkEthernet:
		return &gen{link: lt, offLinkType: 12, offPL: 14, kernelVLAN: kernelVLAN}, nil
	case LinkLinuxSLL:
		return &gen{link: lt, offLinkType: 14, offPL: 16}, nil
	case LinkRaw:
		return &gen{link: lt, offLinkType: -1, offPL: 0}, nil
	}
	return nil, fmt.Errorf("filter: unsupported link type %d", uint32(lt))
}

// mark applies the run-time VLAN shift to a primitive generated after a
// kernel-mode vlan.
func (g *gen) mark(n *node, err error) (*node, error) {
	if err == nil && g.varShift {
		setShift(n)
	}
	return n, err
}

// semErr is a semantic error; the parser adds the position.
type semErr string

func (e semErr) Error() string { return string(e) }

func semf(format string, args ...any) error { return semErr(fmt.Sprintf(format, args...)) }

// linktype tests the link-layer protocol field (gen_linktype).
func (g *gen) linktype(proto uint32) (*node, error) {
	switch g.link {
	case LinkEthernet:
		switch proto {
		case 0x06, 0xfe, 0xf0, 0x809b, 0x80f3: // LLC IP, ISO, NetBEUI, AppleTalk, AARP
			return nil, semf("ether proto 0x%x is not supported", proto)
		}
		lt := uint32(g.offLinkType)
		if proto <= etherMTU {
			// An 802.3 length field followed by this LLC DSAP.
			return and(not(cmpOp(lt, 2, bpf.JumpGreaterThan, etherMTU)), cmp(lt+2, 1, proto)), nil
		}
		return cmp(lt, 2, proto), nil
	case LinkLinuxSLL:
		switch proto {
		case 0x06, 0xfe, 0xf0, 0x809b, 0x80f3:
			return nil, semf("ether proto 0x%x is not supported on %s", proto, g.link)
		}
		if proto <= etherMTU {
			// 802.2 frames (LINUX_SLL_P_802_2) with this DSAP.
			return and(cmp(uint32(g.offLinkType), 2, 0x0004), cmp(g.offPL, 1, proto)), nil
		}
		return cmp(uint32(g.offLinkType), 2, proto), nil
	default: // raw IP: only the IP version nibble tells
		switch proto {
		case etherIP:
			return mcmp(0, 1, 0x40, 0xf0), nil
		case etherIPv6:
			return mcmp(0, 1, 0x60, 0xf0), nil
		}
		return falseNode, nil
	}
}

// lt is linktype for the fixed ethertypes the generator itself uses, which
// never fail.
func (g *gen) lt(proto uint32) *node {
	n, err := g.linktype(proto)
	if err != nil {
		panic("filter: internal ethertype rejected: " + err.Error())
	}
	return n
}

func (g *gen) protoIP(v uint32) *node {
	return and(g.lt(etherIP), cmp(g.offPL+9, 1, v))
}

// protoIP6 checks the fixed header's next header, or a fragment header
// followed by v, as libpcap 1.10 does.
func (g *gen) protoIP6(v uint32) *node {
	frag := and(cmp(g.offPL+6, 1, ipprotoFrag), cmp(g.offPL+40, 1, v))
	return and(g.lt(etherIPv6), or(cmp(g.offPL+6, 1, v), frag))
}

// proto implements "[ip|ip6|ether] proto N".
func (g *gen) proto(v uint32, p protoQ) (*node, error) {
	switch p {
	case pDefault:
		return or(g.protoIP(v), g.protoIP6(v)), nil
	case pIP:
		return g.protoIP(v), nil
	case pIP6:
		return g.protoIP6(v), nil
	case pLink:
		if v > 0xffff {
			return nil, semf("ether proto %d out of range", v)
		}
		return g.linktype(v)
	}
	return nil, semf("'%s' modifier applied to proto", p)
}

// abbrev is a protocol keyword used alone ("tcp", "ip6", "arp").
func (g *gen) abbrev(p protoQ) (*node, error) {
	switch p {
	case pIP:
		return g.lt(etherIP), nil
	case pIP6:
		return g.lt(etherIPv6), nil
	case pARP:
		return g.lt(etherARP), nil
	case pRARP:
		return g.lt(etherRARP), nil
	case pTCP:
		return or(g.protoIP(ipprotoTCP), g.protoIP6(ipprotoTCP)), nil
	case pUDP:
		return or(g.protoIP(ipprotoUDP), g.protoIP6(ipprotoUDP)), nil
	case pSCTP:
		return or(g.protoIP(ipprotoSCTP), g.protoIP6(ipprotoSCTP)), nil
	case pICMP:
		return g.protoIP(ipprotoICMP), nil
	case pIGMP:
		return g.protoIP(ipprotoIGMP), nil
	case pICMP6:
		return g.protoIP6(ipprotoICMPv6), nil
	}
	return nil, semf("link layer applied in wrong context")
}

func byDir(d dirQ, src, dst *node) *node {
	switch d {
	case dSrc:
		return src
	case dDst:
		return dst
	case dAnd:
		return and(src, dst)
	}
	return or(src, dst)
}

// hostop compares the 32-bit address at srcOff/dstOff of the network layer.
func (g *gen) hostop(addr, mask uint32, d dirQ, ethertype uint32, srcOff, dstOff uint32) *node {
	return and(g.lt(ethertype), byDir(d,
		mcmp(g.offPL+srcOff, 4, addr, mask), mcmp(g.offPL+dstOff, 4, addr, mask)))
}

// host implements IPv4 host and net primitives (gen_host): without a
// protocol qualifier they also match ARP and RARP sender/target addresses.
func (g *gen) host(addr, mask uint32, p protoQ, d dirQ, what string) (*node, error) {
	switch p {
	case pDefault:
		n := or(g.hostop(addr, mask, d, etherIP, 12, 16), g.hostop(addr, mask, d, etherARP, 14, 24))
		return or(n, g.hostop(addr, mask, d, etherRARP, 14, 24)), nil
	case pIP:
		return g.hostop(addr, mask, d, etherIP, 12, 16), nil
	case pARP:
		return g.hostop(addr, mask, d, etherARP, 14, 24), nil
	case pRARP:
		return g.hostop(addr, mask, d, etherRARP, 14, 24), nil
	case pLink:
		return nil, semf("link-layer modifier applied to %s", what)
	case pIP6:
		return nil, semf("'ip6' modifier applied to ip %s", what)
	}
	return nil, semf("'%s' modifier applied to %s", p, what)
}

// host6 implements IPv6 host and net primitives.
func (g *gen) host6(addr netip.Addr, bits int, p protoQ, d dirQ, what string) (*node, error) {
	switch p {
	case pDefault, pIP6:
	case pIP:
		return nil, semf("'ip' modifier applied to ip6 %s", what)
	case pLink:
		return nil, semf("link-layer modifier applied to %s", what)
	default:
		return nil, semf("'%s' modifier applied to %s", p, what)
	}
	a := addr.As16()
	words := func(off uint32) *node {
		n := trueNode
		for i := 3; i >= 0; i-- {
			w := uint32(a[4*i])<<24 | uint32(a[4*i+1])<<16 | uint32(a[4*i+2])<<8 | uint32(a[4*i+3])
			n = and(n, mcmp(g.offPL+off+uint32(4*i), 4, w, prefixMask(bits-32*i)))
		}
		return n
	}
	return and(g.lt(etherIPv6), byDir(d, words(8), words(24))), nil
}

// prefixMask is the mask of a prefix of n bits within one 32-bit word.
func prefixMask(n int) uint32 {
	switch {
	case n <= 0:
		return 0
	case n >= 32:
		return 0xffffffff
	}
	return 0xffffffff << (32 - n)
}

// portAtom4 reads a 16-bit port behind the IPv4 header, whose length comes
// from the IHL nibble, like libpcap's "ldxb 4*([14]&0xf)".
func (g *gen) portAtom4(off uint32, op bpf.JumpTest, port uint32) *node {
	return leaf(test{mode: ldInd, size: 2, xoff: g.offPL, off: g.offPL + off, op: op, k: port})
}

func (g *gen) portAtom6(off uint32, op bpf.JumpTest, port uint32) *node {
	return cmpOp(g.offPL+40+off, 2, op, port)
}

// rng builds "lo <= port <= hi" from an atom maker.
func rng(atom func(off uint32, op bpf.JumpTest, port uint32) *node, off, lo, hi uint32) *node {
	if lo == hi {
		return atom(off, bpf.JumpEqual, lo)
	}
	return and(atom(off, bpf.JumpGreaterOrEqual, lo), not(atom(off, bpf.JumpGreaterThan, hi)))
}

// portProto maps a port primitive's protocol qualifier to the IP protocols
// it covers.
func portProto(p protoQ, what string) ([]uint32, error) {
	switch p {
	case pDefault:
		return []uint32{ipprotoTCP, ipprotoUDP, ipprotoSCTP}, nil
	case pTCP:
		return []uint32{ipprotoTCP}, nil
	case pUDP:
		return []uint32{ipprotoUDP}, nil
	case pSCTP:
		return []uint32{ipprotoSCTP}, nil
	}
	return nil, semf("illegal qualifier of '%s'", what)
}

// ports implements port and portrange: IPv4 non-first fragments never
// match, IPv6 ports are only found right after the fixed header.
func (g *gen) ports(lo, hi uint32, p protoQ, d dirQ, what string) (*node, error) {
	protos, err := portProto(p, what)
	if err != nil {
		return nil, err
	}
	if lo > 65535 || hi > 65535 {
		return nil, semf("illegal port number %d > 65535", max(lo, hi))
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	// libpcap tests the ports once per protocol; the port tests do not
	// depend on which protocol matched, so testing them once after
	// "tcp or udp or sctp" is the same filter in a third of the code.
	notFrag := not(cmpOp(g.offPL+6, 2, bpf.JumpBitsSet, 0x1fff))
	var p4, p6 *node = falseNode, falseNode
	for _, pr := range protos {
		p4 = or(p4, cmp(g.offPL+9, 1, pr))
		p6 = or(p6, cmp(g.offPL+6, 1, pr))
	}
	v4 := and(and(p4, notFrag), byDir(d, rng(g.portAtom4, 0, lo, hi), rng(g.portAtom4, 2, lo, hi)))
	v6 := and(p6, byDir(d, rng(g.portAtom6, 0, lo, hi), rng(g.portAtom6, 2, lo, hi)))
	return or(and(g.lt(etherIP), v4), and(g.lt(etherIPv6), v6)), nil
}

// ehost implements ether host/src/dst (offsets in the link header are not
// moved by vlan).
func (g *gen) ehost(mac [6]byte, p protoQ, d dirQ) (*node, error) {
	if p != pLink {
		return nil, semf("ethernet address used in non-ether expression")
	}
	if g.link != LinkEthernet {
		return nil, semf("ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel")
	}
	at := func(off uint32) *node {
		w := uint32(mac[2])<<24 | uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5])
		return and(cmp(off+2, 4, w), cmp(off, 2, uint32(mac[0])<<8|uint32(mac[1])))
	}
	return byDir(d, at(6), at(0)), nil
}

// vlan implements "vlan [id]" for frames whose tags are in the packet data
// (offline captures), then moves every later offset past the tag.
func (g *gen) vlan(id uint32, hasID bool) (*node, error) {
	if g.link != LinkEthernet {
		return nil, semf("no VLAN support for %s", g.link)
	}
	if hasID && id > 0x0fff {
		return nil, semf("VLAN tag %d greater than maximum 4095", id)
	}
	lt := uint32(g.offLinkType)
	n := or(or(cmp(lt, 2, ether8021Q), cmp(lt, 2, ether8021AD)), cmp(lt, 2, etherQinQ))
	if g.kernelVLAN && !g.varShift {
		// Live AF_PACKET: the kernel has usually removed the outer tag
		// from the data and reports it as metadata; libpcap then tests
		// the metadata or, failing that, a tag still in the frame, and
		// later offsets move by 4 only in the second case.
		present := leaf(test{mode: ldExt, ext: bpf.ExtVLANTagPresent, op: bpf.JumpEqual, k: 1})
		n = or(present, n)
		if hasID {
			tci := leaf(test{mode: ldExt, ext: bpf.ExtVLANTag, mask: 0x0fff, hasMask: true, op: bpf.JumpEqual, k: id})
			n = and(n, or(and(present, tci), and(not(present), mcmp(lt+2, 2, id, 0x0fff))))
		}
		g.varShift = true
		return n, nil
	}
	if hasID {
		n = and(n, mcmp(lt+2, 2, id, 0x0fff))
	}
	n, _ = g.mark(n, nil)
	g.offLinkType += 4
	g.offPL += 4
	return n, nil
}

// length implements less (len <= n) and greater (len >= n) on the wire
// length.
func length(n uint32, greater bool) *node {
	if greater {
		return leaf(test{mode: ldLen, op: bpf.JumpGreaterOrEqual, k: n})
	}
	return not(leaf(test{mode: ldLen, op: bpf.JumpGreaterThan, k: n}))
}
