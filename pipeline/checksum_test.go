package pipeline

import (
	"encoding/json"
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
