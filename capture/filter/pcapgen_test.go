package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// frame is one captured packet: its bytes and its length on the wire.
type frame struct {
	data []byte
	wire int
}

var (
	macA  = net.HardwareAddr{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}
	macB  = net.HardwareAddr{0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb}
	macBC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

func ip4(s string) net.IP { return net.ParseIP(s).To4() }
func ip6(s string) net.IP { return net.ParseIP(s) }

// serialize builds a frame from gopacket layers, fixing lengths and
// checksums; a transport layer gets the network layer for its checksum.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	var netLayer gopacket.NetworkLayer
	for _, l := range ls {
		switch v := l.(type) {
		case *layers.IPv4:
			netLayer = v
		case *layers.IPv6:
			netLayer = v
		case *layers.TCP:
			if err := v.SetNetworkLayerForChecksum(netLayer); err != nil {
				t.Fatal(err)
			}
		case *layers.UDP:
			if err := v.SetNetworkLayerForChecksum(netLayer); err != nil {
				t.Fatal(err)
			}
		case *layers.ICMPv6:
			if err := v.SetNetworkLayerForChecksum(netLayer); err != nil {
				t.Fatal(err)
			}
		}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
}

func v4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: ip4(src), DstIP: ip4(dst), Id: 1}
}

func v6(src, dst string, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: ip6(src), DstIP: ip6(dst)}
}

func tcp(sp, dp uint16) *layers.TCP {
	return &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: 1, SYN: true, Window: 1024}
}

func udp(sp, dp uint16) *layers.UDP {
	return &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
}

func vlanTag(id uint16, next layers.EthernetType) *layers.Dot1Q {
	return &layers.Dot1Q{VLANIdentifier: id, Type: next}
}

func arp(op uint16, srcIP, dstIP string) *layers.ARP {
	return &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6,
		ProtAddressSize: 4, Operation: op, SourceHwAddress: macA, SourceProtAddress: ip4(srcIP),
		DstHwAddress: make([]byte, 6), DstProtAddress: ip4(dstIP)}
}

// ports4 is a raw 4-byte source/destination port pair, used as the body of
// non-first fragments so a filter that forgot the fragment check would see
// "ports".
func ports4(sp, dp uint16) gopacket.Payload {
	b := make([]byte, 16)
	binary.BigEndian.PutUint16(b, sp)
	binary.BigEndian.PutUint16(b[2:], dp)
	return b
}

var payload = gopacket.Payload("tapdlp filter test payload")

// mixedEthernet returns the generated Ethernet corpus: every primitive the
// package supports has packets that match and packets that nearly match.
func mixedEthernet(t testing.TB) []frame {
	s := func(ls ...gopacket.SerializableLayer) frame {
		b := serialize(t, ls...)
		return frame{b, len(b)}
	}
	opts := []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 1}}
	withOpts := func(ip *layers.IPv4) *layers.IPv4 { ip.Options = opts; return ip }
	frag := func(ip *layers.IPv4, flags layers.IPv4Flag, off uint16) *layers.IPv4 {
		ip.Flags, ip.FragOffset = flags, off
		return ip
	}
	llc := func() frame {
		// 802.3 frame: length field, then LLC DSAP/SSAP 0x42 (spanning tree).
		b := append([]byte{}, macBC...)
		b = append(b, macA...)
		body := []byte{0x42, 0x42, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
		b = append(b, body...)
		return frame{b, len(b)}
	}
	hbh := gopacket.Payload(append([]byte{17, 0, 1, 4, 0, 0, 0, 0}, ports4(53, 53)[:8]...))
	sctp := gopacket.Payload(append(ports4(80, 5000)[:4], make([]byte, 8)...))
	bcast := &layers.Ethernet{SrcMAC: macB, DstMAC: macBC, EthernetType: layers.EthernetTypeIPv4}
	big := make(gopacket.Payload, 1400)
	fr := []frame{
		/* 0 */ s(eth(layers.EthernetTypeIPv4), v4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), tcp(40000, 80), payload),
		/* 1 */ s(eth(layers.EthernetTypeIPv4), v4("10.0.0.2", "10.0.0.1", layers.IPProtocolTCP), tcp(80, 40000)),
		/* 2 */ s(eth(layers.EthernetTypeIPv4), v4("10.0.0.1", "93.184.216.34", layers.IPProtocolTCP), tcp(40001, 443)),
		/* 3 */ s(eth(layers.EthernetTypeIPv4), v4("192.168.1.10", "8.8.8.8", layers.IPProtocolUDP), udp(5353, 53), payload),
		/* 4 */ s(eth(layers.EthernetTypeIPv4), v4("8.8.8.8", "192.168.1.10", layers.IPProtocolUDP), udp(53, 5353), payload),
		/* 5 */ s(eth(layers.EthernetTypeIPv4), v4("10.0.0.1", "10.0.0.2", layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1}, payload),
		/* 6 */ s(eth(layers.EthernetTypeIPv4), withOpts(v4("172.16.5.4", "10.1.2.3", layers.IPProtocolTCP)), tcp(1234, 80)),
		/* 7 */ s(eth(layers.EthernetTypeIPv4), frag(v4("10.0.0.5", "10.0.0.6", layers.IPProtocolUDP), layers.IPv4MoreFragments, 0), ports4(1000, 53)),
		/* 8 */ s(eth(layers.EthernetTypeIPv4), frag(v4("10.0.0.5", "10.0.0.6", layers.IPProtocolUDP), layers.IPv4MoreFragments, 185), ports4(53, 80)),
		/* 9 */ s(eth(layers.EthernetTypeIPv4), v4("10.1.200.7", "10.2.0.1", layers.IPProtocolTCP), tcp(80, 2000)),
		/* 10 */ s(eth(layers.EthernetTypeIPv6), v6("2001:db8::1", "2001:db8::2", layers.IPProtocolTCP), tcp(50000, 443), payload),
		/* 11 */ s(eth(layers.EthernetTypeIPv6), v6("2001:db8:1::53", "2001:db8::1", layers.IPProtocolUDP), udp(53, 33000), payload),
		/* 12 */ s(eth(layers.EthernetTypeIPv6), v6("fe80::1", "ff02::1", layers.IPProtocolICMPv6), &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}, &layers.ICMPv6Echo{Identifier: 1, SeqNumber: 1}),
		/* 13 */ s(eth(layers.EthernetTypeIPv6), v6("2001:db8::1", "2001:db8::2", layers.IPProtocolIPv6Fragment), &layers.IPv6Fragment{NextHeader: layers.IPProtocolTCP, MoreFragments: true, Identification: 7}, tcp(50001, 80)),
		/* 14 */ s(eth(layers.EthernetTypeIPv6), v6("2001:db8::1", "2001:db8::2", layers.IPProtocolIPv6HopByHop), hbh),
		/* 15 */ s(&layers.Ethernet{SrcMAC: macA, DstMAC: macBC, EthernetType: layers.EthernetTypeARP}, arp(1, "10.0.0.1", "10.0.0.2")),
		/* 16 */ s(eth(layers.EthernetTypeARP), arp(2, "10.0.0.2", "10.0.0.1")),
		/* 17 */ s(eth(layers.EthernetType(0x8035)), arp(3, "10.0.0.9", "10.0.0.1")),
		/* 18 */ s(eth(layers.EthernetTypeDot1Q), vlanTag(100, layers.EthernetTypeIPv4), v4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), tcp(40002, 80)),
		/* 19 */ s(eth(layers.EthernetTypeDot1Q), vlanTag(200, layers.EthernetTypeIPv6), v6("2001:db8::1", "2001:db8::53", layers.IPProtocolUDP), udp(40000, 53)),
		/* 20 */ s(eth(layers.EthernetTypeQinQ), vlanTag(10, layers.EthernetTypeDot1Q), vlanTag(100, layers.EthernetTypeIPv4), v4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), tcp(40003, 80)),
		/* 21 */ s(eth(layers.EthernetType(0x9100)), vlanTag(20, layers.EthernetTypeDot1Q), vlanTag(30, layers.EthernetTypeIPv4), v4("192.168.1.10", "8.8.8.8", layers.IPProtocolUDP), udp(5353, 53)),
		/* 22 */ s(eth(layers.EthernetTypeDot1Q), vlanTag(100, layers.EthernetTypeARP), arp(1, "10.0.0.1", "10.0.0.2")),
		/* 23 */ s(eth(layers.EthernetTypeDot1Q), vlanTag(0, layers.EthernetTypeIPv4), v4("10.0.0.1", "10.0.0.2", layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}),
		/* 24 */ llc(),
		/* 25 */ s(eth(layers.EthernetTypeIPv4), v4("10.0.0.1", "10.0.0.2", layers.IPProtocolSCTP), sctp),
		/* 26 */ s(eth(layers.EthernetTypeIPv4), v4("10.0.0.1", "10.0.0.2", layers.IPProtocolGRE), ports4(0, 0x0800)),
		/* 27 */ s(eth(layers.EthernetTypeIPv4), v4("10.0.0.7", "10.0.0.8", layers.IPProtocolUDP), udp(8080, 8081)),
		/* 28 */ s(bcast, v4("0.0.0.0", "255.255.255.255", layers.IPProtocolUDP), udp(68, 67), payload),
		/* 29 */ {}, // truncated, filled below
		/* 30 */ s(eth(layers.EthernetType(0x88cc)), gopacket.Payload{2, 7, 4, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0}),
		/* 31 */ s(eth(layers.EthernetTypeIPv4), v4("10.0.0.1", "224.0.0.1", layers.IPProtocolIGMP), gopacket.Payload{0x11, 0, 0, 0, 0, 0, 0, 0}),
		/* 32 */ s(eth(layers.EthernetTypeIPv6), v6("2001:db8:ffff::10", "2001:db8::1", layers.IPProtocolTCP), tcp(50002, 22)),
		/* 33 */ s(&layers.Ethernet{SrcMAC: macB, DstMAC: macA, EthernetType: layers.EthernetTypeIPv4}, v4("10.0.0.1", "10.0.0.3", layers.IPProtocolTCP), tcp(22, 60000)),
		/* 34 */ s(eth(layers.EthernetTypeIPv4), v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(9000, 9001), big),
		/* 35 */ s(eth(layers.EthernetTypeDot1Q), vlanTag(300, layers.EthernetTypeIPv4), withOpts(v4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP)), tcp(40004, 443)),
		/* 36 */ s(eth(layers.EthernetTypeIPv4), frag(v4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), layers.IPv4DontFragment, 0), tcp(40005, 80)),
		/* 37 */ s(eth(layers.EthernetTypeIPv4), frag(v4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), 0, 3), ports4(40005, 80)),
		/* 38 */ s(eth(layers.EthernetTypeIPv6), v6("2001:db8::1", "2001:db8::2", layers.IPProtocolIPv6Fragment), &layers.IPv6Fragment{NextHeader: layers.IPProtocolTCP, FragmentOffset: 100, Identification: 7}, ports4(50001, 80)),
		/* 39 */ s(eth(layers.EthernetTypeDot1Q), vlanTag(100, layers.EthernetTypeDot1Q), vlanTag(200, layers.EthernetTypeIPv6), v6("2001:db8::1", "2001:db8::2", layers.IPProtocolTCP), tcp(50003, 80)),
		/* 40 */ s(eth(layers.EthernetTypeIPv4), v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP), udp(7, 7)),
	}
	full := s(eth(layers.EthernetTypeIPv4), v4("10.9.9.9", "10.0.0.2", layers.IPProtocolTCP), tcp(40006, 80), payload)
	fr[29] = frame{full.data[:36], full.wire} // snapped before the TCP ports
	return fr
}

// toSLL rewrites the Ethernet frames with an ethertype (no VLAN, no 802.3)
// as Linux cooked (SLL v1) frames.
func toSLL(fr []frame) []frame {
	var out []frame
	for _, f := range fr {
		if len(f.data) < 14 {
			continue
		}
		et := binary.BigEndian.Uint16(f.data[12:])
		if et <= 1500 || et == 0x8100 || et == 0x88a8 || et == 0x9100 {
			continue
		}
		h := make([]byte, 16, 16+len(f.data)-14)
		binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(h[4:], 6)
		copy(h[6:], f.data[6:12])
		binary.BigEndian.PutUint16(h[14:], et)
		out = append(out, frame{append(h, f.data[14:]...), f.wire + 2})
	}
	return out
}

// toRaw keeps the IP packets of the Ethernet frames without their link
// header.
func toRaw(fr []frame) []frame {
	var out []frame
	for _, f := range fr {
		if len(f.data) < 14 {
			continue
		}
		et := binary.BigEndian.Uint16(f.data[12:])
		if et != 0x0800 && et != 0x86dd {
			continue
		}
		out = append(out, frame{f.data[14:], f.wire - 14})
	}
	return out
}

// writePcap encodes frames as a classic pcap file with fixed timestamps so
// the bytes are reproducible.
func writePcap(t testing.TB, lt layers.LinkType, fr []frame) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	base := time.Unix(1700000000, 0).UTC()
	for i, f := range fr {
		ci := gopacket.CaptureInfo{Timestamp: base.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(f.data), Length: f.wire}
		if err := w.WritePacket(ci, f.data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// readPcap decodes a classic pcap file.
func readPcap(t testing.TB, data []byte) (LinkType, []frame) {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []frame
	for {
		d, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, frame{append([]byte(nil), d...), ci.Length})
	}
	return LinkType(r.LinkType()), out
}
