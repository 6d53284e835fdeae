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
