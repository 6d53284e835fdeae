package reassembly

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
)

// altStream is a recStream that also records the alternate views, as
// "@offset:bytes" per call.
type altStream struct {
	recStream
	alt [2]strings.Builder
}

func (s *altStream) Overlap(d Dir, off uint64, b []byte, ts int64) {
	fmt.Fprintf(&s.alt[d], "@%d:%s", off, b)
}

type altHandler struct {
	recHandler
	streams []*altStream
}

func (h *altHandler) Open(f *Flow) Stream {
	s := &altStream{recStream: recStream{f: f}}
	h.live[f] = &s.recStream
	h.streams = append(h.streams, s)
	return s
}

// The cases where what the sensor reassembles could differ from what the
// receiving host reads: decoys that the host never accepts (bad checksum,
// SYN payload it ignores, a RST it refuses) and retransmissions carrying
// different bytes (the sensor cannot know which copy the host kept, so it
// delivers both).
func TestWhatTheHostSees(t *testing.T) {
	good := capture.ChecksumGood
	tests := []struct {
		name     string
		cfg      Config
		pkts     []tpkt
		state    EndReason
		out      string // Data transcript of the client direction
		alt      string // alternate views of the client direction
		overlaps uint64
		stat     func(s *Stats) uint64
		statWant uint64
	}{
		{
			name: "retransmission over delivered bytes with other content: both copies",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "pan=4111 XXXX"},
				tpkt{flags: fPA, seq: 1, ack: 1, data: "pan=4111 1111"},
				tpkt{flags: fPA, seq: 14, ack: 1, data: " 1111 1111;"},
			),
			state: EndShutdown, out: "pan=4111 XXXX 1111 1111;",
			alt: "@0:pan=4111 1111@13: 1111 1111;", overlaps: 4,
			stat: func(s *Stats) uint64 { return s.OverlapEvents.Load() }, statWant: 1,
		},
		{
			name: "partial retransmission: context from the kept copy around it",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "abcdefghij"},
				tpkt{flags: fPA, seq: 4, ack: 1, data: "DE"},
			),
			state: EndShutdown, out: "abcdefghij", alt: "@0:abcDEfghij", overlaps: 2,
		},
		{
			name: "identical retransmission: nothing to report",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "same bytes"},
				tpkt{flags: fPA, seq: 1, ack: 1, data: "same bytes"},
			),
			state: EndShutdown, out: "same bytes",
			stat: func(s *Stats) uint64 { return s.OverlapEvents.Load() }, statWant: 0,
		},
		{
			name: "retransmission over acknowledged bytes: the host discards it",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "settled"},
				tpkt{in: true, flags: fA, seq: 1, ack: 8},
				tpkt{flags: fPA, seq: 1, ack: 1, data: "changed"},
			),
			state: EndShutdown, out: "settled",
		},
		{
			name: "unacknowledged bytes not kept: delivered unchecked",
			cfg:  Config{OverlapWindow: -1},
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "first"},
				tpkt{flags: fPA, seq: 1, ack: 1, data: "first"},
			),
			state: EndShutdown, out: "first", alt: "@0:first",
			stat: func(s *Stats) uint64 { return s.OverlapUnchecked.Load() }, statWant: 5,
		},
		{
			name: "conflict with buffered out-of-order bytes",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 6, ack: 1, data: "WORLD"},
				tpkt{flags: fPA, seq: 6, ack: 1, data: "w0rld"},
				tpkt{flags: fPA, seq: 1, ack: 1, data: "hello"},
			),
			state: EndShutdown, out: "helloWORLD", alt: "@5:w0rld", overlaps: 5,
		},
		{
			name: "bad checksum after good ones in the direction: dropped",
			pkts: []tpkt{
				{flags: fS, sum: good},
				{in: true, flags: fSA, ack: 1, sum: good},
				{flags: fA, seq: 1, ack: 1, sum: good},
				{flags: fPA, seq: 1, ack: 1, data: "decoy", sum: capture.ChecksumBad},
				{flags: fPA, seq: 1, ack: 1, data: "real!", sum: good},
			},
			state: EndShutdown, out: "real!",
			stat: func(s *Stats) uint64 { return s.ChecksumDrops.Load() }, statWant: 1,
		},
		{
			name: "bad checksums throughout a direction (offloaded capture): kept",
			pkts: []tpkt{
				{flags: fS, sum: capture.ChecksumBad},
				{in: true, flags: fSA, ack: 1, sum: good},
				{flags: fPA, seq: 1, ack: 1, data: "sent by the capturing host", sum: capture.ChecksumBad},
			},
			state: EndShutdown, out: "sent by the capturing host",
			stat: func(s *Stats) uint64 { return s.ChecksumKept.Load() }, statWant: 2,
		},
		{
			name: "SYN payload the server does not acknowledge: ignored",
			pkts: []tpkt{
				{flags: fS, data: "decoy"},
				{in: true, flags: fSA, ack: 1},
				{flags: fA, seq: 1, ack: 1},
				{flags: fPA, seq: 1, ack: 1, data: "real!"},
			},
			state: EndShutdown, out: "real!",
			stat: func(s *Stats) uint64 { return s.SynDataIgnored.Load() }, statWant: 5,
		},
		{
			name: "SYN payload acknowledged (Fast Open): delivered",
			pkts: []tpkt{
				{flags: fS, data: "early"},
				{in: true, flags: fSA, ack: 6},
				{flags: fPA, seq: 6, ack: 1, data: "later"},
			},
			state: EndShutdown, out: "earlylater",
			stat: func(s *Stats) uint64 { return s.SynDataAccepted.Load() }, statWant: 5,
		},
		{
			name: "SYN payload, server unseen, client repeats it: ignored",
			pkts: []tpkt{
				{flags: fS, data: "decoy"},
				{flags: fPA, seq: 1, ack: 1, data: "real!"},
			},
			state: EndShutdown, out: "real!",
		},
		{
			name: "SYN payload, server unseen, client continues after it: delivered",
			pkts: []tpkt{
				{flags: fS, data: "early"},
				{flags: fPA, seq: 6, ack: 1, data: "later"},
			},
			state: EndShutdown, out: "earlylater",
		},
		{
			name: "RST outside the window: ignored, the flow goes on",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "4111 1111 "},
				tpkt{in: true, flags: fR, seq: 1 << 31},
				tpkt{flags: fPA, seq: 11, ack: 1, data: "1111 1111", at: 20 * sec},
			),
			state: EndShutdown, out: "4111 1111 1111 1111",
			stat: func(s *Stats) uint64 { return s.RSTOutOfWindow.Load() }, statWant: 1,
		},
		{
			name: "RST in the window but not at the next byte: challenged, the flow goes on",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "part one "},
				tpkt{flags: fR, seq: 500},
				tpkt{flags: fPA, seq: 10, ack: 1, data: "part two", at: 20 * sec},
			),
			state: EndShutdown, out: "part one part two",
			stat: func(s *Stats) uint64 { return s.RSTChallenged.Load() }, statWant: 1,
		},
		{
			name: "RST at the next byte: the flow ends",
			pkts: withHandshake(
				tpkt{flags: fPA, seq: 1, ack: 1, data: "bye"},
				tpkt{flags: fR, seq: 4},
			),
			state: EndReset, out: "bye",
			stat: func(s *Stats) uint64 { return s.RSTAccepted.Load() }, statWant: 1,
		},
		{
			name: "RST from the server at the sequence number the client acknowledged",
			pkts: withHandshake(
				tpkt{in: true, flags: fPA, seq: 1, ack: 1, data: "hello"},
				tpkt{flags: fA, seq: 1, ack: 6},
				tpkt{in: true, flags: fRA, seq: 6, ack: 1},
			),
			state: EndReset, out: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &altHandler{recHandler: *newRecHandler()}
			st := new(Stats)
			mem := NewMemory(0)
			tb := NewTable(tc.cfg, h, mem, st)
			for _, tp := range tc.pkts {
				tb.Packet(tcpPacket(tp, 0, 0))
			}
			tb.Flush(EndShutdown)
			fin := h.finals()
			if len(fin) != 1 {
				t.Fatalf("%d final records, want 1", len(fin))
			}
			e := fin[0]
			if e.state != tc.state {
				t.Errorf("state %q, want %q", e.state, tc.state)
			}
			if e.transcript[DirOut] != tc.out {
				t.Errorf("out %q, want %q", e.transcript[DirOut], tc.out)
			}
			if got := h.streams[0].alt[DirOut].String(); got != tc.alt {
				t.Errorf("alternate views %q, want %q", got, tc.alt)
			}
			if e.flow.Overlaps != tc.overlaps {
				t.Errorf("overlaps %d, want %d", e.flow.Overlaps, tc.overlaps)
			}
			if tc.stat != nil && tc.stat(st) != tc.statWant {
				t.Errorf("counter %d, want %d", tc.stat(st), tc.statWant)
			}
			if mem.Used() != 0 || tb.MemInUse() != 0 {
				t.Errorf("memory %d/%d after the end", mem.Used(), tb.MemInUse())
			}
		})
	}
}

// The kept copy survives the ring's growth and wrap-around: a retransmission
// of bytes deep in the window is compared byte for byte.
func TestKeptBytesAcrossRingGrowth(t *testing.T) {
	seg := func(i int) string {
		b := make([]byte, 1000)
		for j := range b {
			b[j] = byte(i*31 + j*7)
		}
		return string(b)
	}
	for _, change := range []bool{false, true} {
		h := &altHandler{recHandler: *newRecHandler()}
		st := new(Stats)
		tb := NewTable(Config{}, h, nil, st)
		for _, tp := range handshake {
			tb.Packet(tcpPacket(tp, 0, 0))
		}
		for i := range 20 {
			tb.Packet(tcpPacket(tpkt{flags: fPA, seq: 1 + uint32(i*1000), ack: 1, data: seg(i)}, 0, 0))
		}
		again := []byte(seg(10))
		if change {
			again[500] ^= 1
		}
		tb.Packet(tcpPacket(tpkt{flags: fPA, seq: 1 + 10000, ack: 1, data: string(again)}, 0, 0))
		tb.Flush(EndShutdown)
		e := h.finals()[0]
		alt := h.streams[0].alt[DirOut].String()
		switch {
		case !change && (e.flow.Overlaps != 0 || alt != "" || st.OverlapUnchecked.Load() != 0):
			t.Errorf("identical copy: overlaps %d, unchecked %d, alternate %d bytes", e.flow.Overlaps, st.OverlapUnchecked.Load(), len(alt))
		case change && (e.flow.Overlaps != 1 || !strings.Contains(alt, seg(9)[1000-OverlapContext:]+string(again)+seg(11)[:OverlapContext])):
			t.Errorf("changed copy: overlaps %d, alternate view without its context (%d bytes)", e.flow.Overlaps, len(alt))
		}
	}
}

// A connection paused for longer than the idle timeout comes back as a new
// flow; the table says it continues the one that timed out (and orients it
// the same way) when the sequence numbers carry on.
func TestContinuationAfterTimeout(t *testing.T) {
	const idle = 5 * 60 * sec
	for _, tc := range []struct {
		name string
		next tpkt
		want bool
	}{
		{"server speaks first after the pause", tpkt{in: true, flags: fPA, seq: 1, ack: 7, data: "resumed", at: idle + 60*sec}, true},
		{"client carries on", tpkt{flags: fPA, seq: 7, ack: 1, data: "resumed", at: idle + 60*sec}, true},
		{"unrelated sequence numbers", tpkt{flags: fPA, seq: 1 << 31, ack: 1, data: "other", at: idle + 60*sec}, false},
		{"too long after", tpkt{flags: fPA, seq: 7, ack: 1, data: "late", at: 3 * idle}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecHandler()
			st := new(Stats)
			tb := NewTable(Config{ActiveTimeout: -1}, h, nil, st)
			for _, tp := range withHandshake(tpkt{flags: fPA, seq: 1, ack: 1, data: "first!"}) {
				tb.Packet(tcpPacket(tp, 0, 0))
			}
			tb.Packet(tcpPacket(tc.next, 0, 0)) // expires the first flow, opens the second
			tb.Flush(EndShutdown)
			fin := h.finals()
			if len(fin) != 2 || fin[0].state != EndTimeout {
				t.Fatalf("%d records, first %q", len(fin), fin[0].state)
			}
			second := fin[1].flow
			if second.Continues != tc.want || (tc.want && second.PrevStart != fin[0].flow.Start) {
				t.Errorf("continues %v (prev start %d), want %v", second.Continues, second.PrevStart, tc.want)
			}
			if tc.want && (second.Src != cliAddr || second.SrcPort != 40000) {
				t.Errorf("continuation oriented %v:%d, want the client as before", second.Src, second.SrcPort)
			}
			if got := st.FlowsContinued.Load(); got != map[bool]uint64{true: 1}[tc.want] {
				t.Errorf("flows_continued %d", got)
			}
		})
	}
}
