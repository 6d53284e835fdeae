package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
)

const mss = 1448

type kind int

const (
	kindTLSUp kind = iota
	kindTLSDown
	kindHTTP
	kindDNS
	kindQUIC
	kindOther
)

// message is application data sent in one direction (0 = client to server).
type message struct {
	dir  int
	data []byte
}

type flow struct {
	kind     kind
	ip       [2]net.IP
	port     [2]uint16
	mac      [2]net.HardwareAddr
	seq      [2]uint32
	phase    int
	msgs     []message
	off      int // offset in msgs[0]
	unacked  int
	udpCount int
	open     bool // never closes (profile open)
}

var tlsNames = []string{
	"api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com", "bedrock-runtime.us-east-1.amazonaws.com",
	"my-bucket.s3.eu-west-1.amazonaws.com", "storage.googleapis.com", "acct.blob.core.windows.net", "www.dropbox.com",
	"slack.com", "outlook.office365.com", "github.com", "api.segment.io", "www.google-analytics.com", "www.facebook.com",
	"cdn.jsdelivr.net", "updates.example-vendor.net",
}

var random = func() []byte {
	b := make([]byte, 1<<20)
	x := uint64(88172645463325252)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}()

func (g *gen) newFlow() *flow {
	g.flows++
	f := &flow{open: g.profile == profileOpen}
	f.ip[0] = net.IPv4(10, 1, byte(g.rng.IntN(8)), byte(1+g.rng.IntN(250))).To4()
	f.ip[1] = net.IPv4(198, 18, byte(g.rng.IntN(64)), byte(1+g.rng.IntN(250))).To4()
	f.mac[0] = net.HardwareAddr{0x02, 0, 0, 0, f.ip[0][2], f.ip[0][3]}
	f.mac[1] = net.HardwareAddr{0x02, 0, 0, 1, 0, 1}
	f.port[0] = uint16(32768 + g.rng.IntN(28000))
	f.seq = [2]uint32{g.rng.Uint32(), g.rng.Uint32()}
	switch g.profile {
	case profileShort:
		g.shortFlow(f)
		return f
	case profileOpen:
		g.openFlow(f)
		return f
	}
	r := g.rng.IntN(100)
	switch {
	case r < 40:
		f.kind, f.port[1] = kindTLSUp, 443
		f.msgs = []message{{0, scenarios.ClientHello(tlsNames[g.rng.IntN(len(tlsNames))], "h2", "http/1.1")}, {1, g.tlsRecords(0x16, 4000)},
			{0, g.tlsData(64<<10 + g.rng.IntN(2<<20))}, {1, g.tlsData(4<<10 + g.rng.IntN(32<<10))}}
	case r < 60:
		f.kind, f.port[1] = kindTLSDown, 443
		f.msgs = []message{{0, scenarios.ClientHello(tlsNames[g.rng.IntN(len(tlsNames))], "h2", "http/1.1")}, {1, g.tlsRecords(0x16, 4000)},
			{0, g.tlsData(600)}, {1, g.tlsData(128<<10 + g.rng.IntN(2<<20))}}
	case r < 75:
		f.kind, f.port[1] = kindHTTP, 80
		for n := 1 + g.rng.IntN(4); n > 0; n-- {
			body := g.jsonBody(2<<10 + g.rng.IntN(48<<10))
			req := fmt.Sprintf("POST /v1/records HTTP/1.1\r\nHost: ingest.example-saas.com\r\nUser-Agent: bench/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
			f.msgs = append(f.msgs, message{0, append([]byte(req), body...)},
				message{1, []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"ok\"}\n")})
		}
	case r < 85:
		f.kind, f.port[1] = kindDNS, 53
		f.ip[1] = net.IPv4(10, 0, 0, 53).To4()
	case r < 93:
		f.kind, f.port[1] = kindQUIC, 443
		f.udpCount = 40 + g.rng.IntN(400)
	default:
		f.kind, f.port[1] = kindOther, 5432
		f.msgs = []message{{0, g.randBytes(200)}, {1, g.randBytes(16<<10 + g.rng.IntN(512<<10))}, {0, g.randBytes(8 << 10)}}
	}
	return f
}

func (g *gen) randBytes(n int) []byte {
	off := g.rng.IntN(len(random) - n%len(random))
	if n > len(random)-off {
		n = len(random) - off
	}
	return random[off : off+n]
}

// tlsData is n bytes of TLS application data records (16 KiB each).
func (g *gen) tlsData(n int) []byte { return g.tlsRecords(0x17, n) }

// tlsRecords is n bytes of TLS records of one content type.
func (g *gen) tlsRecords(typ byte, n int) []byte {
	out := make([]byte, 0, n+n/16384*5+5)
	for n > 0 {
		l := min(n, 16384)
		out = append(out, typ, 3, 3, byte(l>>8), byte(l))
		out = append(out, g.randBytes(l)...)
		n -= l
	}
	return out
}

// jsonBody is an array of customer-like objects: names, UUIDs, timestamps,
// order numbers, and at a realistic density real-looking sensitive values.
func (g *gen) jsonBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"records":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%08x-%04x-4%03x-a%03x-%012x","created":%d,"order":%d,"name":"Customer %d","note":"delivered to dock %d, ref %06d"`,
			g.rng.Uint32(), g.rng.IntN(65536), g.rng.IntN(4096), g.rng.IntN(4096), g.rng.Uint64()&0xffffffffffff,
			1700000000000+g.rng.Int64N(1e11), 100000+g.rng.IntN(900000), i, g.rng.IntN(40), g.rng.IntN(1000000))
		switch g.rng.IntN(10) {
		case 0:
			fmt.Fprintf(&b, `,"card":"%s"`, luhnCard(g))
		case 1:
			fmt.Fprintf(&b, `,"email":"user%d@example.org"`, g.rng.IntN(100000))
		case 2:
			fmt.Fprintf(&b, `,"ssn":"%03d-%02d-%04d"`, 100+g.rng.IntN(500), 1+g.rng.IntN(98), 1+g.rng.IntN(9998))
		}
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return []byte(b.String())
}

func luhnCard(g *gen) string {
	d := make([]byte, 16)
	d[0] = 4
	for i := 1; i < 15; i++ {
		d[i] = byte(g.rng.IntN(10))
	}
	sum := 0
	for i := 0; i < 15; i++ {
		v := int(d[14-i])
		if i%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	d[15] = byte((10 - sum%10) % 10)
	s := make([]byte, 16)
	for i := range d {
		s[i] = '0' + d[i]
	}
	return string(s)
}

// step writes the flow's next packet; false when the flow is over.
func (f *flow) step(g *gen) bool {
	switch f.kind {
	case kindDNS:
		return f.stepDNS(g)
	case kindQUIC:
		return f.stepQUIC(g)
	}
	return f.stepTCP(g)
}

func (f *flow) stepTCP(g *gen) bool {
	switch f.phase {
	case 0:
		f.tcp(g, 0, true, false, false, nil)
		f.seq[0]++
	case 1:
		f.tcp(g, 1, true, true, false, nil)
		f.seq[1]++
	case 2:
		f.tcp(g, 0, false, true, false, nil)
	default:
		if len(f.msgs) == 0 {
			if f.open {
				return false
			}
			return f.close(g)
		}
		m := &f.msgs[0]
		n := min(mss-g.rng.IntN(2)*g.rng.IntN(600), len(m.data)-f.off)
		f.tcp(g, m.dir, false, true, false, m.data[f.off:f.off+n])
		f.seq[m.dir] += uint32(n)
		f.off += n
		f.unacked++
		if f.unacked == 2 || f.off == len(m.data) {
			f.tcp(g, 1-m.dir, false, true, false, nil)
			f.unacked = 0
		}
		if f.off == len(m.data) {
			f.msgs, f.off = f.msgs[1:], 0
		}
		return true
	}
	f.phase++
	return true
}

func (f *flow) close(g *gen) bool {
	switch f.phase {
	case 3:
		f.tcp(g, 0, false, true, true, nil)
		f.seq[0]++
	case 4:
		f.tcp(g, 1, false, true, true, nil)
		f.seq[1]++
	case 5:
		f.tcp(g, 0, false, true, false, nil)
		return false
	}
	f.phase++
	return true
}

func (f *flow) tcp(g *gen, dir int, syn, ack, fin bool, payload []byte) {
	eth := &layers.Ethernet{SrcMAC: f.mac[dir], DstMAC: f.mac[1-dir], EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: f.ip[dir], DstIP: f.ip[1-dir], Flags: layers.IPv4DontFragment}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(f.port[dir]), DstPort: layers.TCPPort(f.port[1-dir]), Seq: f.seq[dir],
		SYN: syn, ACK: ack && !(syn && dir == 0), FIN: fin, PSH: len(payload) > 0 && len(payload) < mss, Window: 502,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: make([]byte, 8)}}}
	if tcp.ACK {
		tcp.Ack = f.seq[1-dir]
	}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	g.write(eth, ip, tcp, gopacket.Payload(payload))
}

func (f *flow) udp(g *gen, dir int, payload []byte) {
	eth := &layers.Ethernet{SrcMAC: f.mac[dir], DstMAC: f.mac[1-dir], EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: f.ip[dir], DstIP: f.ip[1-dir]}
	udp := &layers.UDP{SrcPort: layers.UDPPort(f.port[dir]), DstPort: layers.UDPPort(f.port[1-dir])}
	_ = udp.SetNetworkLayerForChecksum(ip)
	g.write(eth, ip, udp, gopacket.Payload(payload))
}

func (f *flow) stepDNS(g *gen) bool {
	name := tlsNames[g.rng.IntN(len(tlsNames))]
	id := uint16(g.rng.IntN(65536))
	q := &layers.DNS{ID: id, RD: true, Questions: []layers.DNSQuestion{{Name: []byte(name), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
	buf := gopacket.NewSerializeBuffer()
	_ = q.SerializeTo(buf, gopacket.SerializeOptions{FixLengths: true})
	f.udp(g, 0, append([]byte(nil), buf.Bytes()...))
	r := *q
	r.QR, r.RA = true, true
	r.Answers = []layers.DNSResourceRecord{{Name: []byte(name), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 300,
		IP: net.IPv4(198, 18, byte(g.rng.IntN(64)), byte(1+g.rng.IntN(250))).To4()}}
	buf = gopacket.NewSerializeBuffer()
	_ = r.SerializeTo(buf, gopacket.SerializeOptions{FixLengths: true})
	f.udp(g, 1, append([]byte(nil), buf.Bytes()...))
	return false
}

func (f *flow) stepQUIC(g *gen) bool {
	switch {
	case f.phase < 2:
		f.udp(g, 0, g.quic[f.phase])
	default:
		dir := g.rng.IntN(3) / 2 // two thirds client to server: egress
		short := append([]byte{0x40 | byte(g.rng.IntN(4))}, g.randBytes(1100+g.rng.IntN(150))...)
		f.udp(g, dir, short)
	}
	f.phase++
	return f.phase < f.udpCount
}

// shortFlow starts a flow of the short-flow profile: what egress looks like
// when most flows are API calls and page loads rather than bulk transfers.
func (g *gen) shortFlow(f *flow) {
	r := g.rng.IntN(100)
	switch {
	case r < 55: // a short TLS session: handshake, one or two small exchanges (median ~29 packets)
		f.kind, f.port[1] = kindTLSUp, 443
		f.msgs = []message{{0, scenarios.ClientHello(tlsNames[g.rng.IntN(len(tlsNames))], "h2", "http/1.1")},
			{1, g.tlsRecords(0x16, 2500+g.rng.IntN(3000))}, {0, g.tlsRecords(0x14, 80)}}
		for n := 1 + g.rng.IntN(2); n > 0; n-- {
			f.msgs = append(f.msgs, message{0, g.tlsData(300 + g.rng.IntN(1500))}, message{1, g.tlsData(500 + g.rng.IntN(12<<10))})
		}
	case r < 75:
		f.kind, f.port[1] = kindDNS, 53
		f.ip[1] = net.IPv4(10, 0, 0, 53).To4()
	case r < 90: // an API call with a JSON body; half carry numeric arrays
		f.kind, f.port[1] = kindHTTP, 80
		body := g.jsonBody(300 + g.rng.IntN(4<<10))
		if g.rng.IntN(2) == 0 {
			body = g.numericJSON(300 + g.rng.IntN(6<<10))
		}
		req := fmt.Sprintf("POST /v1/events HTTP/1.1\r\nHost: api.example-saas.com\r\nUser-Agent: bench/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		f.msgs = []message{{0, append([]byte(req), body...)},
			{1, []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"ok\"}\n")}}
	case r < 97:
		f.kind, f.port[1] = kindQUIC, 443
		f.udpCount = 8 + g.rng.IntN(30)
	default: // a binary upload (images, archives): random bytes
		f.kind, f.port[1] = kindOther, 8443
		f.msgs = []message{{0, g.randBytes(2<<10 + g.rng.IntN(20<<10))}, {1, g.randBytes(100)}}
	}
}

// openFlow starts a flow of the open profile: handshake and first exchange.
func (g *gen) openFlow(f *flow) {
	r := g.rng.IntN(100)
	switch {
	case r < 60:
		f.kind, f.port[1] = kindTLSUp, 443
		f.msgs = []message{{0, scenarios.ClientHello(tlsNames[g.rng.IntN(len(tlsNames))], "h2", "http/1.1")},
			{1, g.tlsRecords(0x16, 1200)}}
	case r < 80:
		f.kind, f.port[1] = kindHTTP, 80
		body := g.jsonBody(200 + g.rng.IntN(400))
		req := fmt.Sprintf("POST /v1/events HTTP/1.1\r\nHost: api.example-saas.com\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		f.msgs = []message{{0, append([]byte(req), body...)}}
	default:
		f.kind, f.port[1] = kindDNS, 53
		f.ip[1] = net.IPv4(10, 0, 0, 53).To4()
	}
	// Spread clients and servers so flows do not collide on a 5-tuple.
	f.ip[0] = net.IPv4(10, byte(2+g.rng.IntN(60)), byte(g.rng.IntN(256)), byte(1+g.rng.IntN(250))).To4()
}

// numericJSON is a JSON body of what telemetry and analytics APIs send:
// arrays of 9-digit identifiers and counters, the scanner's worst case for
// number-shaped candidates.
func (g *gen) numericJSON(n int) []byte {
	b := []byte(`{"ids":[`)
	for i := 0; len(b) < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, 100000000+g.rng.Int64N(900000000), 10)
	}
	return append(b, "]}"...)
}
