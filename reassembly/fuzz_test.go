package reassembly

import (
	"fmt"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
)

// checkStream verifies what the table delivers for one flow. Payload bytes
// are generated from their sequence number (byte(seq) out, byte(seq)^0x5a
// in), so in any correct delivery each byte is the previous one plus one,
// a gap of n advances the expectation by n, and nothing is delivered that
// was never sent.
type checkStream struct {
	t        *testing.T
	started  [2]bool
	want     [2]byte // expected next byte (before the direction's xor)
	got      [2]uint64
	pos      [2]uint64  // stream offset: bytes delivered and skipped
	received *[2]uint64 // payload bytes sent to the table for this flow (all flows of the key)
	udp      bool       // datagrams: contiguity is only checked within one call
	swap     bool       // the server (port 80) was taken as initiator: DirOut carries the 0x5a bytes
	err      error
}

func (s *checkStream) Data(d Dir, b []byte, ts int64) bool {
	x := byte(0)
	if (d == DirIn) != s.swap {
		x = 0x5a
	}
	if s.udp {
		s.started[d] = false
	}
	for i, c := range b {
		c ^= x
		if s.started[d] && c != s.want[d] && s.err == nil {
			s.err = fmt.Errorf("dir %v byte %d of call: got %#x, want %#x", d, i, c, s.want[d])
		}
		s.started[d] = true
		s.want[d] = c + 1
	}
	s.got[d] += uint64(len(b))
	s.pos[d] += uint64(len(b))
	sent := s.received[0]
	if (d == DirIn) != s.swap {
		sent = s.received[1]
	}
	if s.got[d] > sent && s.err == nil {
		s.err = fmt.Errorf("dir %v: delivered %d bytes, only %d were sent", d, s.got[d], sent)
	}
	return true
}

func (s *checkStream) Gap(d Dir, n int) {
	if n <= 0 && s.err == nil {
		s.err = fmt.Errorf("dir %v: gap of %d", d, n)
	}
	s.want[d] += byte(n)
	s.pos[d] += uint64(n)
}

// Overlap checks an alternate view: every copy the harness sends carries
// the bytes of its sequence numbers, so a view must match the stream at its
// offset too (only views of bytes not kept for comparison can arrive).
func (s *checkStream) Overlap(d Dir, off uint64, b []byte, ts int64) {
	if s.udp || !s.started[d] || s.err != nil {
		return
	}
	x := byte(0)
	if (d == DirIn) != s.swap {
		x = 0x5a
	}
	base := s.want[d] - byte(s.pos[d]) // value of the byte at offset 0
	for i, c := range b {
		if want := base + byte(off) + byte(i); c^x != want {
			s.err = fmt.Errorf("dir %v: alternate view at %d byte %d: %#x, want %#x", d, off, i, c^x, want)
			return
		}
	}
}

type checkHandler struct {
	t        *testing.T
	received map[uint16]*[2]uint64
	udp      bool
	streams  map[*Flow]*checkStream
	errs     []error
}

func (h *checkHandler) Open(f *Flow) Stream {
	port := f.SrcPort
	if f.DstPort > port {
		port = f.DstPort
	}
	s := &checkStream{t: h.t, received: h.received[port], udp: h.udp, swap: f.SrcPort == 80}
	h.streams[f] = s
	return s
}

func (h *checkHandler) Emit(f *Flow, state EndReason, final bool) {
	s := h.streams[f]
	if s == nil {
		h.errs = append(h.errs, fmt.Errorf("emit of unknown flow"))
		return
	}
	if s.err != nil {
		h.errs = append(h.errs, s.err)
	}
	if f.Overlaps != 0 {
		h.errs = append(h.errs, fmt.Errorf("%d overlap bytes counted but all copies were identical", f.Overlaps))
	}
	if final {
		delete(h.streams, f)
	}
}

// FuzzReassembly feeds synthetic TCP (or UDP) conversations to a Table.
// data[0] selects the configuration; then every 6 bytes are one segment:
// control (bit 0 responder, 1 SYN, 2 ACK, 3 FIN, 4 RST, 5 second flow,
// 6 large payload, 7 retransmit the previous segment first), sequence offset
// (2 bytes), ack offset, payload length, time step in seconds.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 0x02, 0, 0, 0, 0, 0, 0x07, 0, 0, 1, 0, 0, 0x04, 0, 1, 1, 10, 0, 0x04, 0, 21, 1, 5, 0, 0x04, 0, 11, 1, 10, 0})
	f.Add([]byte{1, 0x44, 0, 9, 0, 5, 1, 0x44, 0, 1, 0, 4, 1, 0x05, 0, 1, 200, 0, 1, 0x0c, 0, 40, 0, 0, 10})
	f.Add([]byte{0x80, 0x00, 0, 0, 0, 30, 0, 0x01, 0, 0, 0, 20, 70, 0x20, 0, 0, 0, 1, 0})
	f.Add([]byte{2, 0x02, 0xff, 0xf0, 0, 0, 0, 0x04, 0xff, 0xf1, 0, 40, 0, 0x84, 0xff, 0xf1, 0, 40, 0, 0x14, 0, 0, 0, 0, 6})
	// Issue 11.4: payload on the SYN (taken or not), RSTs at and off the
	// next sequence number, retransmissions over delivered and acknowledged
	// bytes.
	f.Add([]byte{0, 0x02, 0, 0, 0, 5, 0, 0x07, 0, 0, 0, 0, 0, 0x04, 0, 1, 1, 10, 0, 0x84, 0, 1, 1, 10, 0, 0x05, 0, 0, 1, 0, 0})
	f.Add([]byte{0, 0x02, 0, 0, 0, 0, 0, 0x07, 0, 0, 0, 0, 0, 0x04, 0, 1, 1, 20, 0, 0x15, 0x12, 0x34, 0, 0, 1, 0x04, 0, 21, 1, 20, 40, 0x14, 0, 41, 0, 0, 0})
	f.Add([]byte{3, 0x02, 0, 0, 0, 0, 0, 0x07, 0, 0, 0, 0, 0, 0x44, 0, 1, 1, 2, 0, 0x84, 0, 1, 1, 2, 0, 0x05, 0, 0, 9, 0, 0, 0x84, 0, 1, 1, 2, 0})
	// A close that completes (each FIN acknowledged), then a late FIN
	// (absorbed by the tombstone) and a new SYN on the tuple.
	f.Add([]byte{0, 0x02, 0, 0, 0, 0, 0, 0x07, 0, 0, 0, 0, 0, 0x0c, 0, 15, 1, 0, 0, 0x0d, 0, 15, 1, 0, 0, 0x04, 0, 16, 1, 0, 0, 0x0d, 0, 15, 1, 0, 1, 0x02, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 || len(data) > 6*512+1 {
			return
		}
		cfgByte := data[0]
		cfg := Config{MaxFlows: 1 + int(cfgByte>>5&3), FlowOOOCap: 64 << 10}
		if d := int(cfgByte & 0x1f); d != 0 {
			cfg.InspectDepth = d * 97
		}
		udp := cfgByte&0x80 != 0
		mem := NewMemory(int64(cfgByte&3+1) * 4096)
		h := &checkHandler{t: t, udp: udp, received: map[uint16]*[2]uint64{40000: {}, 40001: {}}, streams: map[*Flow]*checkStream{}}
		st := new(Stats)
		tb := NewTable(cfg, h, mem, st)
		isn := [2]uint32{0xffffff00, 0x7ffffff0}
		buf := make([]byte, 64*255)
		ts := t0
		var (
			prev     *capture.Packet
			prevPort uint16
			prevDir  byte
		)
		for rest := data[1:]; len(rest) >= 6; rest = rest[6:] {
			ctl := rest[0]
			d := ctl & 1
			off := uint32(rest[1])<<8 | uint32(rest[2])
			n := int(rest[4])
			if ctl&0x40 != 0 {
				n *= 64
			}
			ts += int64(rest[5]) * sec
			seq := isn[d] + off
			first := seq // sequence number of the first payload byte
			if !udp && ctl&0x02 != 0 {
				first++ // a SYN consumes one
			}
			payload := buf[:n]
			for i := range payload {
				payload[i] = byte(first + uint32(i))
				if d == 1 {
					payload[i] ^= 0x5a
				}
			}
			cport := uint16(40000)
			if ctl&0x20 != 0 {
				cport = 40001
			}
			p := &capture.Packet{TS: ts, Src: cliAddr, Dst: srvAddr, SrcPort: cport, DstPort: 80,
				Seq: seq, Ack: isn[1-d] + uint32(rest[3])*16, Window: uint16(off), IPLen: 40 + n, Payload: payload}
			if d == 1 {
				p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
			}
			if udp {
				p.Proto = capture.ProtoUDP
			} else {
				p.Proto = capture.ProtoTCP
				if ctl&0x02 != 0 {
					p.TCPFlags |= capture.TCPSyn
				}
				if ctl&0x04 != 0 {
					p.TCPFlags |= capture.TCPAck
				}
				if ctl&0x08 != 0 {
					p.TCPFlags |= capture.TCPFin
				}
				if ctl&0x10 != 0 {
					p.TCPFlags |= capture.TCPRst
				}
			}
			if ctl&0x80 != 0 && prev != nil {
				h.received[prevPort][prevDir] += uint64(len(prev.Payload))
				tb.Packet(prev)
			}
			h.received[cport][d] += uint64(n)
			tb.Packet(p)
			cp := *p
			cp.Payload = append([]byte(nil), payload...)
			prev, prevPort, prevDir = &cp, cport, d
			if tb.MemInUse() < 0 || mem.Used() > mem.Limit() || tb.Len() > cfg.MaxFlows {
				t.Fatalf("bounds broken: table mem %d, global %d/%d, flows %d", tb.MemInUse(), mem.Used(), mem.Limit(), tb.Len())
			}
			if n := tb.Tombstones(); n > tb.maxTombs() || int64(n) != st.Tombstones.Load() || tb.tombs.tail-tb.tombs.head > uint64(len(tb.tombs.ring)) {
				t.Fatalf("tombstones: %d (gauge %d, at most %d), queue %d in a ring of %d", n, st.Tombstones.Load(), tb.maxTombs(), tb.tombs.tail-tb.tombs.head, len(tb.tombs.ring))
			}
		}
		tb.Flush(EndShutdown)
		for _, err := range h.errs {
			t.Error(err)
		}
		if tb.Len() != 0 || tb.MemInUse() != 0 || mem.Used() != 0 || tb.Tombstones() != 0 || st.Tombstones.Load() != 0 {
			t.Fatalf("after flush: %d flows, table memory %d, global %d", tb.Len(), tb.MemInUse(), mem.Used())
		}
		if len(h.streams) != 0 {
			t.Fatalf("%d flows opened but never emitted as final", len(h.streams))
		}
	})
}
