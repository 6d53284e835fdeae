package capture

import (
	"net/netip"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

var router4 = netip.MustParseAddr("192.0.2.254")
var router6 = netip.MustParseAddr("2001:db8::fe")

// icmpErr wraps the first n bytes of quoted (an IP packet) in an ICMP
// (router4) or ICMPv6 (router6) message of type/code to quoted's sender.
func icmpErr(v6 bool, typ, code uint8, quoted []byte, n int) []byte {
	q := quoted[:min(n, len(quoted))]
	if v6 {
		return pcapgen.IP(router6, cli6.Addr(), ProtoICMPv6, pcapgen.ICMPv6(router6, cli6.Addr(), typ, code, 0, q))
	}
	return pcapgen.IP(router4, cli4.Addr(), ProtoICMP, pcapgen.ICMPv4(typ, code, 0, q))
}

type quoteCase struct {
	name string
	ip   []byte
	want Quote
}

func quoteCases() []quoteCase {
	syn4 := pcapgen.IPTCP(cli4, srv4, 0x01020304, 0, TCPSyn, nil)
	udp4 := pcapgen.IPUDP(cli4, srv4, []byte("query"))
	syn6 := pcapgen.IPTCP(cli6, srv6, 0x0a0b0c0d, 0, TCPSyn, nil)
	udp6 := pcapgen.IPUDP(cli6, srv6, []byte("query"))
	frag4 := append([]byte(nil), udp4...)
	frag4[6], frag4[7] = 0, 10 // offset 80 bytes: no transport header
	tcp4 := Quote{Src: cli4.Addr(), Dst: srv4.Addr(), SrcPort: cli4.Port(), DstPort: srv4.Port(), Proto: ProtoTCP, Seq: 0x01020304}
	tcp6 := Quote{Src: cli6.Addr(), Dst: srv6.Addr(), SrcPort: cli6.Port(), DstPort: srv6.Port(), Proto: ProtoTCP, Seq: 0x0a0b0c0d}
	u4 := Quote{Src: cli4.Addr(), Dst: srv4.Addr(), SrcPort: cli4.Port(), DstPort: srv4.Port(), Proto: ProtoUDP}
	u6 := Quote{Src: cli6.Addr(), Dst: srv6.Addr(), SrcPort: cli6.Port(), DstPort: srv6.Port(), Proto: ProtoUDP}
	return []quoteCase{
		{"v4 admin prohibited, 8 bytes of TCP", icmpErr(false, 3, 13, syn4, 28), tcp4},
		{"v4 port unreachable, whole UDP", icmpErr(false, 3, 3, udp4, 1000), u4},
		{"v4 time exceeded", icmpErr(false, 11, 0, syn4, 28), tcp4},
		{"v6 admin prohibited, 8 bytes of TCP", icmpErr(true, 1, 1, syn6, 48), tcp6},
		{"v6 port unreachable", icmpErr(true, 1, 4, udp6, 1000), u6},
		{"v6 time exceeded", icmpErr(true, 3, 0, syn6, 48), tcp6},
		{"v4 quote cut before the ports", icmpErr(false, 3, 13, syn4, 27), Quote{}},
		{"v6 quote cut before the ports", icmpErr(true, 1, 1, syn6, 47), Quote{}},
		{"v4 quote of a non-first fragment", icmpErr(false, 3, 3, frag4, 28), Quote{}},
		{"v4 error quoting IPv6", icmpErr(false, 3, 3, syn6, 48), Quote{}},
		{"v6 error quoting IPv4", icmpErr(true, 1, 4, syn4, 28), Quote{}},
		{"v4 echo reply is no error", icmpErr(false, 0, 0, syn4, 28), Quote{}},
		{"v4 redirect is not a refusal", icmpErr(false, 5, 1, syn4, 28), Quote{}},
		{"v6 packet too big is not a refusal", icmpErr(true, 2, 0, syn6, 48), Quote{}},
		{"v4 quoting ICMP", icmpErr(false, 3, 1, pcapgen.IP(cli4.Addr(), srv4.Addr(), ProtoICMP, pcapgen.ICMPv4(8, 0, 1, []byte("ping"))), 28), Quote{}},
	}
}

// TestDecodeQuote: the decoder fills Packet.Quoted for ICMP errors that
// quote a TCP or UDP packet, from the IP header and first 8 transport
// bytes alone, and leaves it zero otherwise; without allocating.
func TestDecodeQuote(t *testing.T) {
	d := NewDecoder(DecoderConfig{}, nil)
	var p Packet
	for _, tc := range quoteCases() {
		m := Meta{LinkType: LinkRaw, CapLen: len(tc.ip), WireLen: len(tc.ip)}
		if r := d.Decode(tc.ip, m, &p); r != OK {
			t.Errorf("%s: %v", tc.name, r)
			continue
		}
		if p.Quoted != tc.want {
			t.Errorf("%s: quoted %+v, want %+v", tc.name, p.Quoted, tc.want)
		}
		if tc.want.Proto != 0 {
			want := (&Packet{Src: tc.want.Src, Dst: tc.want.Dst, SrcPort: tc.want.SrcPort, DstPort: tc.want.DstPort, Proto: tc.want.Proto}).FlowHash()
			if p.QuotedHash() != want {
				t.Errorf("%s: QuotedHash differs from the quoted flow's FlowHash", tc.name)
			}
		}
		if a := testing.AllocsPerRun(50, func() { d.Decode(tc.ip, m, &p) }); a != 0 {
			t.Errorf("%s: %v allocations per Decode", tc.name, a)
		}
	}
}
