package pipeline

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
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

// TestConnStatesEndToEnd drives one generated connection per Zeek
// conn_state value through the whole pipeline (decode, dispatch, flow
// table, record) and checks the record's conn_state, over IPv4 and IPv6.
func TestConnStatesEndToEnd(t *testing.T) {
	// Client ISN 1000, server ISN 5000; data "hello" each way.
	syn := func(k tcpTalk) []byte { return k.seg(true, 1000, 0, fS, "") }
	synack := func(k tcpTalk) []byte { return k.seg(false, 5000, 1001, fS|fA, "") }
	est := func(k tcpTalk) [][]byte {
		return [][]byte{syn(k), synack(k), k.seg(true, 1001, 5001, fA, ""),
			k.seg(true, 1001, 5001, fP|fA, "hello"), k.seg(false, 5001, 1006, fP|fA, "hello")}
	}
	cat := func(a [][]byte, b ...[]byte) [][]byte { return append(a, b...) }
	tests := []struct {
		want string
		pkts func(k tcpTalk) [][]byte
	}{
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
