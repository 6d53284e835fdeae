package demux

import (
	"github.com/tapdlp/tapdlp/appproto/dns"
	httpparse "github.com/tapdlp/tapdlp/appproto/http"
	"github.com/tapdlp/tapdlp/appproto/http2"
	"github.com/tapdlp/tapdlp/appproto/quic"
	"github.com/tapdlp/tapdlp/capture"
)

// This file is the one table of port assumptions and sniffers. A protocol
// is recognised from a direction's first bytes; a port decides only when no
// sniffer claims the bytes (TCP) or before sniffing where the port is
// authoritative enough (DNS over UDP).

// Well-known ports the table relies on.
const (
	portDNS        = 53
	portMDNS       = 5353
	portSMTP       = 25
	portSubmission = 587
)

// verdict is a sniffer's answer about a prefix.
type verdict uint8

const (
	needMore verdict = iota // the prefix is consistent with the protocol but too short to tell
	yes
	no
)

// row is one entry of the recognition table. A row claims a direction's
// first bytes when its sniffer says yes or one of its ports matches.
type row struct {
	proto Proto
	tcp   bool // transport: TCP (true) or UDP
	// sniff judges the first bytes of direction dir; final means no more
	// bytes will come for the decision (bound reached, flow ended, a UDP
	// datagram), so it must answer yes or no. nil: ports only.
	sniff func(dir Dir, b []byte, final bool) verdict
	// dstPorts and srcPorts are flow (initiator-oriented) ports on which the
	// row claims the flow whatever the bytes.
	dstPorts, srcPorts []uint16
}

// table lists the rows in priority order: the first row that claims the
// bytes wins, but only when no earlier row still needs more bytes. For
// TCP, sniffers outrank ports (an HTTP request to port 53 is HTTP); for
// UDP, the DNS ports outrank sniffing, as they always have.
var table = [...]row{
	{proto: TLS, tcp: true, sniff: sniffTLS},
	{proto: HTTP2, tcp: true, sniff: sniffHTTP2},
	{proto: HTTP, tcp: true, sniff: sniffHTTP},
	{proto: DNS, tcp: true, dstPorts: []uint16{portDNS}, srcPorts: []uint16{portDNS}},
	{proto: DNS, tcp: false, sniff: sniffDNS, dstPorts: []uint16{portDNS, portMDNS}, srcPorts: []uint16{portDNS}},
	{proto: QUIC, tcp: false, sniff: sniffQUIC},
}

// noHTTPResniff lists server ports whose unrecognised payload is never
// re-sniffed for an HTTP start line (mail submission talks in upper-case
// verbs that look like HTTP methods).
var noHTTPResniff = [...]uint16{portSMTP, portSubmission}

// DispatcherLearnsDNS reports whether the dispatcher learns the DNS answers
// of a packet (transport proto, source port) itself. The contract, in one
// place: the dispatcher learns UDP responses sent from port 53 or 5353, in
// packet order, before any later flow is dispatched (so a flow finds the
// answer its client acted on, whichever worker saw the response); a Flow
// learns every other response it parses — DNS over TCP and DNS on unusual
// UDP ports — and never one of those (see dnsParser.message).
func DispatcherLearnsDNS(proto uint8, srcPort uint16) bool {
	return proto == capture.ProtoUDP && (srcPort == portDNS || srcPort == portMDNS)
}

func sniffTLS(_ Dir, b []byte, final bool) verdict {
	switch {
	case len(b) == 0:
		return needMore
	case b[0] != 0x16: // handshake record
		return no
	case len(b) < 2:
		if final {
			return no
		}
		return needMore
	case b[1] == 0x03: // record version major
		return yes
	}
	return no
}

// sniffHTTP2 claims a client direction that starts with the HTTP/2
// connection preface (prior knowledge, on any port). It must outrank
// sniffHTTP, which would take "PRI * HTTP/2.0" for a request line.
func sniffHTTP2(dir Dir, b []byte, final bool) verdict {
	if dir != Out {
		return no
	}
	switch http2.Sniff(b) {
	case http2.SniffPreface:
		return yes
	case http2.SniffNeedMore:
		if !final {
			return needMore
		}
	}
	return no
}

func sniffHTTP(_ Dir, b []byte, final bool) verdict {
	switch httpparse.Sniff(b) {
	case httpparse.SniffRequest, httpparse.SniffResponse:
		return yes
	case httpparse.SniffNo:
		return no
	}
	if !final {
		return needMore
	}
	return httpPlausible(b)
}

// httpPlausible decides an HTTP start line cut short by the bound (a long
// request target): the prefix Sniff found consistent is taken as HTTP when
// it already holds a method and the space after it, or a status line's
// version. The HTTP parser still judges the whole head.
func httpPlausible(b []byte) verdict {
	if len(b) >= 7 && string(b[:7]) == "HTTP/1." {
		return yes
	}
	for i, c := range b {
		if c == ' ' {
			if i > 0 {
				return yes
			}
			break
		}
	}
	return no
}

func sniffDNS(_ Dir, b []byte, _ bool) verdict {
	if dns.LooksLikeDNS(b) {
		return yes
	}
	return no
}

// sniffQUIC claims a flow whose first client datagram is a QUIC Initial.
func sniffQUIC(dir Dir, b []byte, _ bool) verdict {
	if dir == Out && quic.LooksLikeInitial(b) {
		return yes
	}
	return no
}

// lineQuiet is a promise every sniffer keeps: once it has said needMore
// on a prefix of at least lineQuiet bytes, only a line feed can turn the
// verdict into yes (an HTTP start line is accepted only once complete;
// TLS decides within two bytes; DNS over TCP by port). A no can come
// earlier (a control byte in a request target) but stays no on any longer
// prefix, so noticing it at the next line feed or at MaxUndecided decides
// the same, only later (nothing is lost: the bytes are buffered). So
// recognition re-sniffs a growing prefix only when a line feed arrives,
// and a start line sent one byte per segment costs linear work.
const lineQuiet = 64

// decide runs the table over a direction's first bytes. It returns the
// protocol (Other when no row claims them) and false while a row that
// outranks every claim still needs more bytes.
func decide(tcp bool, dir Dir, srcPort, dstPort uint16, b []byte, final bool) (Proto, bool) {
	for i := range table {
		r := &table[i]
		if r.tcp != tcp {
			continue
		}
		if portIn(dstPort, r.dstPorts) || portIn(srcPort, r.srcPorts) {
			return r.proto, true
		}
		if r.sniff == nil {
			continue
		}
		switch r.sniff(dir, b, final) {
		case yes:
			return r.proto, true
		case needMore:
			return Unknown, false
		}
	}
	return Other, true
}

func portIn(p uint16, ports []uint16) bool {
	for _, q := range ports {
		if p == q {
			return true
		}
	}
	return false
}
