package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
)

// The benchmark mix must be deterministic (every run reads the same bytes),
// decode without errors, and be the promised mix: mostly TLS, HTTP with
// JSON bodies, DNS, QUIC and other TCP.
func TestMix(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	for _, p := range []string{a, b} {
		if err := run(p, 4<<20, 64, 1); err != nil {
			t.Fatal(err)
		}
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Fatal("two runs with one seed differ")
	}
	src, err := capture.OpenFile(a)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dec := capture.NewDecoder(capture.DecoderConfig{}, nil)
	var p capture.Packet
	ports := map[uint16]int{}
	n := 0
	for {
		data, m, err := src.Next()
		if err != nil {
			break
		}
		n++
		if r := dec.Decode(data, m, &p); r != capture.OK {
			t.Fatalf("packet %d: %v", n, r)
		}
		port := p.DstPort
		if p.SrcPort < p.DstPort {
			port = p.SrcPort
		}
		ports[port]++
	}
	if n < 1000 {
		t.Fatalf("only %d packets", n)
	}
	for _, port := range []uint16{443, 80, 53, 5432} {
		if ports[port] == 0 {
			t.Errorf("no packets on port %d: %v", port, ports)
		}
	}
	if ports[443] < n/2 {
		t.Errorf("TLS/QUIC is %d of %d packets, want the majority", ports[443], n)
	}
}

// The short-flow and open-flow profiles: deterministic, decodable, and the
// shapes BENCHMARKS.md describes (many small flows; flows that never close).
func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.pcap")
	if err := runProfile(short, 3<<20, 256, 7, profileShort); err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(dir, "short2.pcap")
	if err := runProfile(again, 3<<20, 256, 7, profileShort); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(short)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Fatal("short profile: two runs with one seed differ")
	}
	st := profileStats(t, short)
	if perFlow := float64(st.packets) / float64(st.flows); perFlow > 40 {
		t.Errorf("short profile: %.1f packets per flow, want short flows", perFlow)
	}
	if st.small*5 < st.packets { // pure ACKs, DNS and handshakes: a large share of small packets
		t.Errorf("short profile: %d of %d packets are small", st.small, st.packets)
	}
	for _, port := range []uint16{443, 80, 53, 8443} {
		if st.ports[port] == 0 {
			t.Errorf("short profile: no packets on port %d", port)
		}
	}

	open := filepath.Join(dir, "open.pcap")
	if err := runOpen(open, 500, 3); err != nil {
		t.Fatal(err)
	}
	st = profileStats(t, open)
	if st.fins != 0 {
		t.Errorf("open profile: %d FIN packets, want none", st.fins)
	}
	if st.flows < 490 {
		t.Errorf("open profile: %d flows, want 500", st.flows)
	}
}

type mixStats struct {
	packets, small, fins, flows int
	ports                       map[uint16]int
}

func profileStats(t *testing.T, path string) mixStats {
	t.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dec := capture.NewDecoder(capture.DecoderConfig{}, nil)
	var p capture.Packet
	st := mixStats{ports: map[uint16]int{}}
	seen := map[[2]uint16]bool{}
	for {
		data, m, err := src.Next()
		if err != nil {
			break
		}
		st.packets++
		if r := dec.Decode(data, m, &p); r != capture.OK {
			t.Fatalf("packet %d: %v", st.packets, r)
		}
		if len(data) <= 100 {
			st.small++
		}
		if p.TCPFlags&capture.TCPFin != 0 {
			st.fins++
		}
		lo, hi := min(p.SrcPort, p.DstPort), max(p.SrcPort, p.DstPort)
		st.ports[lo]++
		if !seen[[2]uint16{lo, hi}] {
			seen[[2]uint16{lo, hi}] = true
			st.flows++
		}
	}
	return st
}
