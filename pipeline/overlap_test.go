package pipeline

import (
	"encoding/json"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// A value in both copies of a conflicting retransmission (the conflict is
// elsewhere in the segment) is one finding, counted once; a value only in
// the conflicting copy is found; a flow without conflict scans nothing twice.
func TestOverlapFindingsMerged(t *testing.T) {
	cli, srv := ap("10.9.0.6:41000"), ap("192.0.2.98:9000")
	const other = "payment card 5555 5555 5555 4444 exp 01/30\n"
	tests := []struct {
		name        string
		first, alt  string
		wantCards   int // credit_card count in the record
		wantOverlap bool
	}{
		{"same card in both copies", evasionCard + "aaaa\n", evasionCard + "bbbb\n", 1, true},
		{"different card in each copy", evasionCard, other, 1, true}, // count is per copy: the larger
		{"identical retransmission", evasionCard, evasionCard, 1, false},
		{"card only in the conflicting copy", evasionDecoy, evasionCard, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := pcapgen.NewTCPConn(cli, srv, 1000, 9000)
			pk := c.Packets(c.Handshake())
			pk = append(pk, c.Packets(c.Send(true, []byte(tc.first)))...)
			pk = append(pk, c.Packet(c.At(true, 0, []byte(tc.alt))))
			var recs []overlapRec
			for _, l := range replayRecords(t, "", 1, writeCapture(t, pk)) {
				var one overlapRec

				if err := json.Unmarshal([]byte(l), &one); err != nil {
					t.Fatal(err)
				}
				if one.Proto == "tcp" {
					recs = append(recs, one)
				}
			}
			if len(recs) != 1 {
				t.Fatalf("%d tcp records, want 1", len(recs))
			}
			r := recs[0]
			if got := r.Reassembly != nil && r.Reassembly.Overlaps > 0; got != tc.wantOverlap {
				t.Errorf("overlap marked %v, want %v", got, tc.wantOverlap)
			}
			n, entries := 0, 0
			for _, s := range r.Sensitive {
				if s.Type == "credit_card" {
					n += s.Count
					entries++
					if tc.name == "different card in each copy" && len(s.Evidence) != 2 {
						t.Errorf("evidence %v, want both cards", s.Evidence)
					}
				}
			}
			if entries != 1 || n != tc.wantCards {
				t.Errorf("%d credit_card entries with count %d, want 1 entry with count %d: %+v", entries, n, tc.wantCards, r.Sensitive)
			}
		})
	}
}

type overlapRec struct {
	Proto     string `json:"proto"`
	Sensitive []struct {
		Type     string   `json:"type"`
		Count    int      `json:"count"`
		Evidence []string `json:"evidence"`
	} `json:"sensitive"`
	Reassembly *struct {
		Overlaps uint64 `json:"overlaps"`
	} `json:"reassembly"`
}
