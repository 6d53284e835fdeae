package capture

import (
	"bytes"
	"io"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

func benchFrames() []struct {
	name string
	link LinkType
	data []byte
} {
	payload := bytes.Repeat([]byte("x"), 512)
	tcp4 := pcapgen.IPTCP(cli4, srv4, 1, 2, pcapgen.ACK, payload)
	tcp6 := pcapgen.IPTCP(cli6, srv6, 1, 2, pcapgen.ACK, payload)
	hbh := append([]byte{pcapgen.ProtoTCP, 0, 1, 4, 0, 0, 0, 0}, pcapgen.TCP(cli6, srv6, 1, 2, pcapgen.ACK, 1, payload)...)
	ext6 := pcapgen.IPv6Header{Src: cli6.Addr(), Dst: srv6.Addr(), NextHeader: 0}.Marshal(hbh)
	inner := pcapgen.EthernetIP(tcp4)
	return []struct {
		name string
		link LinkType
		data []byte
	}{
		{"eth_tcp4", LinkEthernet, pcapgen.EthernetIP(tcp4)},
		{"eth_tcp6", LinkEthernet, pcapgen.EthernetIP(tcp6)},
		{"eth_udp4", LinkEthernet, pcapgen.EthernetIP(pcapgen.IPUDP(cli4, srv4, payload))},
		{"vlan_tcp4", LinkEthernet, pcapgen.EthernetIP(tcp4, 10)},
		{"qinq_tcp4", LinkEthernet, pcapgen.EthernetIP(tcp4, 10, 20)},
		{"ipv6_hopbyhop", LinkEthernet, pcapgen.EthernetIP(ext6)},
		{"sll2_tcp4", LinkSLL2, pcapgen.SLL2(pcapgen.EtherIPv4, tcp4)},
		{"raw_tcp4", LinkRaw, tcp4},
		{"vxlan_tcp4", LinkEthernet, pcapgen.EthernetIP(pcapgen.IPUDP(vtA, vtB, pcapgen.VXLAN(1, inner)))},
		{"gre_tcp4", LinkEthernet, pcapgen.EthernetIP(pcapgen.IP(vtA.Addr(), vtB.Addr(), pcapgen.ProtoGRE, pcapgen.GRE(pcapgen.EtherIPv4, 1, true, tcp4)))},
		{"mpls_tcp4", LinkEthernet, pcapgen.Ethernet(pcapgen.ClientMAC, pcapgen.ServerMAC, pcapgen.EtherMPLS, pcapgen.MPLS([]uint32{1, 2}, tcp4))},
	}
}

// BenchmarkDecode measures one Decode per protocol stack; allocs/op must
// be 0.
func BenchmarkDecode(b *testing.B) {
	for _, f := range benchFrames() {
		b.Run(f.name, func(b *testing.B) {
			d := NewDecoder(DecoderConfig{}, nil)
			m := Meta{LinkType: f.link, CapLen: len(f.data), WireLen: len(f.data)}
			var p Packet
			b.ReportAllocs()
			b.SetBytes(int64(len(f.data)))
			for b.Loop() {
				if d.Decode(f.data, m, &p) != OK {
					b.Fatal("decode failed")
				}
			}
		})
	}
	b.Run("ipv4_reassembly_3frags", func(b *testing.B) {
		_, frags := frags4(1, udpBody(3000), 1200)
		d := NewDecoder(DecoderConfig{}, nil)
		var p Packet
		b.ReportAllocs()
		for b.Loop() {
			for _, f := range frags {
				d.Decode(f, Meta{LinkType: LinkRaw, CapLen: len(f), WireLen: len(f)}, &p)
			}
		}
	})
}

// BenchmarkDecodeGopacket is the reference the hand-written decoder was
// measured against: gopacket's DecodingLayerParser with preallocated
// layers, filling the same Packet fields, on the eth_tcp4 frame.
func BenchmarkDecodeGopacket(b *testing.B) {
	frame := benchFrames()[0].data
	var (
		eth     layers.Ethernet
		dot1q   layers.Dot1Q
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		udp     layers.UDP
		payload gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp, &udp, &payload)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := parser.DecodeLayers(frame, &decoded); err != nil {
			b.Fatal(err)
		}
		p = Packet{}
		for _, lt := range decoded {
			switch lt {
			case layers.LayerTypeIPv4:
				p.Src, _ = netip.AddrFromSlice(ip4.SrcIP)
				p.Dst, _ = netip.AddrFromSlice(ip4.DstIP)
				p.Proto = uint8(ip4.Protocol)
			case layers.LayerTypeTCP:
				p.SrcPort, p.DstPort = uint16(tcp.SrcPort), uint16(tcp.DstPort)
				p.Seq, p.Ack, p.Window = tcp.Seq, tcp.Ack, tcp.Window
				p.Payload = tcp.Payload
			}
		}
	}
	if p.DstPort != srv4.Port() {
		b.Fatal("gopacket decode mismatch")
	}
}

func BenchmarkFileSourceNext(b *testing.B) {
	var buf bytes.Buffer
	w, _ := pcapgen.NewWriter(&buf, pcapgen.LinkEthernet)
	frame := benchFrames()[0].data
	for range 10000 {
		w.WriteFrame(frame)
	}
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	var s *FileSource
	for b.Loop() {
		if s == nil {
			s, _ = NewReaderSource("bench", bytes.NewReader(data))
		}
		if _, _, err := s.Next(); err == io.EOF {
			s = nil
		} else if err != nil {
			b.Fatal(err)
		}
	}
}
