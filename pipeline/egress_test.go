package pipeline

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
)

const egressConfig = "alerts: {dedup_window: 0}\n"

// dnsExchange is a client's query and the resolver's answer.
func dnsExchange(client string, port uint16, qname string, answers ...scenarios.DNSAnswer) [][]byte {
	c := netip.AddrPortFrom(netip.MustParseAddr(client), port)
	res := netip.MustParseAddrPort("10.0.0.53:53")
	return [][]byte{
		pcapgen.IPUDP(c, res, scenarios.DNSQuery(1, qname, 1)),
		pcapgen.IPUDP(res, c, scenarios.DNSResponse(1, qname, 1, answers...)),
	}
}

// postCard is a whole HTTP POST carrying a card number, named by Host.
func postCard(client, server, host string) [][]byte {
	c := pcapgen.NewTCPConn(netip.MustParseAddrPort(client), netip.MustParseAddrPort(server), 100, 900)
	segs := append(c.Handshake(), c.Send(true, scenarios.HTTPRequest("POST", "/upload", host, nil, []byte(evasionCard)))...)
	segs = append(segs, c.Send(false, scenarios.HTTPResponse(200, "text/plain", []byte("ok")))...)
	segs = append(segs, c.Close(true)...)
	return c.Packets(segs)
}

// TestResolutionEndToEnd: the three dst.resolution outcomes from generated
// DNS and HTTP traffic (a CNAME chain, an answer past its TTL, another
// client's answer), and default.sensitive-to-unresolved firing on exactly
// the other_name and unresolved flows.
func TestResolutionEndToEnd(t *testing.T) {
	a := func(name, addr string, ttl uint32) scenarios.DNSAnswer {
		return scenarios.DNSAnswer{Name: name, Addr: netip.MustParseAddr(addr), TTL: ttl}
	}
	cname := func(name, target string) scenarios.DNSAnswer {
		return scenarios.DNSAnswer{Name: name, CNAME: target, TTL: 300}
	}
	var pkts [][]byte
	add := func(p [][]byte) { pkts = append(pkts, p...) }
	// matched: resolved, then used under that name.
	add(dnsExchange("10.0.0.5", 40000, "upload.files-a.example", a("upload.files-a.example", "198.51.100.60", 300)))
	add(postCard("10.0.0.5:41001", "198.51.100.60:80", "upload.files-a.example"))
	// matched through a CNAME chain: the name asked for is the one used.
	add(dnsExchange("10.0.0.5", 40001, "upload.files-b.example",
		cname("upload.files-b.example", "b.edge.example"), cname("b.edge.example", "e7.edge.example"),
		a("e7.edge.example", "198.51.100.61", 300)))
	add(postCard("10.0.0.5:41002", "198.51.100.61:80", "upload.files-b.example"))
	// other_name: the client resolved another name to this address (fronting).
	add(dnsExchange("10.0.0.5", 40002, "cdn-front.example", a("cdn-front.example", "198.51.100.62", 300)))
	add(postCard("10.0.0.5:41003", "198.51.100.62:80", "upload.files-c.example"))
	// unresolved: never resolved by anyone.
	add(postCard("10.0.0.5:41004", "198.51.100.63:80", "upload.files-d.example"))
	// unresolved: another client's answer says nothing about this one.
	add(dnsExchange("10.0.0.6", 40003, "upload.files-e.example", a("upload.files-e.example", "198.51.100.64", 300)))
	add(postCard("10.0.0.5:41005", "198.51.100.64:80", "upload.files-e.example"))
	// unresolved: resolved, but the answer expired (TTL 30, kept for the
	// 60 s floor) before the connection.
	add(dnsExchange("10.0.0.5", 40004, "upload.files-f.example", a("upload.files-f.example", "198.51.100.65", 30)))
	pkts = append(pkts, nil, nil, nil) // 90 s later
	add(postCard("10.0.0.5:41006", "198.51.100.65:80", "upload.files-f.example"))

	want := map[uint16]string{41001: "matched", 41002: "matched", 41003: "other_name", 41004: "unresolved", 41005: "unresolved", 41006: "unresolved"}
	lines := replayRecords(t, egressConfig, 1, writeCapture(t, pkts))
	type rec struct {
		Type string
		Rule string
		Src  struct{ Port uint16 }
		Dst  struct {
			Resolution string
		}
		Alerts []string
	}
	got := map[uint16]string{}
	fired := map[uint16]bool{}
	alerts := 0
	for _, l := range lines {
		var r rec
		mustJSON(t, l, &r)
		switch r.Type {
		case "flow":
			if r.Src.Port < 41000 {
				continue
			}
			got[r.Src.Port] = r.Dst.Resolution
			for _, id := range r.Alerts {
				if id == "default.sensitive-to-unresolved" {
					fired[r.Src.Port] = true
				}
			}
		case "alert":
			if r.Rule == "default.sensitive-to-unresolved" {
				alerts++
			}
		}
	}
	nfire := 0
	for port, w := range want {
		if got[port] != w {
			t.Errorf("client port %d: resolution %q, want %q", port, got[port], w)
		}
		if should := w != "matched"; fired[port] != should {
			t.Errorf("client port %d (%s): sensitive-to-unresolved fired %v", port, w, fired[port])
		}
		if w != "matched" {
			nfire++
		}
	}
	if alerts != nfire {
		t.Errorf("%d sensitive-to-unresolved alerts, want %d", alerts, nfire)
	}
}

// TestRepeatedDenialsEndToEnd: default.repeated-denials fires on the fifth
// refused or unanswered attempt from one source to one destination within
// ten minutes, not before, and counts neither completed connections,
// unanswered UDP, attempts to another destination, nor denials to an
// internal one.
func TestRepeatedDenialsEndToEnd(t *testing.T) {
	build := func(denials int) [][]byte {
		var pkts [][]byte
		dst := netip.MustParseAddrPort("198.51.100.80:443")
		router := netip.MustParseAddr("192.0.2.254")
		for i := range denials {
			cli := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.7"), uint16(42000+i))
			k := tcpTalk{cli, dst}
			syn := k.seg(true, 1000, 0, fS, "")
			switch i % 3 {
			case 0: // S0
				pkts = append(pkts, syn)
			case 1: // REJ
				pkts = append(pkts, syn, k.seg(false, 0, 1001, fR|fA, ""))
			case 2: // ICMP administratively prohibited
				pkts = append(pkts, syn, icmpError(router, 3, 13, syn))
			}
			pkts = append(pkts, nil) // 30 s apart: all within 10 minutes
		}
		// Noise that must not count: a completed connection to the same
		// destination, and four denials to another one.
		ok := tcpTalk{netip.MustParseAddrPort("10.0.0.7:43000"), dst}
		pkts = append(pkts, ok.seg(true, 1000, 0, fS, ""), ok.seg(false, 5000, 1001, fS|fA, ""), ok.seg(true, 1001, 5001, fA, ""))
		for i := range 5 { // unanswered UDP is no denial
			u := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.7"), uint16(45000+i))
			pkts = append(pkts, pcapgen.IPUDP(u, netip.MustParseAddrPort("198.51.100.80:443"), []byte("x")))
		}
		for i := range 5 { // denials to an internal destination
			o := tcpTalk{netip.AddrPortFrom(netip.MustParseAddr("10.0.0.7"), uint16(46000+i)), netip.MustParseAddrPort("10.9.0.1:443")}
			pkts = append(pkts, o.seg(true, 1000, 0, fS, ""))
		}
		for i := range 4 {
			o := tcpTalk{netip.AddrPortFrom(netip.MustParseAddr("10.0.0.7"), uint16(44000+i)), netip.MustParseAddrPort("198.51.100.81:443")}
			pkts = append(pkts, o.seg(true, 1000, 0, fS, ""))
		}
		return pkts
	}
	for _, tc := range []struct{ denials, want int }{{4, 0}, {5, 1}, {7, 3}} {
		lines := replayRecords(t, egressConfig, 2, writeCapture(t, build(tc.denials)))
		flows, alerts := 0, 0
		for _, l := range lines {
			var r struct {
				Type   string
				Rule   string
				Dst    struct{ IP string }
				Alerts []string
			}
			mustJSON(t, l, &r)
			if r.Type == "alert" && r.Rule == "default.repeated-denials" {
				alerts++
				if r.Dst.IP != "198.51.100.80" {
					t.Errorf("%d denials: alert for %s", tc.denials, r.Dst.IP)
				}
			}
			for _, id := range r.Alerts {
				if id == "default.repeated-denials" {
					flows++
				}
			}
		}
		if flows != tc.want || alerts != tc.want {
			t.Errorf("%d denials: rule fired on %d flows with %d alerts, want %d", tc.denials, flows, alerts, tc.want)
		}
	}
}

func mustJSON(t *testing.T, line string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(line), v); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
}
