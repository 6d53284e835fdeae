package pipeline

import (
	"encoding/json"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/testenv"
)

const (
	fS = capture.TCPSyn
	fA = capture.TCPAck
	fF = capture.TCPFin
	fR = capture.TCPRst
	fP = capture.TCPPsh
)

// flowOut is what these tests read back from a flow record.
type flowOut struct {
	Proto     string `json:"proto"`
	ConnState string `json:"conn_state"`
	History   string `json:"history"`
	Src       struct {
		IP   string `json:"ip"`
		Port uint16 `json:"port"`
	} `json:"src"`
	Dst struct {
		IP   string `json:"ip"`
		Port uint16 `json:"port"`
	} `json:"dst"`
	Reject *struct {
		By   string `json:"by"`
		Type *uint8 `json:"type"`
		Code *uint8 `json:"code"`
		From string `json:"from"`
	} `json:"reject"`
	ICMP *struct {
		Type uint8 `json:"type"`
		Code uint8 `json:"code"`
	} `json:"icmp"`
	Alerts []string `json:"alerts"`
	Rule   string   `json:"rule"`
	Type   string   `json:"type"`
}

func readFlows(t *testing.T, lines []string) []flowOut {
	t.Helper()
	var out []flowOut
	for _, l := range lines {
		var f flowOut
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		out = append(out, f)
	}
	return out
}

// tcpSeg builds one TCP packet of the test connection: from the client when
// c, else from the server.
type tcpTalk struct{ cli, srv netip.AddrPort }

func (k tcpTalk) seg(c bool, seq, ack uint32, flags uint8, data string) []byte {
	if c {
		return pcapgen.IPTCP(k.cli, k.srv, seq, ack, flags, []byte(data))
	}
	return pcapgen.IPTCP(k.srv, k.cli, seq, ack, flags, []byte(data))
}

type connStateCase struct {
	want string
	pkts func(k tcpTalk) [][]byte
}

// connStateCases is one generated connection per Zeek conn_state value.
func connStateCases() []connStateCase {
	// Client ISN 1000, server ISN 5000; data "hello" each way.
	syn := func(k tcpTalk) []byte { return k.seg(true, 1000, 0, fS, "") }
	synack := func(k tcpTalk) []byte { return k.seg(false, 5000, 1001, fS|fA, "") }
	est := func(k tcpTalk) [][]byte {
		return [][]byte{syn(k), synack(k), k.seg(true, 1001, 5001, fA, ""),
			k.seg(true, 1001, 5001, fP|fA, "hello"), k.seg(false, 5001, 1006, fP|fA, "hello")}
	}
	cat := func(a [][]byte, b ...[]byte) [][]byte { return append(a, b...) }
	return []connStateCase{
		{"S0", func(k tcpTalk) [][]byte { return [][]byte{syn(k), syn(k)} }},
		{"S1", func(k tcpTalk) [][]byte { return est(k) }},
		{"SF", func(k tcpTalk) [][]byte {
			return cat(est(k), k.seg(true, 1006, 5006, fF|fA, ""), k.seg(false, 5006, 1007, fF|fA, ""), k.seg(true, 1007, 5007, fA, ""))
		}},
		{"REJ", func(k tcpTalk) [][]byte { return [][]byte{syn(k), k.seg(false, 0, 1001, fR|fA, "")} }},
		{"S2", func(k tcpTalk) [][]byte { return cat(est(k), k.seg(true, 1006, 5006, fF|fA, "")) }},
		{"S3", func(k tcpTalk) [][]byte { return cat(est(k), k.seg(false, 5006, 1006, fF|fA, "")) }},
		{"RSTO", func(k tcpTalk) [][]byte { return cat(est(k), k.seg(true, 1006, 5006, fR|fA, "")) }},
		{"RSTR", func(k tcpTalk) [][]byte { return cat(est(k), k.seg(false, 5006, 1006, fR|fA, "")) }},
		{"RSTOS0", func(k tcpTalk) [][]byte { return [][]byte{syn(k), k.seg(true, 1001, 0, fR, "")} }},
		{"RSTRH", func(k tcpTalk) [][]byte { return [][]byte{synack(k), k.seg(false, 5001, 0, fR, "")} }},
		{"SH", func(k tcpTalk) [][]byte { return [][]byte{syn(k), k.seg(true, 1001, 0, fF, "")} }},
		{"SHR", func(k tcpTalk) [][]byte { return [][]byte{synack(k), k.seg(false, 5001, 1001, fF|fA, "")} }},
		{"OTH", func(k tcpTalk) [][]byte {
			return [][]byte{k.seg(true, 3000, 7000, fP|fA, "hello"), k.seg(false, 7000, 3005, fP|fA, "hello")}
		}},
	}
}

// TestConnStatesEndToEnd drives one generated connection per Zeek
// conn_state value through the whole pipeline (decode, dispatch, flow
// table, record) and checks the record's conn_state, over IPv4 and IPv6.
func TestConnStatesEndToEnd(t *testing.T) {
	tests := connStateCases()
	talks := map[string]tcpTalk{
		"v4": {netip.MustParseAddrPort("10.0.0.5:50000"), netip.MustParseAddrPort("192.0.2.10:443")},
		"v6": {netip.MustParseAddrPort("[2001:db8::5]:50000"), netip.MustParseAddrPort("[2001:db8:1::10]:443")},
	}
	for _, tc := range tests {
		for fam, k := range talks {
			t.Run(tc.want+"/"+fam, func(t *testing.T) {
				recs := readFlows(t, replayRecords(t, "", 1, writeCapture(t, tc.pkts(k))))
				if len(recs) != 1 {
					t.Fatalf("%d records, want 1: %+v", len(recs), recs)
				}
				r := recs[0]
				if r.ConnState != tc.want {
					t.Errorf("conn_state %q (history %q), want %q", r.ConnState, r.History, tc.want)
				}
				if r.Src.IP != k.cli.Addr().String() {
					t.Errorf("initiator %s, want the client %s", r.Src.IP, k.cli.Addr())
				}
				if (tc.want == "REJ") != (r.Reject != nil && r.Reject.By == "rst") {
					t.Errorf("reject %+v with conn_state %s", r.Reject, r.ConnState)
				}
			})
		}
	}
}

// icmpError builds an ICMP (v4) or ICMPv6 error from router to the sender of
// quoted, quoting only its IP header and first 8 transport bytes.
func icmpError(router netip.Addr, typ, code uint8, quoted []byte) []byte {
	var src netip.Addr
	hl := 20
	if quoted[0]>>4 == 6 {
		hl = 40
		src = netip.AddrFrom16([16]byte(quoted[8:24]))
	} else {
		src = netip.AddrFrom4([4]byte(quoted[12:16]))
	}
	q := quoted[:hl+8]
	if router.Is4() {
		return pcapgen.IP(router, src, capture.ProtoICMP, pcapgen.ICMPv4(typ, code, 0, q))
	}
	return pcapgen.IP(router, src, capture.ProtoICMPv6, pcapgen.ICMPv6(router, src, typ, code, 0, q))
}

// TestICMPRejects: an ICMP error quoting the initiator's packet (only the
// first 8 bytes of TCP or UDP, as routers send) is attached to that flow
// as reject {by: icmp, type, code, from}, whichever worker owns the flow;
// the error is still a packet of its own ICMP flow; an error quoting the
// responder's packet, or a non-error ICMP message, attaches nothing.
func TestICMPRejects(t *testing.T) {
	type tc struct {
		name       string
		cli, srv   string
		router     string
		udp        bool
		typ, code  uint8
		fromServer bool // the error quotes the responder's packet
		want       bool
	}
	tests := []tc{
		{"v4 tcp admin prohibited", "10.0.0.5", "198.51.100.7", "192.0.2.254", false, 3, 13, false, true},
		{"v4 tcp host unreachable", "10.0.0.5", "198.51.100.7", "192.0.2.254", false, 3, 1, false, true},
		{"v4 udp port unreachable", "10.0.0.5", "198.51.100.7", "198.51.100.7", true, 3, 3, false, true},
		{"v4 tcp time exceeded", "10.0.0.5", "198.51.100.7", "192.0.2.1", false, 11, 0, false, true},
		{"v6 tcp admin prohibited", "2001:db8::5", "2001:db8:9::7", "2001:db8::fe", false, 1, 1, false, true},
		{"v6 udp port unreachable", "2001:db8::5", "2001:db8:9::7", "2001:db8:9::7", true, 1, 4, false, true},
		{"v6 tcp reject route", "2001:db8::5", "2001:db8:9::7", "2001:db8::fe", false, 1, 6, false, true},
		{"v6 tcp time exceeded", "2001:db8::5", "2001:db8:9::7", "2001:db8::1", false, 3, 0, false, true},
		{"v4 udp client refuses late reply", "10.0.0.5", "198.51.100.7", "10.0.0.5", true, 3, 3, true, false},
		{"v4 echo reply is no error", "10.0.0.5", "198.51.100.7", "192.0.2.254", false, 0, 0, false, false},
		{"v6 packet too big is no reject", "2001:db8::5", "2001:db8:9::7", "2001:db8::fe", false, 2, 0, false, false},
	}
	const flows = 8 // several client ports, so the flows spread over workers
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) {
			var pkts [][]byte
			router := netip.MustParseAddr(c.router)
			for i := range flows {
				cli := netip.AddrPortFrom(netip.MustParseAddr(c.cli), uint16(40000+i*7))
				srv := netip.AddrPortFrom(netip.MustParseAddr(c.srv), 443)
				var first []byte
				if c.udp {
					first = pcapgen.IPUDP(cli, srv, []byte("query"))
				} else {
					first = pcapgen.IPTCP(cli, srv, 1000, 0, fS, nil)
				}
				pkts = append(pkts, first)
				quoted := first
				if c.fromServer {
					reply := pcapgen.IPUDP(srv, cli, []byte("late"))
					pkts = append(pkts, reply)
					quoted = reply
				}
				pkts = append(pkts, icmpError(router, c.typ, c.code, quoted))
			}
			path := writeCapture(t, pkts)
			for _, workers := range []int{1, 4} {
				recs := readFlows(t, replayRecords(t, "", workers, path))
				var rejected, icmp int
				for _, r := range recs {
					if r.ICMP != nil {
						icmp++
						continue
					}
					if r.Reject == nil || r.Reject.By != "icmp" {
						continue
					}
					rejected++
					if r.Reject.Type == nil || *r.Reject.Type != c.typ || r.Reject.Code == nil || *r.Reject.Code != c.code || r.Reject.From != router.String() {
						t.Errorf("workers %d: reject %+v, want type %d code %d from %s", workers, r.Reject, c.typ, c.code, router)
					}
					if r.Src.IP != netip.MustParseAddr(c.cli).String() {
						t.Errorf("workers %d: rejected flow from %s", workers, r.Src.IP)
					}
				}
				want := 0
				if c.want {
					want = flows
				}
				if rejected != want {
					t.Errorf("workers %d: %d flows rejected by icmp, want %d", workers, rejected, want)
				}
				if icmp == 0 {
					t.Errorf("workers %d: the ICMP message formed no ICMP flow", workers)
				}
			}
		})
	}
}

// TestConnStatesTshark cross-checks the conn_state of every generated
// connection against a derivation from tshark's per-packet TCP flags, using
// Zeek's documented meanings (not tapdlp's history letters): tshark
// decodes the packets independently of tapdlp's decoder and flow table.
func TestConnStatesTshark(t *testing.T) {
	testenv.Slow(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	k := tcpTalk{netip.MustParseAddrPort("10.0.0.5:50000"), netip.MustParseAddrPort("192.0.2.10:443")}
	for _, tc := range connStateCases() {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			path := writeCapture(t, tc.pkts(k))
			out, err := exec.Command("tshark", "-r", path, "-T", "fields", "-E", "separator=,",
				"-e", "tcp.srcport", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.flags.fin",
				"-e", "tcp.flags.reset", "-e", "tcp.len").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			derived := zeekStateFromFlags(t, string(out), k.cli.Port())
			if derived != tc.want {
				t.Fatalf("tshark flags derive %s, the case means %s", derived, tc.want)
			}
			recs := readFlows(t, replayRecords(t, "", 1, path))
			if len(recs) != 1 || recs[0].ConnState != derived {
				t.Errorf("record %+v, tshark-derived %s", recs, derived)
			}
		})
	}
}

// zeekStateFromFlags applies Zeek's conn_state definitions to tshark rows
// (srcport,syn,ack,fin,rst,len); the originator sends from origPort.
func zeekStateFromFlags(t *testing.T, rows string, origPort uint16) string {
	type side struct{ syn, synack, fin, rst, any bool }
	var o, r side
	for _, row := range strings.Split(strings.TrimSpace(rows), "\n") {
		f := strings.Split(row, ",")
		if len(f) != 6 {
			t.Fatalf("tshark row %q", row)
		}
		on := func(s string) bool { return s == "1" || s == "True" }
		s := &r
		if f[0] == strconv.Itoa(int(origPort)) {
			s = &o
		}
		s.any = true
		if on(f[1]) && on(f[2]) {
			s.synack = true
		} else if on(f[1]) {
			s.syn = true
		}
		s.fin = s.fin || on(f[3])
		s.rst = s.rst || on(f[4])
	}
	switch {
	case o.syn && !r.any:
		switch {
		case o.rst:
			return "RSTOS0"
		case o.fin:
			return "SH"
		}
		return "S0"
	case o.syn && !r.synack && r.rst:
		return "REJ"
	case r.synack && !o.syn:
		switch {
		case r.rst:
			return "RSTRH"
		case r.fin:
			return "SHR"
		}
		return "OTH"
	case !o.syn && !r.synack:
		return "OTH"
	case o.rst:
		return "RSTO"
	case r.rst:
		return "RSTR"
	case o.fin && r.fin:
		return "SF"
	case o.fin:
		return "S2"
	case r.fin:
		return "S3"
	}
	return "S1"
}
