// Package scenarios builds tapdlp's committed test captures (testdata/pcap)
// deterministically from pcapgen's packet builders: the product demo and the
// edge cases the spine must handle (reordering, retransmission, overlaps,
// gaps, mid-stream pickup, RST/FIN, IPv6, VLAN/QinQ, fragments, truncation,
// link types). `go run ./testdata/gen` rewrites them; a test checks the
// committed files are what this package builds.
package scenarios

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// Files returns every generated capture by file name.
func Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, build := range map[string]func() ([]byte, error){
		"demo.pcap":        Demo,
		"tcp-edge.pcap":    TCPEdge,
		"l2-l3.pcap":       L2L3,
		"sll2.pcap":        SLL2,
		"raw-ip.pcapng.gz": RawIPngGzip,
		"inspect.pcap":     Inspect,
	} {
		b, err := build()
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", name, err)
		}
		out[name] = b
	}
	return out, nil
}

// start is the first packet time of every scenario.
var start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// capture accumulates frames of one link type with a controllable clock.
type capture struct {
	buf  bytes.Buffer
	w    *pcapgo.Writer
	now  time.Time
	step time.Duration
	link layers.LinkType
	err  error
}

func newCapture(link layers.LinkType) *capture {
	c := &capture{now: start, step: 3 * time.Millisecond, link: link}
	c.w = pcapgo.NewWriterNanos(&c.buf)
	c.err = c.w.WriteFileHeader(65535, link)
	return c
}

// frame writes a link-layer frame; caplen < len(frame) cuts it short as a
// snaplen would.
func (c *capture) frame(f []byte, caplen int) {
	if c.err != nil {
		return
	}
	if caplen <= 0 || caplen > len(f) {
		caplen = len(f)
	}
	ci := gopacket.CaptureInfo{Timestamp: c.now, CaptureLength: caplen, Length: len(f)}
	c.err = c.w.WritePacket(ci, f[:caplen])
	c.now = c.now.Add(c.step)
}

// ip frames an IP packet for the capture's link type.
func (c *capture) ip(pkt []byte, vlans ...uint16) {
	switch c.link {
	case layers.LinkTypeRaw:
		c.frame(pkt, 0)
	case layers.LinkTypeLinuxSLL2:
		et := uint16(0x0800)
		if pkt[0]>>4 == 6 {
			et = 0x86dd
		}
		c.frame(pcapgen.SLL2(et, pkt), 0)
	default:
		c.frame(pcapgen.EthernetIP(pkt, vlans...), 0)
	}
}

func (c *capture) segs(conn *pcapgen.TCPConn, segs []pcapgen.Segment, vlans ...uint16) {
	for _, s := range segs {
		c.ip(conn.Packet(s), vlans...)
	}
}

func (c *capture) wait(d time.Duration) { c.now = c.now.Add(d) }

func (c *capture) bytes() ([]byte, error) { return c.buf.Bytes(), c.err }

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
func addr(s string) netip.Addr   { return netip.MustParseAddr(s) }

// udp writes a UDP datagram.
func (c *capture) udp(src, dst string, payload []byte, vlans ...uint16) {
	c.ip(pcapgen.IPUDP(ap(src), ap(dst), payload), vlans...)
}

// conversation writes a whole TCP connection: handshake, the exchanges
// (client data then server data, alternately), and a FIN close.
func (c *capture) conversation(client, server string, isn uint32, exchanges ...[]byte) {
	conn := pcapgen.NewTCPConn(ap(client), ap(server), isn, isn^0x5a5a5a5a)
	c.segs(conn, conn.Handshake())
	for i, data := range exchanges {
		if len(data) > 0 {
			c.segs(conn, conn.Send(i%2 == 0, data))
		}
	}
	c.segs(conn, conn.Close(true))
}

// RawIPngGzip is a gzip-compressed pcapng with raw-IP link type: a DNS
// lookup and an HTTP exchange, to test container, compression and link type.
func RawIPngGzip() ([]byte, error) {
	var ng bytes.Buffer
	w, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeRaw)
	if err != nil {
		return nil, err
	}
	now := start
	write := func(pkt []byte) {
		if err == nil {
			err = w.WritePacket(gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(pkt), Length: len(pkt)}, pkt)
		}
		now = now.Add(2 * time.Millisecond)
	}
	write(pcapgen.IPUDP(ap("10.9.0.5:40000"), ap("10.9.0.53:53"), DNSQuery(7, "files.example.org", 1)))
	write(pcapgen.IPUDP(ap("10.9.0.53:53"), ap("10.9.0.5:40000"), DNSResponse(7, "files.example.org", 1,
		DNSAnswer{Name: "files.example.org", Addr: addr("203.0.113.80"), TTL: 60})))
	conn := pcapgen.NewTCPConn(ap("10.9.0.5:40001"), ap("203.0.113.80:80"), 1000, 2000)
	var segs []pcapgen.Segment
	segs = append(segs, conn.Handshake()...)
	segs = append(segs, conn.Send(true, HTTPRequest("GET", "/report.csv", "files.example.org", nil, nil))...)
	segs = append(segs, conn.Send(false, HTTPResponse(200, "text/csv", []byte("id,amount\n1,10\n2,20\n")))...)
	segs = append(segs, conn.Close(false)...)
	for _, s := range segs {
		write(conn.Packet(s))
	}
	if err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(ng.Bytes())
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return gz.Bytes(), nil
}
