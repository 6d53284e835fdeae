package reassembly

import (
	"testing"

	"github.com/tapdlp/tapdlp/capture"
)

// Zeek's conn_state for typical histories (the meanings in Zeek's conn.log
// documentation), TCP and UDP.
func TestConnState(t *testing.T) {
	tests := []struct {
		proto   uint8
		history string
		pkts    [2]uint64
		want    string
	}{
		{capture.ProtoTCP, "S", [2]uint64{3, 0}, "S0"},         // attempt, no reply
		{capture.ProtoTCP, "Sr", [2]uint64{1, 1}, "REJ"},       // refused by RST
		{capture.ProtoTCP, "SrR", [2]uint64{2, 1}, "REJ"},      // refused, the originator reset too
		{capture.ProtoTCP, "ShADad", [2]uint64{4, 3}, "S1"},    // established, open
		{capture.ProtoTCP, "ShADadFf", [2]uint64{6, 5}, "SF"},  // normal
		{capture.ProtoTCP, "ShADadfF", [2]uint64{6, 5}, "SF"},  // responder closed first
		{capture.ProtoTCP, "ShADadF", [2]uint64{5, 3}, "S2"},   // originator closed, no reply
		{capture.ProtoTCP, "ShADadf", [2]uint64{4, 4}, "S3"},   // responder closed, no reply
		{capture.ProtoTCP, "ShADadR", [2]uint64{5, 3}, "RSTO"}, // originator aborted
		{capture.ProtoTCP, "ShADadr", [2]uint64{4, 4}, "RSTR"}, // responder aborted
		{capture.ProtoTCP, "ShR", [2]uint64{2, 1}, "RSTO"},     // half-open scan answered, then reset
		{capture.ProtoTCP, "SR", [2]uint64{2, 0}, "RSTOS0"},    // SYN then RST, no answer
		{capture.ProtoTCP, "hr", [2]uint64{0, 2}, "RSTRH"},     // SYN-ACK then RST, no SYN seen
		{capture.ProtoTCP, "SF", [2]uint64{2, 0}, "SH"},        // SYN then FIN, no answer
		{capture.ProtoTCP, "hf", [2]uint64{0, 2}, "SHR"},       // SYN-ACK then FIN, no SYN seen
		{capture.ProtoTCP, "Dd", [2]uint64{5, 5}, "OTH"},       // midstream
		{capture.ProtoTCP, "^dADa", [2]uint64{2, 3}, "OTH"},    // midstream, flipped
		{capture.ProtoTCP, "DdFf", [2]uint64{5, 5}, "SF"},      // midstream, closed both ways (as Zeek)
		{capture.ProtoTCP, "ShAD", [2]uint64{3, 1}, "S1"},      // responder's data not seen yet
		{capture.ProtoTCP, "Sh", [2]uint64{1, 1}, "S1"},        // a SYN-ACK establishes it (Zeek: connection_established)
		{capture.ProtoUDP, "Dd", [2]uint64{1, 1}, "SF"},
		{capture.ProtoUDP, "D", [2]uint64{4, 0}, "S0"},
		{capture.ProtoUDP, "d", [2]uint64{0, 1}, "SHR"},
		{capture.ProtoICMP, "", [2]uint64{1, 1}, ""},
	}
	for _, tt := range tests {
		f := &Flow{Proto: tt.proto, Packets: tt.pkts}
		for i := 0; i < len(tt.history); i++ {
			f.addHistory(tt.history[i])
		}
		if got := f.ConnState().String(); got != tt.want {
			t.Errorf("%d %q: %s, want %s", tt.proto, tt.history, got, tt.want)
		}
	}
}
