package pipeline

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
)

// segFlow is one test conversation: what the client sends, then what the
// server answers, and what its record must say.
type segFlow struct {
	name          string
	server        string
	out, in       []byte
	app, dstName  string
	wantSensitive bool
}

func segFlows() []segFlow {
	lenPrefixed := func(m []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(m))), m...) }
	ans := scenarios.DNSAnswer{Name: "files.example.com", Addr: netip.MustParseAddr("192.0.2.7"), TTL: 60}
	return []segFlow{
		{name: "http-host", server: "198.51.100.9:80", app: "http", dstName: "api.openai.com", wantSensitive: true,
			out: scenarios.HTTPRequest("POST", "/v1/chat/completions", "api.openai.com", []string{"Content-Type: application/json"},
				[]byte(`{"note":"card 4111 1111 1111 1111 exp 12/29"}`)),
			in: scenarios.HTTPResponse(200, "application/json", []byte(`{"ok":true}`))},
		{name: "http-any-port", server: "198.51.100.9:8081", app: "http", dstName: "uploads.dropbox.com",
			out: scenarios.HTTPRequest("PUT", "/file?"+strings.Repeat("k=v&", 150), "uploads.dropbox.com", nil, []byte("hello")),
			in:  scenarios.HTTPResponse(201, "text/plain", nil)},
		{name: "tls-clienthello", server: "198.51.100.9:443", app: "tls", dstName: "claude.ai",
			out: scenarios.ClientHello("claude.ai", "h2", "http/1.1"), in: scenarios.TLSRecords(22, 200)},
		{name: "dns-over-tcp", server: "198.51.100.53:53", app: "dns",
			out: lenPrefixed(scenarios.DNSQuery(7, "files.example.com", 1)),
			in:  lenPrefixed(scenarios.DNSResponse(7, "files.example.com", 1, ans))},
	}
}

// segmentation is one way of putting a conversation's bytes on the wire.
type segmentation struct {
	name    string
	mss     int
	shuffle func(rng *rand.Rand, segs []pcapgen.Segment) []pcapgen.Segment
}

func segmentations() []segmentation {
	swapPairs := func(_ *rand.Rand, s []pcapgen.Segment) []pcapgen.Segment {
		for i := 0; i+1 < len(s); i += 2 {
			s[i], s[i+1] = s[i+1], s[i]
		}
		return s
	}
	firstLast := func(_ *rand.Rand, s []pcapgen.Segment) []pcapgen.Segment {
		return append(s[1:], s[0]) // the first segment arrives last
	}
	retransmit := func(rng *rand.Rand, s []pcapgen.Segment) []pcapgen.Segment {
		var out []pcapgen.Segment
		for _, seg := range s {
			out = append(out, seg)
			if rng.Intn(3) == 0 {
				out = append(out, seg) // an identical retransmission
			}
		}
		return out
	}
	shuffled := func(rng *rand.Rand, s []pcapgen.Segment) []pcapgen.Segment {
		s = retransmit(rng, s)
		rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		return s
	}
	return []segmentation{
		{name: "whole", mss: 1460},
		{name: "1-byte", mss: 1},
		{name: "2-byte", mss: 2},
		{name: "7-byte", mss: 7},
		{name: "13-byte-reordered", mss: 13, shuffle: swapPairs},
		{name: "5-byte-first-last", mss: 5, shuffle: firstLast},
		{name: "3-byte-retransmitted", mss: 3, shuffle: retransmit},
		{name: "random", mss: -1, shuffle: shuffled},
		{name: "random-2", mss: -1, shuffle: shuffled},
	}
}

// send cuts data into segments: fixed MSS, or random sizes (mss < 0).
func send(conn *pcapgen.TCPConn, fromClient bool, data []byte, mss int, rng *rand.Rand) []pcapgen.Segment {
	if mss > 0 {
		conn.MSS = mss
		return conn.Send(fromClient, data)
	}
	var out []pcapgen.Segment
	for len(data) > 0 {
		conn.MSS = 1 + rng.Intn(60)
		n := min(conn.MSS, len(data))
		out = append(out, conn.Send(fromClient, data[:n])...)
		data = data[n:]
	}
	return out
}

// writeSegmented writes f's conversation, cut and shuffled by sg, as a
// capture file.
func writeSegmented(t *testing.T, dir string, f segFlow, sg segmentation, rng *rand.Rand) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	conn := pcapgen.NewTCPConn(netip.MustParseAddrPort("10.9.0.5:41000"), netip.MustParseAddrPort(f.server), 1000, 5000)
	var segs []pcapgen.Segment
	segs = append(segs, conn.Handshake()...)
	out := send(conn, true, f.out, sg.mss, rng)
	in := send(conn, false, f.in, sg.mss, rng)
	if sg.shuffle != nil {
		out, in = sg.shuffle(rng, out), sg.shuffle(rng, in)
	}
	segs = append(append(segs, out...), in...)
	segs = append(segs, conn.Close(true)...)
	for _, s := range segs {
		if err := w.WriteIP(conn.Packet(s)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, f.name+"-"+sg.name+".pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// appFields keeps what a flow's payload decides — protocol, destination,
// parsed facts, findings, alerts — and drops what packetisation changes
// (packet and byte counts, history, end time, record time).
func appFields(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"ts", "end", "duration", "bytes", "packets", "history", "reassembly"} {
			delete(m, k)
		}
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	return out
}

// TestSegmentationInvariance is issue 12.1's property: for each flow, every
// segmentation — 1-byte segments, random sizes, reordered, with
// retransmissions — produces the identical record.
func TestSegmentationInvariance(t *testing.T) {
	dir := t.TempDir()
	for _, f := range segFlows() {
		t.Run(f.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(12))
			var want []string
			for _, sg := range segmentations() {
				got := appFields(t, replayRecords(t, "", 1, writeSegmented(t, dir, f, sg, rng)))
				if want == nil {
					want = got
					checkSegFlow(t, f, want)
					continue
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s: records differ from whole segments:\n%s", sg.name, lineDiff(strings.Join(want, "\n"), strings.Join(got, "\n")))
				}
			}
		})
	}
}

// checkSegFlow asserts the reference record says what the flow is, so the
// property cannot hold vacuously (every segmentation equally wrong).
func checkSegFlow(t *testing.T, f segFlow, lines []string) {
	t.Helper()
	var flow map[string]any
	for _, l := range lines {
		var m map[string]any
		json.Unmarshal([]byte(l), &m)
		if m["type"] == "flow" {
			flow = m
		}
	}
	if flow == nil {
		t.Fatalf("no flow record in %v", lines)
	}
	dst, _ := flow["dst"].(map[string]any)
	if flow["app"] != f.app || f.dstName != "" && dst["name"] != f.dstName {
		t.Fatalf("whole segments: app %v, dst %v; want %s %s", flow["app"], dst, f.app, f.dstName)
	}
	if _, has := flow["sensitive"]; has != f.wantSensitive {
		t.Fatalf("whole segments: sensitive %v, want present=%v", flow["sensitive"], f.wantSensitive)
	}
}
