package capture

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

var (
	cli4 = netip.MustParseAddrPort("10.0.0.1:40000")
	srv4 = netip.MustParseAddrPort("192.0.2.10:80")
	cli6 = netip.MustParseAddrPort("[2001:db8::1]:40001")
	srv6 = netip.MustParseAddrPort("[2001:db8::2]:443")
	vtA  = netip.MustParseAddrPort("172.16.0.1:5555")
	vtB  = netip.MustParseAddrPort("172.16.0.2:4789")
)

func sll1(proto uint16, payload []byte) []byte {
	b := make([]byte, 16, 16+len(payload))
	binary.BigEndian.PutUint16(b[2:4], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(b[4:6], 6)
	binary.BigEndian.PutUint16(b[14:16], proto)
	return append(b, payload...)
}

func nullHdr(af uint32, bigEndian bool, ip []byte) []byte {
	b := make([]byte, 4, 4+len(ip))
	if bigEndian {
		binary.BigEndian.PutUint32(b, af)
	} else {
		binary.LittleEndian.PutUint32(b, af)
	}
	return append(b, ip...)
}

// want is the subset of Packet a decoder test checks.
type want struct {
	res       Result
	src, dst  netip.AddrPort
	proto     uint8
	flags     uint8
	payload   string
	vlans     []uint16
	tunnel    TunnelType
	tunnelID  uint32
	outerSrc  netip.Addr
	ipLen     int
	truncated bool
	icmp      [2]uint8
}

func tcpSyn(src, dst netip.AddrPort) []byte { return pcapgen.IPTCP(src, dst, 100, 0, pcapgen.SYN, nil) }

func decoderCases() []struct {
	name string
	link LinkType
	data []byte
	want want
} {
	tcp4 := pcapgen.IPTCP(cli4, srv4, 7, 9, pcapgen.PSH|pcapgen.ACK, []byte("GET /"))
	tcp6 := pcapgen.IPTCP(cli6, srv6, 7, 9, pcapgen.PSH|pcapgen.ACK, []byte("hello"))
	udp4 := pcapgen.IPUDP(cli4, srv4, []byte("dns?"))
	udp6 := pcapgen.IPUDP(cli6, srv6, []byte("dns6"))
	wTCP4 := want{res: OK, src: cli4, dst: srv4, proto: ProtoTCP, flags: TCPPsh | TCPAck, payload: "GET /", ipLen: len(tcp4)}
	wTCP6 := want{res: OK, src: cli6, dst: srv6, proto: ProtoTCP, flags: TCPPsh | TCPAck, payload: "hello", ipLen: len(tcp6)}
	wUDP4 := want{res: OK, src: cli4, dst: srv4, proto: ProtoUDP, payload: "dns?", ipLen: len(udp4)}
	syn := tcpSyn(cli4, srv4)
	wSyn := want{res: OK, src: cli4, dst: srv4, proto: ProtoTCP, flags: TCPSyn, ipLen: len(syn)}
	withTunnel := func(w want, t TunnelType, id uint32, outer netip.Addr) want {
		w.tunnel, w.tunnelID, w.outerSrc = t, id, outer
		return w
	}
	withVLAN := func(w want, v ...uint16) want { w.vlans = v; return w }
	ipOpts := pcapgen.IPv4Header{Src: cli4.Addr(), Dst: srv4.Addr(), Proto: ProtoUDP, Options: []byte{0x94, 4, 0, 0}}.
		Marshal(pcapgen.UDP(cli4, srv4, []byte("opt")))
	hbh := append([]byte{pcapgen.ProtoTCP, 0, 1, 4, 0, 0, 0, 0}, pcapgen.TCP(cli6, srv6, 7, 9, pcapgen.PSH|pcapgen.ACK, 1, []byte("hello"))...)
	rt := append([]byte{0, 0, 4, 0, 0, 0, 0, 0}, hbh...) // routing (type 4, no segments left) then hop-by-hop
	ext6 := pcapgen.IPv6Header{Src: cli6.Addr(), Dst: srv6.Addr(), NextHeader: 43}.Marshal(rt)
	atomic := pcapgen.IPv6Fragment(pcapgen.IPv6Header{Src: cli6.Addr(), Dst: srv6.Addr(), NextHeader: ProtoUDP}, 1, 0, false, pcapgen.UDP(cli6, srv6, []byte("atomic")))
	icmp4 := pcapgen.IP(cli4.Addr(), srv4.Addr(), ProtoICMP, pcapgen.ICMPv4(8, 0, 1, []byte("ping")))
	icmp6 := pcapgen.IP(cli6.Addr(), srv6.Addr(), ProtoICMPv6, pcapgen.ICMPv6(cli6.Addr(), srv6.Addr(), 128, 0, 1, []byte("ping6")))
	cut := append([]byte(nil), tcp4...)
	binary.BigEndian.PutUint16(cut[2:4], uint16(len(tcp4)+100)) // claims 100 bytes more than captured
	padded := append(pcapgen.EthernetIP(udp4), make([]byte, 20)...)
	innerEth := pcapgen.EthernetIP(syn)
	gre := pcapgen.IP(vtA.Addr(), vtB.Addr(), pcapgen.ProtoGRE, pcapgen.GRE(pcapgen.EtherIPv4, 44, true, syn))
	greTEB := pcapgen.IP(vtA.Addr(), vtB.Addr(), pcapgen.ProtoGRE, pcapgen.GRE(pcapgen.EtherTEB, 0, false, innerEth))
	vxlan := pcapgen.IPUDP(vtA, vtB, pcapgen.VXLAN(42, innerEth))
	geneveOpts := []byte{0, 0x80, 1, 1, 0, 0, 0, 0}
	geneve := pcapgen.IPUDP(vtA, netip.AddrPortFrom(vtB.Addr(), 6081), pcapgen.GENEVE(43, pcapgen.EtherTEB, geneveOpts, innerEth))
	geneveIP := pcapgen.IPUDP(vtA, netip.AddrPortFrom(vtB.Addr(), 6081), pcapgen.GENEVE(45, pcapgen.EtherIPv6, nil, tcp6))
	ipip := pcapgen.IP(vtA.Addr(), vtB.Addr(), pcapgen.ProtoIPIP, syn)
	sixin4 := pcapgen.IP(vtA.Addr(), vtB.Addr(), pcapgen.ProtoIPv6, tcp6)
	vxInVx := pcapgen.IPUDP(vtA, vtB, pcapgen.VXLAN(1, pcapgen.EthernetIP(vxlan)))
	erspan2 := append([]byte{0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1}, 0x10, 0x64, 0x00, 0x07, 0, 0, 0, 0) // seq, ver 1, vlan 100, session 7
	erspan2 = append(erspan2, innerEth...)
	erspan3 := append([]byte{0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1}, 0x20, 0, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 0, 0)
	erspan3 = append(erspan3, innerEth...)
	erspan1 := append([]byte{0x00, 0x00, 0x88, 0xbe}, innerEth...)
	mplsPW := pcapgen.MPLS([]uint32{16}, append([]byte{0, 0, 0, 0}, innerEth...))
	return []struct {
		name string
		link LinkType
		data []byte
		want want
	}{
		{"ethernet tcp4", LinkEthernet, pcapgen.EthernetIP(tcp4), wTCP4},
		{"ethernet tcp6", LinkEthernet, pcapgen.EthernetIP(tcp6), wTCP6},
		{"ethernet udp4 padded", LinkEthernet, padded, wUDP4},
		{"ethernet udp6", LinkEthernet, pcapgen.EthernetIP(udp6), want{res: OK, src: cli6, dst: srv6, proto: ProtoUDP, payload: "dns6", ipLen: len(udp6)}},
		{"ethernet icmp", LinkEthernet, pcapgen.EthernetIP(icmp4), want{res: OK, src: netip.AddrPortFrom(cli4.Addr(), 0), dst: netip.AddrPortFrom(srv4.Addr(), 0), proto: ProtoICMP, payload: "ping", ipLen: len(icmp4), icmp: [2]uint8{8, 0}}},
		{"ethernet icmpv6", LinkEthernet, pcapgen.EthernetIP(icmp6), want{res: OK, src: netip.AddrPortFrom(cli6.Addr(), 0), dst: netip.AddrPortFrom(srv6.Addr(), 0), proto: ProtoICMPv6, payload: "ping6", ipLen: len(icmp6), icmp: [2]uint8{128, 0}}},
		{"ipv4 options", LinkEthernet, pcapgen.EthernetIP(ipOpts), want{res: OK, src: cli4, dst: srv4, proto: ProtoUDP, payload: "opt", ipLen: len(ipOpts)}},
		{"ipv6 routing+hop-by-hop", LinkEthernet, pcapgen.EthernetIP(ext6), want{res: OK, src: cli6, dst: srv6, proto: ProtoTCP, flags: TCPPsh | TCPAck, payload: "hello", ipLen: len(ext6)}},
		{"ipv6 atomic fragment", LinkEthernet, pcapgen.EthernetIP(atomic), want{res: OK, src: cli6, dst: srv6, proto: ProtoUDP, payload: "atomic", ipLen: len(atomic)}},
		{"ipv4 total length beyond capture", LinkEthernet, pcapgen.EthernetIP(cut), want{res: OK, src: cli4, dst: srv4, proto: ProtoTCP, flags: TCPPsh | TCPAck, payload: "GET /", ipLen: len(tcp4) + 100, truncated: true}},
		{"vlan", LinkEthernet, pcapgen.EthernetIP(tcp4, 100), withVLAN(wTCP4, 100)},
		{"qinq", LinkEthernet, pcapgen.EthernetIP(tcp4, 200, 300), withVLAN(wTCP4, 200, 300)},
		{"three tags keep two", LinkEthernet, pcapgen.EthernetIP(tcp4, 1, 2, 3), withVLAN(wTCP4, 1, 2)},
		{"arp", LinkEthernet, pcapgen.Ethernet(pcapgen.ClientMAC, pcapgen.ServerMAC, pcapgen.EtherARP, make([]byte, 28)), want{res: NotIP}},
		{"802.3 llc", LinkEthernet, pcapgen.Ethernet(pcapgen.ClientMAC, pcapgen.ServerMAC, 0x0026, make([]byte, 38)), want{res: NotIP}},
		{"sll", LinkSLL, sll1(pcapgen.EtherIPv4, tcp4), wTCP4},
		{"sll2", LinkSLL2, pcapgen.SLL2(pcapgen.EtherIPv6, tcp6), wTCP6},
		{"raw ipv4", LinkRaw, tcp4, wTCP4},
		{"raw ipv6 dlt 12", LinkRawDLT12, tcp6, wTCP6},
		{"raw dlt 14", LinkRawDLT14, tcp4, wTCP4},
		{"linktype ipv4", LinkIPv4, tcp4, wTCP4},
		{"linktype ipv6", LinkIPv6, tcp6, wTCP6},
		{"null inet", LinkNull, nullHdr(2, false, tcp4), wTCP4},
		{"null inet6 darwin", LinkNull, nullHdr(30, false, tcp6), wTCP6},
		{"null inet6 big endian writer", LinkNull, nullHdr(24, true, tcp6), wTCP6},
		{"openbsd loop", LinkLoop, nullHdr(2, true, tcp4), wTCP4},
		{"unknown link type", LinkType(147), tcp4, want{res: Unsupported}},
		{"vxlan", LinkEthernet, pcapgen.EthernetIP(vxlan), withTunnel(wSyn, TunnelVXLAN, 42, vtA.Addr())},
		{"vxlan in vxlan keeps outermost", LinkEthernet, pcapgen.EthernetIP(vxInVx), withTunnel(wSyn, TunnelVXLAN, 1, vtA.Addr())},
		{"geneve ethernet", LinkEthernet, pcapgen.EthernetIP(geneve), withTunnel(wSyn, TunnelGENEVE, 43, vtA.Addr())},
		{"geneve ipv6", LinkEthernet, pcapgen.EthernetIP(geneveIP), withTunnel(wTCP6, TunnelGENEVE, 45, vtA.Addr())},
		{"gre key", LinkEthernet, pcapgen.EthernetIP(gre), withTunnel(wSyn, TunnelGRE, 44, vtA.Addr())},
		{"gre teb", LinkEthernet, pcapgen.EthernetIP(greTEB), withTunnel(wSyn, TunnelGRE, 0, vtA.Addr())},
		{"erspan I", LinkEthernet, pcapgen.EthernetIP(pcapgen.IP(vtA.Addr(), vtB.Addr(), pcapgen.ProtoGRE, erspan1)), withTunnel(wSyn, TunnelERSPAN, 0, vtA.Addr())},
		{"erspan II", LinkEthernet, pcapgen.EthernetIP(pcapgen.IP(vtA.Addr(), vtB.Addr(), pcapgen.ProtoGRE, erspan2)), withTunnel(wSyn, TunnelERSPAN, 7, vtA.Addr())},
		{"erspan III", LinkEthernet, pcapgen.EthernetIP(pcapgen.IP(vtA.Addr(), vtB.Addr(), pcapgen.ProtoGRE, erspan3)), withTunnel(wSyn, TunnelERSPAN, 9, vtA.Addr())},
		{"ipip", LinkEthernet, pcapgen.EthernetIP(ipip), withTunnel(wSyn, TunnelIPIP, 0, vtA.Addr())},
		{"6in4", LinkEthernet, pcapgen.EthernetIP(sixin4), withTunnel(wTCP6, TunnelIPIP, 0, vtA.Addr())},
		{"mpls", LinkEthernet, pcapgen.Ethernet(pcapgen.ClientMAC, pcapgen.ServerMAC, pcapgen.EtherMPLS, pcapgen.MPLS([]uint32{100, 200}, tcp4)), withTunnel(wTCP4, TunnelMPLS, 100, netip.Addr{})},
		{"mpls ipv6", LinkEthernet, pcapgen.Ethernet(pcapgen.ClientMAC, pcapgen.ServerMAC, pcapgen.EtherMPLS, pcapgen.MPLS([]uint32{3}, tcp6)), withTunnel(wTCP6, TunnelMPLS, 3, netip.Addr{})},
		{"mpls pseudowire", LinkEthernet, pcapgen.Ethernet(pcapgen.ClientMAC, pcapgen.ServerMAC, pcapgen.EtherMPLS, mplsPW), withTunnel(wSyn, TunnelMPLS, 16, netip.Addr{})},
		{"pppoe", LinkEthernet, pcapgen.Ethernet(pcapgen.ClientMAC, pcapgen.ServerMAC, pcapgen.EtherPPPoES, pcapgen.PPPoE(7, tcp4)), withTunnel(wTCP4, TunnelPPPoE, 7, netip.Addr{})},
		{"pppoe ipv6 in vlan", LinkEthernet, pcapgen.Ethernet(pcapgen.ClientMAC, pcapgen.ServerMAC, pcapgen.EtherPPPoES, pcapgen.PPPoE(8, tcp6), 5), withVLAN(withTunnel(wTCP6, TunnelPPPoE, 8, netip.Addr{}), 5)},
		{"truncated ethernet", LinkEthernet, pcapgen.EthernetIP(tcp4)[:10], want{res: Truncated}},
		{"ipv4 header cut", LinkRaw, tcp4[:19], want{res: Truncated}},
		{"ipv4 bad ihl", LinkRaw, append([]byte{0x44}, tcp4[1:]...), want{res: Malformed}},
		{"version mismatch", LinkIPv4, tcp6, want{res: Malformed}},
		{"tcp header cut", LinkRaw, tcp4[:30], want{res: Truncated, src: netip.AddrPortFrom(cli4.Addr(), 0), dst: netip.AddrPortFrom(srv4.Addr(), 0), proto: ProtoTCP, ipLen: len(tcp4), truncated: true}},
	}
}

func checkPacket(t *testing.T, name string, r Result, p *Packet, w want) {
	t.Helper()
	if r != w.res {
		t.Errorf("%s: result %v, want %v", name, r, w.res)
		return
	}
	if r != OK && w.src == (netip.AddrPort{}) {
		return
	}
	if got := netip.AddrPortFrom(p.Src, p.SrcPort); got != w.src {
		t.Errorf("%s: src %v, want %v", name, got, w.src)
	}
	if got := netip.AddrPortFrom(p.Dst, p.DstPort); got != w.dst {
		t.Errorf("%s: dst %v, want %v", name, got, w.dst)
	}
	if p.Proto != w.proto || p.TCPFlags != w.flags || string(p.Payload) != w.payload || p.IPLen != w.ipLen {
		t.Errorf("%s: proto=%d flags=%#x payload=%q iplen=%d, want proto=%d flags=%#x payload=%q iplen=%d",
			name, p.Proto, p.TCPFlags, p.Payload, p.IPLen, w.proto, w.flags, w.payload, w.ipLen)
	}
	if got := p.VLAN[:p.NVLAN]; string(u16s(got)) != string(u16s(w.vlans)) {
		t.Errorf("%s: vlans %v, want %v", name, got, w.vlans)
	}
	if p.Tunnel.Type != w.tunnel || p.Tunnel.ID != w.tunnelID || p.Tunnel.OuterSrc != w.outerSrc {
		t.Errorf("%s: tunnel %+v, want %v id %d outer %v", name, p.Tunnel, w.tunnel, w.tunnelID, w.outerSrc)
	}
	if p.Truncated != w.truncated {
		t.Errorf("%s: truncated %v, want %v", name, p.Truncated, w.truncated)
	}
	if p.ICMPType != w.icmp[0] || p.ICMPCode != w.icmp[1] {
		t.Errorf("%s: icmp %d/%d, want %v", name, p.ICMPType, p.ICMPCode, w.icmp)
	}
}

func u16s(v []uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint16(b, x)
	}
	return b
}

func TestDecode(t *testing.T) {
	for _, tc := range decoderCases() {
		t.Run(tc.name, func(t *testing.T) {
			stats := new(DecodeStats)
			d := NewDecoder(DecoderConfig{}, stats)
			var p Packet
			r := d.Decode(tc.data, Meta{TS: 1, CapLen: len(tc.data), WireLen: len(tc.data), LinkType: tc.link}, &p)
			checkPacket(t, tc.name, r, &p, tc.want)
			if stats.Result(r) != 1 {
				t.Errorf("result counter for %v is %d, want 1", r, stats.Result(r))
			}
			if tc.want.tunnel != TunnelNone && stats.Decaps(tc.want.tunnel) == 0 {
				t.Errorf("no decap counted for %v", tc.want.tunnel)
			}
		})
	}
}

func TestDecodeCountsExtraVLANs(t *testing.T) {
	stats := new(DecodeStats)
	d := NewDecoder(DecoderConfig{}, stats)
	f := pcapgen.EthernetIP(tcpSyn(cli4, srv4), 1, 2, 3, 4)
	var p Packet
	d.Decode(f, Meta{LinkType: LinkEthernet}, &p)
	if stats.ExtraVLANs() != 2 {
		t.Errorf("extra VLANs %d, want 2", stats.ExtraVLANs())
	}
}

func TestDecodeTunnelDepthLimit(t *testing.T) {
	frame := pcapgen.EthernetIP(tcpSyn(cli4, srv4))
	for range 3 {
		frame = pcapgen.EthernetIP(pcapgen.IPUDP(vtA, vtB, pcapgen.VXLAN(1, frame)))
	}
	tests := []struct {
		depth int
		want  Result
	}{{1, TooDeep}, {2, TooDeep}, {3, OK}, {0, OK}}
	for _, tc := range tests {
		d := NewDecoder(DecoderConfig{MaxTunnelDepth: tc.depth}, nil)
		var p Packet
		if r := d.Decode(frame, Meta{LinkType: LinkEthernet}, &p); r != tc.want {
			t.Errorf("depth %d: %v, want %v", tc.depth, r, tc.want)
		}
	}
}

func TestDecodeConfiguredPorts(t *testing.T) {
	inner := pcapgen.EthernetIP(tcpSyn(cli4, srv4))
	f := pcapgen.EthernetIP(pcapgen.IPUDP(vtA, netip.AddrPortFrom(vtB.Addr(), 8472), pcapgen.VXLAN(3, inner)))
	var p Packet
	for _, ports := range [][]uint16{nil, {}} {
		if r := NewDecoder(DecoderConfig{VXLANPorts: ports}, nil).Decode(f, Meta{LinkType: LinkEthernet}, &p); r != OK || p.Tunnel.Type != TunnelNone || p.DstPort != 8472 {
			t.Errorf("default ports: %v %+v, want plain UDP to 8472", r, p.Tunnel)
		}
	}
	d := NewDecoder(DecoderConfig{VXLANPorts: []uint16{8472}}, nil)
	if r := d.Decode(f, Meta{LinkType: LinkEthernet}, &p); r != OK || p.Tunnel.Type != TunnelVXLAN || p.Tunnel.ID != 3 {
		t.Errorf("port 8472 configured: %v %+v, want VXLAN 3", r, p.Tunnel)
	}
	off := NewDecoder(DecoderConfig{VXLANPorts: []uint16{0}}, nil)
	f = pcapgen.EthernetIP(pcapgen.IPUDP(vtA, vtB, pcapgen.VXLAN(3, inner)))
	if r := off.Decode(f, Meta{LinkType: LinkEthernet}, &p); r != OK || p.Tunnel.Type != TunnelNone {
		t.Errorf("VXLAN disabled: %v %+v, want plain UDP", r, p.Tunnel)
	}
}

// TestDecodeTruncatedEverywhere cuts every test frame at every length: the
// decoder must not panic, and must never report bytes it does not have.
func TestDecodeTruncatedEverywhere(t *testing.T) {
	d := NewDecoder(DecoderConfig{}, nil)
	var p Packet
	for _, tc := range decoderCases() {
		for n := 0; n <= len(tc.data); n++ {
			b := tc.data[:n:n]
			d.Decode(b, Meta{LinkType: tc.link, CapLen: n, WireLen: len(tc.data)}, &p)
			if len(p.Payload) > n {
				t.Fatalf("%s cut at %d: payload %d bytes", tc.name, n, len(p.Payload))
			}
		}
	}
}

// TestDecodeAllocs proves the per-packet path allocates nothing.
func TestDecodeAllocs(t *testing.T) {
	d := NewDecoder(DecoderConfig{}, nil)
	var p Packet
	for _, tc := range decoderCases() {
		m := Meta{LinkType: tc.link, CapLen: len(tc.data), WireLen: len(tc.data)}
		if a := testing.AllocsPerRun(100, func() { d.Decode(tc.data, m, &p) }); a != 0 {
			t.Errorf("%s: %v allocations per Decode", tc.name, a)
		}
	}
}

func TestResultNames(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Results() {
		s := r.String()
		if s == "" || s == "unknown" || seen[s] {
			t.Errorf("result %d has bad or duplicate name %q", r, s)
		}
		seen[s] = true
	}
	if Result(200).String() != "unknown" {
		t.Error("out-of-range result should be unknown")
	}
}
