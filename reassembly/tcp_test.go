package reassembly

import (
	"strings"
	"testing"
)

// handshake is the three-way handshake prefix used by most cases.
var handshake = []tpkt{
	{flags: fS},
	{in: true, flags: fSA, ack: 1},
	{flags: fA, seq: 1, ack: 1},
}

func withHandshake(p ...tpkt) []tpkt { return append(append([]tpkt(nil), handshake...), p...) }

func TestTCPReassembly(t *testing.T) {
	big := strings.Repeat("x", 2000)
	capCase := []tpkt{}
	for i := range 33 {
		capCase = append(capCase, tpkt{flags: fPA, seq: 2 + uint32(i*2000), ack: 1, data: big})
	}
	tests := []struct {
		name           string
		cfg            Config
		isnCli, isnSrv uint32
		budget         [2]int
		pkts           []tpkt
		advance        int64 // >0: Advance to t0+advance instead of Flush
		atClose        bool  // emitted at the packet that completed the close (no Advance or Flush)
		state          EndReason
		history        string
		out, in        string
		liveOut        string // when set: the out transcript before the flow ends
		missed         [2]uint64
		overlaps       uint64
		depth          bool
		src            string
	}{
		{
			name: "handshake and data both ways, closed when the last FIN is acknowledged",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "GET / HTTP/1.1\r\n\r\n"},
				tpkt{in: true, flags: fPA, seq: 1, ack: 19, data: "HTTP/1.1 200 OK\r\n\r\n"},
				tpkt{flags: fFA, seq: 19, ack: 20},
				tpkt{in: true, flags: fFA, seq: 20, ack: 20},
				tpkt{flags: fA, seq: 20, ack: 21},
			),
			atClose: true,
			state:   EndClosed, history: "ShADdFf",
			out: "GET / HTTP/1.1\r\n\r\n", in: "HTTP/1.1 200 OK\r\n\r\n",
		},
		{
			name: "out of order segments delivered in order",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 12, ack: 1, data: "!"},
				tpkt{flags: fPA, seq: 7, ack: 1, data: "world"},
				tpkt{flags: fPA, seq: 1, ack: 1, data: "hello "},
			),
			state: EndShutdown, history: "ShAD", out: "hello world!",
		},
		{
			name: "retransmission of delivered data is ignored",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "hello"},
				tpkt{flags: fPA, seq: 1, ack: 1, data: "hello"},
				tpkt{flags: fPA, seq: 3, ack: 1, data: "llo world"},
			),
			state: EndShutdown, history: "ShADT", out: "hello world",
		},
		{
			name: "overlap with buffered data: first wins, differing bytes counted",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 5, ack: 1, data: "BBBB"},
				tpkt{flags: fPA, seq: 1, ack: 1, data: "aaaaXXBBcc"},
			),
			state: EndShutdown, history: "ShADT", out: "aaaaBBBBcc", overlaps: 2,
		},
		{
			name: "gap skipped when the peer acknowledges past it",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "aaaa"},
				tpkt{flags: fPA, seq: 9, ack: 1, data: "cccc"},
				tpkt{in: true, flags: fA, seq: 1, ack: 5},
				tpkt{in: true, flags: fA, seq: 1, ack: 13},
				tpkt{flags: fPA, seq: 13, ack: 1, data: "dd"},
			),
			state: EndShutdown, history: "ShADaG", out: "aaaa<gap 4>ccccdd", missed: [2]uint64{4, 0},
			liveOut: "aaaa<gap 4>ccccdd",
		},
		{
			name: "gap skipped when the peer's ACK past it came before the data",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "aaaa"},
				tpkt{in: true, flags: fA, seq: 1, ack: 13},
				tpkt{flags: fPA, seq: 9, ack: 1, data: "cccc"},
			),
			state: EndShutdown, history: "ShADaG", out: "aaaa<gap 4>cccc", missed: [2]uint64{4, 0},
			liveOut: "aaaa<gap 4>cccc",
		},
		{
			name: "gap skipped at the end of the flow",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "aaaa"},
				tpkt{flags: fPA, seq: 9, ack: 1, data: "cccc"},
				tpkt{in: true, flags: fPA, seq: 3, ack: 5, data: "zz"},
			),
			state: EndShutdown, history: "ShADdGg", out: "aaaa<gap 4>cccc", in: "<gap 2>zz",
			missed: [2]uint64{4, 2},
		},
		{
			name: "out-of-order segment larger than the largest buffer class",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 2, ack: 1, data: strings.Repeat("z", 70000)},
				tpkt{flags: fPA, seq: 1, ack: 1, data: "a"},
			),
			state: EndShutdown, history: "ShAD", out: "a" + strings.Repeat("z", 70000),
		},
		{
			name: "trailing hole before the FIN is missed at the end",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "aaaa"},
				tpkt{flags: fFA, seq: 9, ack: 1},
			),
			state: EndShutdown, history: "ShADFG", out: "aaaa<gap 4>", missed: [2]uint64{4, 0},
		},
		{
			name: "trailing hole the peer acknowledged is missed at the end",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "aaaa"},
				tpkt{in: true, flags: fA, seq: 1, ack: 13},
			),
			state: EndShutdown, history: "ShADaG", out: "aaaa<gap 8>", missed: [2]uint64{8, 0},
		},
		{
			name: "gap skipped at the per-flow out-of-order cap",
			pkts: withHandshake(capCase...),
			cfg:  Config{FlowOOOCap: 64 << 10},
			// 32 buffered 2000-byte segments hold 32 * 2048 = 64 KiB of
			// buffers; the 33rd forces the 1-byte hole to be skipped.
			state: EndShutdown, history: "ShADG", out: "<gap 1>" + strings.Repeat(big, 33),
			missed: [2]uint64{1, 0},
		},
		{
			name: "mid-stream pickup: initiator by port, ISN from first segment",
			pkts: []tpkt{
				{in: true, flags: fPA, seq: 100, ack: 50, data: "resp1"},
				{flags: fPA, seq: 50, ack: 105, data: "req"},
				{in: true, flags: fPA, seq: 105, ack: 53, data: "resp2"},
				{in: true, flags: fPA, seq: 100, ack: 53, data: "resp1"},
			},
			state: EndShutdown, history: "^dDt", out: "req", in: "resp1resp2",
			src: "10.0.0.1:40000",
		},
		{
			name: "SYN-ACK seen first: its receiver is the initiator",
			pkts: []tpkt{
				{in: true, flags: fSA, ack: 1},
				{flags: fA, seq: 1, ack: 1},
				{flags: fPA, seq: 1, ack: 1, data: "hi"},
			},
			state: EndShutdown, history: "^hAD", out: "hi", src: "10.0.0.1:40000",
		},
		{
			name: "RST: reset at once",
			pkts: []tpkt{
				{flags: fS},
				{in: true, flags: fRA, ack: 1, at: sec},
			},
			atClose: true,
			state:   EndReset, history: "Sr",
		},
		{
			name:   "sequence wraparound, in order and out of order",
			isnCli: 0xfffffff0, isnSrv: 0xfffffffe,
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 17, ack: 1, data: "XYZ"},
				tpkt{flags: fPA, seq: 1, ack: 1, data: "0123456789abcdef"},
				tpkt{in: true, flags: fPA, seq: 1, ack: 20, data: "wrap"},
				tpkt{in: true, flags: fPA, seq: 5, ack: 20, data: "ped"},
			),
			state: EndShutdown, history: "ShADd", out: "0123456789abcdefXYZ", in: "wrapped",
		},
		{
			name: "inspect depth: only the first bytes are delivered",
			cfg:  Config{InspectDepth: 10},
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "0123456"},
				tpkt{flags: fPA, seq: 20, ack: 1, data: "beyond"},
				tpkt{flags: fPA, seq: 8, ack: 1, data: "789ABCDEF"},
				tpkt{flags: fPA, seq: 17, ack: 1, data: "GHI"},
				tpkt{flags: fPA, seq: 5, ack: 1, data: "56"},
			),
			state: EndShutdown, history: "ShADT", out: "0123456789", depth: true,
		},
		{
			name:   "stream declines more data",
			budget: [2]int{5, 0},
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "hello"},
				tpkt{flags: fPA, seq: 12, ack: 1, data: "later"},
				tpkt{flags: fPA, seq: 6, ack: 1, data: " world"},
				tpkt{in: true, flags: fPA, seq: 1, ack: 17, data: "ok"},
			),
			// Once a direction is not reassembled, retransmission ('T') is
			// judged against the highest sequence seen, so the hole fill
			// after the out-of-order "later" counts as one.
			state: EndShutdown, history: "ShADTd", out: "hello", in: "ok",
		},
		{
			name: "TCP Fast Open: payload on the SYN",
			pkts: []tpkt{
				{flags: fS, data: "early"},
				{in: true, flags: fSA, ack: 6},
				{flags: fPA, seq: 6, ack: 1, data: "later"},
				{flags: fS, data: "early"},
			},
			state: EndShutdown, history: "SDhT", out: "earlylater",
		},
		{
			name: "zero window and FIN+RST are flagged",
			pkts: withHandshake(
				tpkt{in: true, flags: fA, seq: 1, ack: 1, win: 1},
				tpkt{flags: fFA | fR, seq: 1, ack: 1},
			),
			atClose: true,
			state:   EndReset, history: "ShAawIFR",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecHandler()
			h.budget = tc.budget
			mem := NewMemory(0)
			cfg := tc.cfg
			if tc.atClose {
				cfg.TCPCloseGrace = -1 // emitted at the close itself (the grace: TestCloseGrace)
			}
			tb := NewTable(cfg, h, mem, nil)
			for _, tp := range tc.pkts {
				tb.Packet(tcpPacket(tp, tc.isnCli, tc.isnSrv))
			}
			if n := len(h.finals()); n != 0 && !tc.atClose {
				t.Fatalf("flow emitted before its end: %+v", h.finals()[0].state)
			} else if n != 1 && tc.atClose {
				t.Fatalf("%d final records at the close, want 1", n)
			}
			if tc.liveOut != "" {
				if s := h.live[firstLive(h)]; s == nil || s.buf[DirOut].String() != tc.liveOut {
					t.Fatalf("before the end, out transcript is not %q", tc.liveOut)
				}
			}
			switch {
			case tc.atClose:
			case tc.advance > 0:
				tb.Advance(t0 + tc.advance)
			default:
				tb.Flush(EndShutdown)
			}
			fin := h.finals()
			if len(fin) != 1 {
				t.Fatalf("got %d final records, want 1", len(fin))
			}
			e := fin[0]
			if e.state != tc.state {
				t.Errorf("state %q, want %q", e.state, tc.state)
			}
			if e.history != tc.history {
				t.Errorf("history %q, want %q", e.history, tc.history)
			}
			if e.transcript[DirOut] != tc.out {
				t.Errorf("out transcript %.80q, want %.80q", e.transcript[DirOut], tc.out)
			}
			if e.transcript[DirIn] != tc.in {
				t.Errorf("in transcript %.80q, want %.80q", e.transcript[DirIn], tc.in)
			}
			if e.flow.Missed != tc.missed {
				t.Errorf("missed %v, want %v", e.flow.Missed, tc.missed)
			}
			if e.flow.Overlaps != tc.overlaps {
				t.Errorf("overlaps %d, want %d", e.flow.Overlaps, tc.overlaps)
			}
			if e.flow.DepthReached != tc.depth {
				t.Errorf("depth reached %v, want %v", e.flow.DepthReached, tc.depth)
			}
			if tc.src != "" {
				if got := e.flow.Src.String() + ":" + itoa(e.flow.SrcPort); got != tc.src {
					t.Errorf("src %s, want %s", got, tc.src)
				}
			}
			var pk, by [2]uint64
			for _, tp := range tc.pkts {
				d := DirOut
				if tp.in {
					d = DirIn
				}
				pk[d]++
				by[d] += uint64(40 + len(tp.data))
			}
			if e.flow.Packets != pk || e.flow.Bytes != by {
				t.Errorf("packets %v bytes %v, want %v %v", e.flow.Packets, e.flow.Bytes, pk, by)
			}
			if tb.Len() != 0 || tb.MemInUse() != 0 || mem.Used() != 0 {
				t.Errorf("after end: %d flows, table memory %d, global memory %d; want all 0", tb.Len(), tb.MemInUse(), mem.Used())
			}
		})
	}
}

func itoa(v uint16) string {
	var b [5]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}
