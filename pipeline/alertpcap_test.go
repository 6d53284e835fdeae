package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/recordschema"
	"github.com/tapdlp/tapdlp/internal/testenv"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/pcaplog"
)

// alertPcapFlows writes a capture of four interleaved HTTP flows: "exfil"
// names a host a rule watches (its alert fires live, on the request),
// "big" uploads 60 kB to an address another rule watches above 20 kB (its
// alert fires when the flow ends, long after pcap_flow_bytes), and two
// others alert on nothing. It returns the frames of each flow in capture
// order.
func alertPcapFlows(t *testing.T, path string) map[string][][]byte {
	t.Helper()
	type flow struct {
		name   string
		frames [][]byte
	}
	mk := func(name, cli, srv, req string, body int) flow {
		c := pcapgen.NewTCPConn(ap(cli), ap(srv), 1000, 5000)
		segs := c.Handshake()
		msg := req + fmt.Sprintf("Content-Length: %d\r\n\r\n", body) + strings.Repeat("x", body)
		segs = append(segs, c.Send(true, []byte(msg))...)
		segs = append(segs, c.Send(false, []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))...)
		segs = append(segs, c.Close(true)...)
		var fr [][]byte
		for _, p := range c.Packets(segs) {
			fr = append(fr, pcapgen.EthernetIP(p))
		}
		return flow{name, fr}
	}
	flows := []flow{
		mk("exfil", "10.0.0.5:40001", "198.51.100.7:80", "POST /up HTTP/1.1\r\nHost: upload.exfil.example\r\n", 1000),
		mk("web1", "10.0.0.6:40002", "192.0.2.10:80", "GET / HTTP/1.1\r\nHost: www.example.com\r\n", 0),
		mk("big", "10.0.0.8:40004", "198.51.100.9:80", "POST /big HTTP/1.1\r\nHost: files.example.net\r\n", 60000),
		mk("web2", "10.0.0.7:40003", "192.0.2.11:80", "GET /x HTTP/1.1\r\nHost: www.example.org\r\n", 0),
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcapgen.NewWriter(f, pcapgen.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][][]byte{}
	for i := 0; ; i++ {
		wrote := false
		for _, fl := range flows {
			if i < len(fl.frames) {
				if err := w.WriteFrame(fl.frames[i]); err != nil {
					t.Fatal(err)
				}
				out[fl.name] = append(out[fl.name], fl.frames[i])
				wrote = true
			}
		}
		if !wrote {
			break
		}
	}
	return out
}

const alertPcapRules = `
  default_rules: false
  pcap_flow_bytes: 8KiB
rules:
  - id: exfil-host
    severity: high
    when: {dst.name: [upload.exfil.example]}
  - id: big-upload
    severity: medium
    when: {dst.ip: [198.51.100.9], bytes.out: ">20000"}
`

// replayAlertPcaps replays capture with alert pcaps into dir and returns
// the alerts by rule and the counters.
func replayAlertPcaps(t *testing.T, dir string, workers int, capture string) (map[string]record.Alert, pcaplog.View) {
	t.Helper()
	cfg, err := parseTestConfig("alerts:\n  pcap_dir: " + dir + alertPcapRules)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = workers
	var buf bytes.Buffer
	sink := record.NewWriterSink(&buf)
	p, err := New(cfg, Options{Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Replay(context.Background(), []string{capture}); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pr := range recordschema.ValidateLines(buf.Bytes()) {
		t.Errorf("schema: %s", pr)
	}
	alerts := map[string]record.Alert{}
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var a record.Alert
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		if a.Type == "alert" {
			if _, dup := alerts[a.Rule]; dup {
				t.Errorf("two %s alerts", a.Rule)
			}
			alerts[a.Rule] = a
		}
	}
	return alerts, p.AlertPcapStats()
}

type pcapRec struct {
	file string
	off  int64
	data []byte
	wire int
}

// readAlertPcaps reads every alert pcap in dir with gopacket's reader,
// noting each record's offset.
func readAlertPcaps(t *testing.T, dir string) []pcapRec {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "alerts-*.pcap"))
	var out []pcapRec
	for _, name := range names {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != pcaplog.Snaplen {
			t.Errorf("%s: link type %v snaplen %d", name, r.LinkType(), r.Snaplen())
		}
		off := int64(24)
		for {
			data, ci, err := r.ReadPacketData()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			// The record at off, read by hand, is the one the reader returned.
			if n := int(binary.LittleEndian.Uint32(raw[off+8:])); n != len(data) || !bytes.Equal(raw[off+16:off+16+int64(n)], data) {
				t.Fatalf("%s: record at %d does not match the reader's", name, off)
			}
			out = append(out, pcapRec{name, off, data, ci.Length})
			off += 16 + int64(len(data))
		}
	}
	return out
}

// Exactly the alerting flows' packets reach the alert pcaps, in order, at
// the offsets their alerts name: all of the live alert's flow (kept before
// the alert, the request it fired on, what followed), and the first
// pcap_flow_bytes of the flow whose alert came at its end (truncated). With
// one worker or several, and the same bytes on every replay.
func TestAlertPcapsHoldExactlyTheAlertingFlows(t *testing.T) {
	capture := filepath.Join(t.TempDir(), "flows.pcap")
	frames := alertPcapFlows(t, capture)
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "pcaps")
			alerts, st := replayAlertPcaps(t, dir, workers, capture)
			ex, big := alerts["exfil-host"], alerts["big-upload"]
			if ex.PCAP == nil || big.PCAP == nil {
				t.Fatalf("alerts without pcap: %+v %+v", ex, big)
			}
			if ex.PCAP.Truncated || !big.PCAP.Truncated {
				t.Errorf("truncated: exfil %v (want false), big %v (want true)", ex.PCAP.Truncated, big.PCAP.Truncated)
			}
			recs := readAlertPcaps(t, dir)
			byFlow := map[string][]pcapRec{}
			for _, r := range recs {
				found := ""
				for name, fr := range frames {
					for _, f := range fr {
						if bytes.HasPrefix(f, r.data) && len(r.data) > 0 {
							found = name
						}
					}
				}
				if found == "" {
					t.Fatalf("%s:%d holds a frame of no flow", r.file, r.off)
				}
				byFlow[found] = append(byFlow[found], r)
			}
			if len(byFlow["web1"])+len(byFlow["web2"]) != 0 {
				t.Errorf("frames of flows that did not alert were written: %d", len(byFlow["web1"])+len(byFlow["web2"]))
			}
			// The live alert's flow: every frame, in order, whole.
			got := byFlow["exfil"]
			if len(got) != len(frames["exfil"]) {
				t.Fatalf("exfil: %d frames written, want %d", len(got), len(frames["exfil"]))
			}
			for i, r := range got {
				if !bytes.Equal(r.data, frames["exfil"][i]) || r.wire != len(frames["exfil"][i]) {
					t.Errorf("exfil frame %d differs", i)
				}
			}
			if got[0].file != ex.PCAP.File || got[0].off != ex.PCAP.Offset {
				t.Errorf("exfil alert names %s:%d, its first frame is at %s:%d", ex.PCAP.File, ex.PCAP.Offset, got[0].file, got[0].off)
			}
			if ex.PCAP.Packets < 4 || ex.PCAP.Packets >= len(got) {
				t.Errorf("exfil alert counts %d packets: want the handshake and the request (≥4), not what came after", ex.PCAP.Packets)
			}
			// The late alert's flow: a prefix of its frames within 8 KiB.
			gb := byFlow["big"]
			if len(gb) != big.PCAP.Packets || gb[0].file != big.PCAP.File || gb[0].off != big.PCAP.Offset {
				t.Fatalf("big: %d frames at %s:%d, alert says %+v", len(gb), gb[0].file, gb[0].off, *big.PCAP)
			}
			held := 0
			for i, r := range gb {
				held += len(r.data)
				if !bytes.HasPrefix(frames["big"][i], r.data) || (i < len(gb)-1 && len(r.data) != len(frames["big"][i])) {
					t.Errorf("big frame %d is not the flow's frame %d", i, i)
				}
			}
			if held != 8<<10 || len(gb) >= len(frames["big"]) {
				t.Errorf("big: %d bytes in %d frames written, want exactly 8KiB of %d frames", held, len(gb), len(frames["big"]))
			}
			if st.Alerts != 2 || st.FlowsStored != 4 || st.HeldBytes != 0 || st.Evicted != 0 || st.Packets != uint64(len(recs)) {
				t.Errorf("counters %+v", st)
			}
			if over := st.Dropped[1]; over.Reason != "over_cap" || over.N != uint64(len(frames["big"])-len(gb)) {
				t.Errorf("over_cap %+v, want %d", over, len(frames["big"])-len(gb))
			}
			if testenv.SlowEnabled() {
				tsharkAgrees(t, recs)
			}

			// Replayed again: the same files, byte for byte.
			dir2 := filepath.Join(t.TempDir(), "pcaps")
			alerts2, _ := replayAlertPcaps(t, dir2, workers, capture)
			if a := alerts2["exfil-host"].PCAP; a == nil || filepath.Base(a.File) != filepath.Base(ex.PCAP.File) || a.Offset != ex.PCAP.Offset || a.Packets != ex.PCAP.Packets {
				t.Errorf("second replay: %+v, first %+v", a, ex.PCAP)
			}
			n1, _ := filepath.Glob(filepath.Join(dir, "*"))
			n2, _ := filepath.Glob(filepath.Join(dir2, "*"))
			if len(n1) != len(n2) {
				t.Fatalf("files %v then %v", n1, n2)
			}
			for i := range n1 {
				b1, _ := os.ReadFile(n1[i])
				b2, _ := os.ReadFile(n2[i])
				if filepath.Base(n1[i]) != filepath.Base(n2[i]) || !bytes.Equal(b1, b2) {
					t.Errorf("%s and %s differ", n1[i], n2[i])
				}
			}
		})
	}
}

// tsharkAgrees reads every alert pcap with tshark: it must open them and
// see the same number of frames with the same lengths.
func tsharkAgrees(t *testing.T, recs []pcapRec) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Fatal("TAPDLP_SLOW=1 but tshark is not installed")
	}
	files := map[string][]int{}
	var order []string
	for _, r := range recs {
		if _, ok := files[r.file]; !ok {
			order = append(order, r.file)
		}
		files[r.file] = append(files[r.file], len(r.data))
	}
	for _, f := range order {
		out, err := exec.Command("tshark", "-r", f, "-T", "fields", "-e", "frame.cap_len", "-e", "eth.type").Output()
		if err != nil {
			t.Fatalf("tshark -r %s: %v", f, err)
		}
		var lens []int
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			var n int
			var et string
			if _, err := fmt.Sscan(l, &n, &et); err != nil || et != "0x0800" {
				t.Errorf("tshark line %q: not an Ethernet IPv4 frame", l)
			}
			lens = append(lens, n)
		}
		if !slices.Equal(lens, files[f]) {
			t.Errorf("tshark sees frame lengths %v in %s, pcapgo %v", lens, f, files[f])
		}
	}
}

// Keeping frames changes no record: with alert pcaps on, each of these
// committed captures (IPv4 and IPv6 fragments, tunnels, VLANs, Linux cooked
// and pcapng links, HTTP, TLS, DNS) gives the same records as with them
// off, but for the alerts' pcap field (and dst.first_seen, see TestGolden).
func TestAlertPcapsChangeNoRecord(t *testing.T) {
	canon := func(lines []string, drop bool) ([]string, int) {
		n := 0
		for i, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			if _, ok := m["pcap"]; ok && drop {
				n++
				delete(m, "pcap")
			}
			// As TestGolden: flows still open at the end are written in
			// map order, and first_seen goes to whichever is written first.
			if dst, ok := m["dst"].(map[string]any); ok {
				delete(dst, "first_seen")
			}
			b, _ := json.Marshal(m)
			lines[i] = string(b)
		}
		slices.Sort(lines)
		return lines, n
	}
	for _, name := range []string{"demo.pcap", "inspect.pcap", "l2-l3.pcap", "arkime_gre-erspan-vxlan.pcap", "cce_credit-cards.pcap",
		"zeek_ipv4_fragmented-4.pcap", "sv_defrag_frag-eth-vlan-ipv6-tcp.pcap", "ndpi_dns_fragmented.pcap", "sll2.pcap", "ja4_tls-sni.pcapng"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(pcapDir, name)
			off, _ := canon(replayRecords(t, "", 1, file), false)
			on, pcaps := canon(replayRecords(t, "alerts: {pcap_dir: "+filepath.Join(t.TempDir(), "p")+"}\n", 1, file), true)
			if !slices.Equal(off, on) {
				t.Errorf("records differ with alert pcaps on")
			}
			t.Logf("%d records, %d alerts with a pcap", len(on), pcaps)
		})
	}
}

func TestWithin(t *testing.T) {
	b := make([]byte, 100)
	other := make([]byte, 200)
	for _, tt := range []struct {
		name     string
		sub      []byte
		off      int
		isWithin bool
	}{
		{"middle", b[10:30], 10, true},
		{"whole", b, 0, true},
		{"tail", b[90:], 90, true},
		{"empty", b[5:5], 0, false},
		{"elsewhere", other[:10], 0, false},
		{"longer than b", other, 0, false},
		{"nil", nil, 0, false},
	} {
		off, ok := within(b, tt.sub)
		if ok != tt.isWithin || (ok && off != tt.off) {
			t.Errorf("%s: within = %d, %v; want %d, %v", tt.name, off, ok, tt.off, tt.isWithin)
		}
	}
}
