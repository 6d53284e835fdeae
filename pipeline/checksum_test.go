package pipeline

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// decode.checksums reaches the decoder: "on" drops every packet with a bad
// checksum, "off" keeps them all, "auto" keeps a direction that never
// carried a good checksum (an offloaded capture) and drops a bad packet in
// one that did (a decoy).
func TestChecksumModeConfig(t *testing.T) {
	cli, srv := ap("10.9.1.5:41000"), ap("192.0.2.97:9000")
	conn := func() *pcapgen.TCPConn { return pcapgen.NewTCPConn(cli, srv, 1000, 9000) }
	// Every packet carries a broken TCP checksum, as captured on the
	// sending host before the NIC fills it in.
	offloaded := func() [][]byte {
		c := conn()
		pk := c.Packets(c.Handshake())
		pk = append(pk, c.Packets(c.Send(true, []byte(evasionCard)))...)
		for i := range pk {
			pk[i] = badTCPSum(pk[i])
		}
		return pk
	}
	// A decoy with a bad checksum among good packets.
	decoy := func() [][]byte {
		c := conn()
		pk := c.Packets(c.Handshake())
		pk = append(pk, badTCPSum(c.Packet(c.At(true, 0, []byte(evasionDecoy)))))
		return append(pk, c.Packets(c.Send(true, []byte(evasionCard)))...)
	}
	tests := []struct {
		mode     string
		pkts     func() [][]byte
		flows    int  // tcp flow records
		card     bool // card found
		overlaps bool // decoy kept, so the real data conflicts with it
	}{
		{"auto", offloaded, 1, true, false},
		{"", offloaded, 1, true, false},
		{"off", offloaded, 1, true, false},
		{"on", offloaded, 0, false, false},
		{"auto", decoy, 1, true, false},
		{"on", decoy, 1, true, false},
		{"off", decoy, 1, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := ""
			if tc.mode != "" {
				cfg = "decode:\n  checksums: " + tc.mode + "\n"
			}
			var flows []evasionFlow
			for _, l := range replayRecords(t, cfg, 1, writeCapture(t, tc.pkts())) {
				var f evasionFlow
				if err := json.Unmarshal([]byte(l), &f); err != nil {
					t.Fatal(err)
				}
				if f.Proto == "tcp" {
					flows = append(flows, f)
				}
			}
			if len(flows) != tc.flows {
				t.Fatalf("%d tcp flow records, want %d", len(flows), tc.flows)
			}
			if len(flows) == 0 {
				return
			}
			f := flows[0]
			if f.hasCard() != tc.card {
				t.Errorf("card found %v, want %v", f.hasCard(), tc.card)
			}
			if got := f.Reassembly != nil && f.Reassembly.Overlaps > 0; got != tc.overlaps {
				t.Errorf("overlaps %v, want %v", got, tc.overlaps)
			}
		})
	}
}

// Bad TCP checksums (segments with and without payload) and offload
// placeholders are counted once, whatever the number of workers, in every
// mode.
func TestChecksumCountsFromWorkers(t *testing.T) {
	var pkts [][]byte
	for i := range 12 {
		cli, srv := ap(fmt.Sprintf("10.9.2.%d:%d", 10+i, 41000+i)), ap("192.0.2.98:9000")
		c := pcapgen.NewTCPConn(cli, srv, 1000, 9000)
		pk := c.Packets(c.Handshake())
		pk = append(pk, c.Packets(c.Send(true, []byte(strings.Repeat("payload ", 50+i))))...)
		switch i % 3 {
		case 0: // the data segment's checksum broken: one bad segment with payload
			pk[3] = badTCPSum(pk[3])
		case 1: // a placeholder on the data segment, as captured before offload
			pk[3] = placeholderTCPSum(pk[3])
		case 2: // the SYN's checksum broken: one bad segment without payload
			pk[0] = badTCPSum(pk[0])
		}
		pkts = append(pkts, pk...)
	}
	path := writeCapture(t, pkts)
	for _, tc := range []struct {
		mode        string
		bad, placed uint64
	}{
		{"auto", 8, 4},
		{"on", 12, 0}, // on: a placeholder is bad
		{"off", 0, 0},
	} {
		for _, workers := range []int{1, 3} {
			p := discardPipeline(t, "decode:\n  checksums: "+tc.mode+"\n", workers)
			if _, err := p.Replay(context.Background(), []string{path}); err != nil {
				t.Fatal(err)
			}
			_, bad, _ := p.decStats.BadChecksums()
			if placed := p.decStats.ChecksumPartials(); bad != tc.bad || placed != tc.placed {
				t.Errorf("%s, %d workers: %d bad TCP checksums, %d placeholders; want %d, %d", tc.mode, workers, bad, placed, tc.bad, tc.placed)
			}
		}
	}
}

// placeholderTCPSum puts the pseudo-header sum in an IPv4 TCP packet's
// checksum field, what Linux leaves for the NIC to complete.
func placeholderTCPSum(ip []byte) []byte {
	b := append([]byte(nil), ip...)
	src, dst := netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
	binary.BigEndian.PutUint16(b[20+16:], pcapgen.OffloadPlaceholder(src, dst, pcapgen.ProtoTCP, len(b)-20))
	return b
}
