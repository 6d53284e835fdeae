package reassembly

import (
	"testing"
)

// closeStream is a recStream that counts Closed calls and the bytes it was
// given afterwards.
type closeStream struct {
	recStream
	closed int
	after  int
}

func (s *closeStream) Data(d Dir, b []byte, ts int64) bool {
	if s.closed > 0 {
		s.after += len(b)
	}
	return s.recStream.Data(d, b, ts)
}

func (s *closeStream) Closed() bool { s.closed++; return true }

type closeHandler struct {
	recHandler
	streams []*closeStream
}

func (h *closeHandler) Open(f *Flow) Stream {
	s := &closeStream{recStream: recStream{f: f}}
	h.live[f] = &s.recStream
	h.streams = append(h.streams, s)
	return s
}

// TestCloserTold checks when a Closer hears that its flow closed: once,
// after FIN both ways (or an accepted RST) and only when nothing is left
// that the table could still deliver or compare a retransmission with;
// the final record comes when the close completed (both FINs
// acknowledged, or the RST), else after the linger.
func TestCloserTold(t *testing.T) {
	const isnC, isnS = 1000, 5000
	open := []tpkt{
		{flags: fS, seq: 0},
		{in: true, flags: fSA, seq: 0, ack: 1, at: 1},
		{flags: fA, seq: 1, ack: 1, at: 2},
		{flags: fPA, seq: 1, ack: 1, data: "GET / HTTP/1.1\r\n\r\n", at: 3},
		{in: true, flags: fPA, seq: 1, ack: 19, data: "HTTP/1.1 200 OK\r\n\r\n", at: 4},
	}
	tests := []struct {
		name       string
		pkts       []tpkt
		toldAt     int // index of the packet after which Closed is first seen; -1: never before the end
		emitAt     int // index of the packet that emitted the final record; -1: after the linger
		wantState  EndReason
		wantPkts   uint64 // packets in the final record
		wantAfterB int    // bytes delivered after Closed
	}{
		{"fin both ways, all acked", append(append([]tpkt{}, open...),
			tpkt{flags: fFA, seq: 19, ack: 20, at: 5},
			tpkt{in: true, flags: fFA, seq: 20, ack: 20, at: 6},
			tpkt{flags: fA, seq: 20, ack: 21, at: 7},
		), 6, 7, EndClosed, 8, 0},
		{"response unacked at the second fin", append(append([]tpkt{}, open...),
			tpkt{in: true, flags: fFA, seq: 20, ack: 19, at: 5},
			tpkt{flags: fFA, seq: 19, ack: 21, at: 6}, // acks the response and the FIN
			tpkt{in: true, flags: fA, seq: 21, ack: 20, at: 7},
		), 6, 7, EndClosed, 8, 0},
		{"request never acked", append(append([]tpkt{}, open[:4]...),
			tpkt{flags: fFA, seq: 19, ack: 1, at: 5},
			tpkt{in: true, flags: fFA, seq: 1, ack: 1, at: 6}, // FIN that does not ack the request
		), -1, -1, EndClosed, 6, 0},
		{"accepted rst", append(append([]tpkt{}, open...),
			tpkt{flags: fA, seq: 19, ack: 20, at: 5},
			tpkt{in: true, flags: fR, seq: 20, at: 6},
		), 6, 6, EndReset, 7, 0},
		{"rst with the response unacknowledged", append(append([]tpkt{}, open...),
			tpkt{flags: fR, seq: 19, at: 5},
		), 5, 5, EndReset, 6, 0},
		{"data after both fins still reaches the stream", append(append([]tpkt{}, open...),
			tpkt{flags: fFA, seq: 19, ack: 20, at: 5},
			tpkt{in: true, flags: fFA, seq: 20, ack: 20, at: 6},
			tpkt{flags: fPA, seq: 20, ack: 21, data: "late", at: 7},
		), 6, 7, EndClosed, 8, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &closeHandler{recHandler: *newRecHandler()}
			tb := NewTable(Config{TCPCloseGrace: -1}, h, nil, nil)
			told, emitted := -1, -1
			for i, tp := range tc.pkts {
				tb.Packet(tcpPacket(tp, isnC, isnS))
				if told < 0 && len(h.streams) == 1 && h.streams[0].closed > 0 {
					told = i
				}
				if emitted < 0 && len(h.finals()) > 0 {
					emitted = i
				}
			}
			if told != tc.toldAt {
				t.Errorf("Closed after packet %d, want %d", told, tc.toldAt)
			}
			if emitted != tc.emitAt {
				t.Errorf("final record at packet %d, want %d", emitted, tc.emitAt)
			}
			tb.Advance(t0 + 10*sec)
			fin := h.finals()
			if len(fin) != 1 {
				t.Fatalf("%d final records, want 1", len(fin))
			}
			s := h.streams[0]
			if s.closed > 1 {
				t.Errorf("Closed called %d times", s.closed)
			}
			if fin[0].state != tc.wantState {
				t.Errorf("state %v, want %v", fin[0].state, tc.wantState)
			}
			if got := fin[0].flow.Packets[0] + fin[0].flow.Packets[1]; got != tc.wantPkts {
				t.Errorf("final record counts %d packets, want %d", got, tc.wantPkts)
			}
			if s.after != tc.wantAfterB {
				t.Errorf("%d bytes delivered after Closed, want %d", s.after, tc.wantAfterB)
			}
		})
	}
}
