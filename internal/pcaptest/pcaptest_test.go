package pcaptest

import (
	"bytes"
	"path/filepath"
	"testing"
)

// The helper's TCP rebuild must give the parsers exactly what was sent:
// tcp-edge.pcap's out-of-order flow (port 40001) reorders segments, its
// retransmission flow (40002) repeats one, and its gap flow (40004) has a
// hole the rebuild must stop at.
func TestTCPStreams(t *testing.T) {
	pkts, err := Load(filepath.Join("..", "..", "testdata", "pcap", "tcp-edge.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	byPort := map[uint16]Stream{}
	for _, s := range TCPStreams(pkts) {
		byPort[s.Client.Port()] = s
	}
	// The scenario's payload: 'a' + (seed+byte(i))%26 for i < n.
	pattern := func(seed byte, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a' + (seed+byte(i))%26
		}
		return b
	}
	for port, want := range map[uint16][]byte{40001: pattern(1, 4000), 40002: pattern(3, 3000)} {
		s, ok := byPort[port]
		if !ok {
			t.Fatalf("no stream for client port %d", port)
		}
		if got := Bytes(s.ClientChunks); !bytes.Equal(got, want) || s.ClientGap {
			t.Errorf("port %d: rebuilt %d bytes (gap %v), want the %d bytes sent", port, len(got), s.ClientGap, len(want))
		}
	}
	if s := byPort[40004]; !s.ClientGap || len(Bytes(s.ClientChunks)) != 1000 {
		t.Errorf("gap flow: %d bytes, gap %v; want 1000 bytes then the gap", len(Bytes(s.ClientChunks)), s.ClientGap)
	}
	if !bytes.Equal(Bytes([][]byte{[]byte("ab"), []byte("c")}), []byte("abc")) {
		t.Error("Bytes does not join")
	}
}

func TestSessionsAndSnapshots(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "pcap")
	ss, err := ArkimeSessions(filepath.Join(dir, "arkime_tls13.pcap.arkime.test.json"))
	if err != nil || len(ss) == 0 || len(ss[0].Hosts) == 0 {
		t.Errorf("Arkime sessions: %v %+v", err, ss)
	}
	es, err := JA4Snapshot(filepath.Join(dir, "ja4_tls-sni.pcapng.ja4.snap"))
	if err != nil || len(es) == 0 || es[0].JA4 == "" {
		t.Errorf("JA4 snapshot: %v %d entries", err, len(es))
	}
	if _, err := JA4Snapshot(filepath.Join(dir, "demo.pcap")); err == nil {
		t.Error("a capture read as a snapshot")
	}
}
