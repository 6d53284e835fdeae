package pipeline

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
)

// Capture loss is counted also where the flow is no longer reassembled: a
// TLS flow stops being read after its ClientHello, yet bytes the server
// acknowledges and the sensor never saw are missed_bytes; reordered
// segments are not.
func TestMissedBytesAfterReassemblyStops(t *testing.T) {
	build := func(lose, reorder bool) string {
		var buf bytes.Buffer
		w, _ := pcapgen.NewWriter(&buf, pcapgen.LinkEthernet)
		conn := pcapgen.NewTCPConn(ap("10.0.0.5:50000"), ap("192.0.2.10:443"), 100, 900)
		var segs []pcapgen.Segment
		segs = append(segs, conn.Handshake()...)
		segs = append(segs, conn.Send(true, scenarios.ClientHello("upload.example.com"))...)
		segs = append(segs, conn.Send(false, scenarios.TLSRecords(0x16, 1000))...)
		data := conn.Send(true, scenarios.TLSRecords(0x17, 6000))
		switch {
		case lose:
			data = append(data[:1], data[2:]...) // one 1460-byte segment never captured
		case reorder:
			data[1], data[2] = data[2], data[1]
		}
		segs = append(segs, data...)
		segs = append(segs, conn.Send(false, scenarios.TLSRecords(0x17, 100))...) // acknowledges everything
		segs = append(segs, conn.Close(true)...)
		for _, s := range segs {
			w.WriteIP(conn.Packet(s))
		}
		path := filepath.Join(t.TempDir(), "f.pcap")
		os.WriteFile(path, buf.Bytes(), 0o644)
		return path
	}
	missed := func(path string) (uint64, string) {
		for _, l := range replayRecords(t, "", 1, path) {
			var r struct {
				MissedBytes uint64 `json:"missed_bytes"`
				History     string
				App         string
			}
			json.Unmarshal([]byte(l), &r)
			if r.App == "tls" {
				return r.MissedBytes, r.History
			}
		}
		t.Fatal("no TLS flow")
		return 0, ""
	}
	if n, h := missed(build(true, false)); n != 1460 || !strings.Contains(h, "G") {
		t.Errorf("lost segment: missed_bytes %d history %q, want 1460 and a G", n, h)
	}
	if n, h := missed(build(false, true)); n != 0 || strings.Contains(h, "G") {
		t.Errorf("reordered segments: missed_bytes %d history %q, want 0 and no G", n, h)
	}
	if n, _ := missed(build(false, false)); n != 0 {
		t.Errorf("clean flow: missed_bytes %d", n)
	}
}
