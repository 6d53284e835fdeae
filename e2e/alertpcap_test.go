package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tapdlp/tapdlp/record"
)

// tupleOf names a frame's TCP/UDP conversation, both directions alike.
func tupleOf(frame []byte) string {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.NoCopy)
	nl, tl := p.NetworkLayer(), p.TransportLayer()
	if nl == nil || tl == nil {
		return ""
	}
	a := nl.NetworkFlow().Src().String() + ":" + tl.TransportFlow().Src().String()
	b := nl.NetworkFlow().Dst().String() + ":" + tl.TransportFlow().Dst().String()
	if b < a {
		a, b = b, a
	}
	return a + "-" + b
}

func readFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, data)
	}
}

// `tapdlp run` writes alert pcaps as replay does: the demo capture sent
// over a veth, every alert names a file and offset where its flow's frames
// are, byte for byte as they were sent, and no other flow's frames are
// there.
func TestLiveAlertPcaps(t *testing.T) {
	requireNetns(t)
	requireTool(t, "tcpreplay")
	id := uniq()
	tx, rx := "tdpt"+id, "tdpr"+id
	addVeth(t, tx, rx, 1500)
	linkUp(t, tx, rx)
	dir := t.TempDir()
	pcaps := filepath.Join(dir, "pcaps")
	cfg := filepath.Join(dir, "tapdlp.yaml")
	if err := os.WriteFile(cfg, []byte("alerts:\n  pcap_dir: "+pcaps+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	demo := testdata(t, "demo.pcap")
	byFlow := map[string][][]byte{}
	for _, f := range readFrames(t, demo) {
		byFlow[tupleOf(f)] = append(byFlow[tupleOf(f)], f)
	}

	s := startSensor(t, "-c", cfg, "-i", rx, "-workers", "2")
	sh(t, "tcpreplay", "-q", "--pps", "2000", "-i", tx, demo)
	s.stop(t)

	out, err := os.Open(s.out)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	alerting := map[string]bool{}
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var a record.Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil || a.Type != "alert" {
			continue
		}
		n++
		if a.PCAP == nil {
			t.Errorf("alert %s has no pcap", a.Rule)
			continue
		}
		key := fmt.Sprintf("%s:%d-%s:%d", a.Src.IP, a.Src.Port, a.Dst.IP, a.Dst.Port)
		if k2 := fmt.Sprintf("%s:%d-%s:%d", a.Dst.IP, a.Dst.Port, a.Src.IP, a.Src.Port); k2 < key {
			key = k2
		}
		alerting[key] = true
		want := byFlow[key]
		if len(want) == 0 {
			t.Fatalf("alert %s: no flow %s in the demo", a.Rule, key)
		}
		raw, err := os.ReadFile(a.PCAP.File)
		if err != nil {
			t.Fatal(err)
		}
		if caplen := int(uint32(raw[a.PCAP.Offset+8]) | uint32(raw[a.PCAP.Offset+9])<<8); !bytes.Equal(raw[a.PCAP.Offset+16:a.PCAP.Offset+16+int64(caplen)], want[0]) {
			t.Errorf("alert %s: the record at %s:%d is not its flow's first frame", a.Rule, a.PCAP.File, a.PCAP.Offset)
		}
	}
	if n == 0 {
		t.Fatal("no alerts: the demo capture should raise the default rules' alerts")
	}
	names, _ := filepath.Glob(filepath.Join(pcaps, "alerts-*.pcap"))
	got := map[string][][]byte{}
	for _, name := range names {
		for _, f := range readFrames(t, name) {
			got[tupleOf(f)] = append(got[tupleOf(f)], f)
		}
	}
	for key, frames := range got {
		if !alerting[key] {
			t.Errorf("%d frames of %s, which did not alert, were written", len(frames), key)
			continue
		}
		if want := byFlow[key]; len(frames) != len(want) {
			t.Errorf("%s: %d frames written, %d sent", key, len(frames), len(want))
		} else {
			for i := range frames {
				if !bytes.Equal(frames[i], want[i]) {
					t.Errorf("%s: frame %d differs from the one sent", key, i)
				}
			}
		}
	}
	for key := range alerting {
		if len(got[key]) == 0 {
			t.Errorf("alerting flow %s has no frames in the pcaps", key)
		}
	}
}
