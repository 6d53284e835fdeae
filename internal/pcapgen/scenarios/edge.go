package scenarios

import (
	"bytes"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// TCPEdge holds one flow per TCP edge case the reassembler must get right.
func TCPEdge() ([]byte, error) {
	c := newCapture(layers.LinkTypeEthernet)
	data := func(seed byte, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a' + (seed+byte(i))%26
		}
		return b
	}

	// Out of order: the second and third segments swap.
	conn := pcapgen.NewTCPConn(ap("10.1.0.1:40001"), ap("10.2.0.1:80"), 100, 900)
	c.segs(conn, conn.Handshake())
	segs := conn.Send(true, data(1, 4000))
	segs[1], segs[2] = segs[2], segs[1]
	c.segs(conn, segs)
	c.segs(conn, conn.Send(false, data(2, 500)))
	c.segs(conn, conn.Close(true))

	// Retransmission of identical data.
	conn = pcapgen.NewTCPConn(ap("10.1.0.1:40002"), ap("10.2.0.1:80"), 200, 800)
	c.segs(conn, conn.Handshake())
	segs = conn.Send(true, data(3, 3000))
	c.segs(conn, segs)
	c.segs(conn, segs[1:2])
	c.segs(conn, conn.Close(true))

	// Overlap with different data: first data wins.
	conn = pcapgen.NewTCPConn(ap("10.1.0.1:40003"), ap("10.2.0.1:80"), 300, 700)
	c.segs(conn, conn.Handshake())
	c.segs(conn, conn.Send(true, []byte("GET /first HTTP/1.1\r\n\r\n")))
	c.segs(conn, []pcapgen.Segment{conn.At(true, 4, []byte("/evil"))})
	c.segs(conn, conn.Close(true))

	// A gap: 1000 bytes never captured, acknowledged by the peer.
	conn = pcapgen.NewTCPConn(ap("10.1.0.1:40004"), ap("10.2.0.1:80"), 400, 600)
	c.segs(conn, conn.Handshake())
	c.segs(conn, conn.Send(true, data(4, 1000)))
	conn.Skip(true, 1000)
	c.segs(conn, conn.Send(true, data(5, 1000)))
	c.segs(conn, conn.Send(false, data(6, 100)))
	c.segs(conn, conn.Close(true))

	// Mid-stream pickup: no handshake, the server speaks first.
	conn = pcapgen.NewTCPConn(ap("10.1.0.1:40005"), ap("10.2.0.1:443"), 500, 500)
	conn.Handshake() // advance sequence numbers without writing the packets
	c.segs(conn, conn.Send(false, data(7, 2000)))
	c.segs(conn, conn.Send(true, data(8, 300)))

	// Reset by the server after a request.
	conn = pcapgen.NewTCPConn(ap("10.1.0.1:40006"), ap("10.2.0.1:8080"), 600, 400)
	c.segs(conn, conn.Handshake())
	c.segs(conn, conn.Send(true, []byte("hello\n")))
	c.segs(conn, []pcapgen.Segment{conn.Reset(false)})

	// SYN without answer: expires after the handshake timeout.
	conn = pcapgen.NewTCPConn(ap("10.1.0.1:40007"), ap("10.2.0.9:22"), 700, 300)
	c.segs(conn, conn.Handshake()[:1])

	// A long flow with an idle gap longer than the active timeout.
	conn = pcapgen.NewTCPConn(ap("10.1.0.1:40008"), ap("10.2.0.1:5432"), 800, 200)
	c.segs(conn, conn.Handshake())
	c.segs(conn, conn.Send(true, data(9, 200)))
	for range 3 {
		c.wait(2 * time.Minute)
		c.segs(conn, conn.Send(true, data(10, 100)))
		c.segs(conn, conn.Send(false, data(11, 100)))
	}
	c.segs(conn, conn.Close(false))

	// Still open at the end of the capture: state shutdown.
	conn = pcapgen.NewTCPConn(ap("10.1.0.1:40009"), ap("10.2.0.1:80"), 900, 100)
	c.segs(conn, conn.Handshake())
	c.segs(conn, conn.Send(true, bytes.Repeat([]byte("x"), 10)))
	return c.bytes()
}

// L2L3 covers link and network layer cases: VLAN and QinQ tags, IPv6, IPv4
// and IPv6 fragments (in order and reversed), ICMPv6 and truncated frames.
func L2L3() ([]byte, error) {
	c := newCapture(layers.LinkTypeEthernet)
	// VLAN 100 and QinQ 200/300.
	c.conversation("10.3.0.1:41000", "10.4.0.1:80", 1, []byte("GET / HTTP/1.1\r\nHost: vlan.example\r\n\r\n"))
	conn := pcapgen.NewTCPConn(ap("10.3.0.1:41001"), ap("10.4.0.1:80"), 10, 20)
	c.segs(conn, conn.Handshake(), 100)
	c.segs(conn, conn.Send(true, []byte("ping")), 100)
	c.segs(conn, conn.Close(true), 100)
	conn = pcapgen.NewTCPConn(ap("10.3.0.1:41002"), ap("10.4.0.1:80"), 30, 40)
	c.segs(conn, conn.Handshake(), 200, 300)
	c.segs(conn, conn.Send(false, []byte("pong")), 200, 300)
	c.segs(conn, conn.Close(true), 200, 300)

	// IPv6 TCP.
	c.conversation("[2001:db8::5]:41003", "[2001:db8:1::80]:443", 50, ClientHello("v6.example.org", "h2"), TLSRecords(0x16, 1800))

	// IPv4 UDP datagram in three fragments, then another reversed.
	big := DNSResponse(9, "frag.example.net", 16)
	big = append(big, bytes.Repeat([]byte{'t'}, 2500)...)
	udp := pcapgen.UDP(ap("10.5.0.53:53"), ap("10.3.0.1:41004"), big)
	h := pcapgen.IPv4Header{Src: addr("10.5.0.53"), Dst: addr("10.3.0.1"), Proto: pcapgen.ProtoUDP, ID: 0x4242}
	for _, f := range pcapgen.IPv4Fragments(h, udp, 1000) {
		c.ip(f)
	}
	h.ID = 0x4343
	frags := pcapgen.IPv4Fragments(h, udp, 1200)
	for i := len(frags) - 1; i >= 0; i-- {
		c.ip(frags[i])
	}

	// IPv6 fragments of a UDP datagram.
	h6 := pcapgen.IPv6Header{Src: addr("2001:db8::53"), Dst: addr("2001:db8::5"), NextHeader: pcapgen.ProtoUDP}
	udp6 := pcapgen.UDP(ap("[2001:db8::53]:53"), ap("[2001:db8::5]:41005"), big)
	for _, f := range pcapgen.IPv6Fragments(h6, 77, udp6, 1232) {
		c.ip(f)
	}

	// ICMPv6 echo.
	c.ip(pcapgen.IP(addr("2001:db8::5"), addr("2001:db8::1"), pcapgen.ProtoICMPv6,
		pcapgen.ICMPv6(addr("2001:db8::5"), addr("2001:db8::1"), 128, 0, 0x00070001, []byte("v6ping"))))
	c.ip(pcapgen.IP(addr("2001:db8::1"), addr("2001:db8::5"), pcapgen.ProtoICMPv6,
		pcapgen.ICMPv6(addr("2001:db8::1"), addr("2001:db8::5"), 129, 0, 0x00070001, []byte("v6ping"))))

	// Truncated frames: a snaplen of 54 cuts the payload of a data segment
	// (counted, flow kept), 30 cuts inside the IP header (a decode error).
	conn = pcapgen.NewTCPConn(ap("10.3.0.1:41006"), ap("10.4.0.1:80"), 60, 70)
	for _, s := range conn.Handshake() {
		c.ip(conn.Packet(s))
	}
	for _, s := range conn.Send(true, bytes.Repeat([]byte("y"), 1000)) {
		c.frame(pcapgen.EthernetIP(conn.Packet(s)), 54)
	}
	c.frame(pcapgen.EthernetIP(conn.Packet(conn.Send(true, []byte("zz"))[0])), 30)
	c.segs(conn, conn.Close(true))
	return c.bytes()
}

// SLL2 is a short exchange captured as `tcpdump -i any` writes it.
func SLL2() ([]byte, error) {
	c := newCapture(layers.LinkTypeLinuxSLL2)
	c.udp("10.6.0.5:45000", "10.6.0.53:53", DNSQuery(3, "cooked.example.com", 1))
	c.udp("10.6.0.53:53", "10.6.0.5:45000", DNSResponse(3, "cooked.example.com", 1,
		DNSAnswer{Name: "cooked.example.com", Addr: addr("203.0.113.7"), TTL: 120}))
	c.conversation("10.6.0.5:45001", "203.0.113.7:80", 5,
		HTTPRequest("GET", "/", "cooked.example.com", nil, nil), HTTPResponse(200, "text/plain", []byte("ok")))
	c.conversation("[2001:db8::6]:45002", "[2001:db8::7]:443", 6, ClientHello("cooked6.example.com"), TLSRecords(0x16, 900))
	return c.bytes()
}
