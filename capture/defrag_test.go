package capture

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

func udpBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// frag4 returns one IPv4 fragment of an arbitrary byte slice.
func frag4(id uint16, off int, more bool, data []byte) []byte {
	return pcapgen.IPv4Header{Src: cli4.Addr(), Dst: srv4.Addr(), Proto: ProtoUDP, ID: id, FragOff: off, MF: more}.Marshal(data)
}

func frags4(id uint16, body []byte, size int) (udp []byte, frags [][]byte) {
	udp = pcapgen.UDP(cli4, srv4, body)
	return udp, pcapgen.IPv4Fragments(pcapgen.IPv4Header{Src: cli4.Addr(), Dst: srv4.Addr(), Proto: ProtoUDP, ID: id}, udp, size)
}

func frags6(id uint32, body []byte, size int) (udp []byte, frags [][]byte) {
	udp = pcapgen.UDP(cli6, srv6, body)
	return udp, pcapgen.IPv6Fragments(pcapgen.IPv6Header{Src: cli6.Addr(), Dst: srv6.Addr(), NextHeader: ProtoUDP}, id, udp, size)
}

// feed decodes raw IP packets at one-millisecond steps and returns every
// result and the last packet.
func feed(d *Decoder, pkts [][]byte, start int64) ([]Result, Packet) {
	var p Packet
	var rs []Result
	for i, b := range pkts {
		rs = append(rs, d.Decode(b, Meta{TS: start + int64(i)*int64(time.Millisecond), LinkType: LinkRaw, CapLen: len(b), WireLen: len(b)}, &p))
	}
	return rs, p
}

func TestDefragOrders(t *testing.T) {
	body := udpBody(3000)
	udp4, f4 := frags4(1, body, 1200)
	udp6, f6 := frags6(2, body, 1200)
	rev := func(f [][]byte) [][]byte { r := slices.Clone(f); slices.Reverse(r); return r }
	mid := func(f [][]byte) [][]byte { return [][]byte{f[1], f[0], f[2]} }
	dup := func(f [][]byte) [][]byte { return [][]byte{f[0], f[0], f[1], f[1], f[2]} }
	tests := []struct {
		name  string
		pkts  [][]byte
		udp   []byte
		src   netip.Addr
		hdr   int
		dups  uint64
		proto uint8
	}{
		{"v4 in order", f4, udp4, cli4.Addr(), 20, 0, ProtoUDP},
		{"v4 reverse", rev(f4), udp4, cli4.Addr(), 20, 0, ProtoUDP},
		{"v4 middle first", mid(f4), udp4, cli4.Addr(), 20, 0, ProtoUDP},
		{"v4 duplicated", dup(f4), udp4, cli4.Addr(), 20, 2, ProtoUDP},
		{"v6 in order", f6, udp6, cli6.Addr(), 40, 0, ProtoUDP},
		{"v6 reverse", rev(f6), udp6, cli6.Addr(), 40, 0, ProtoUDP},
		{"v6 duplicated", dup(f6), udp6, cli6.Addr(), 40, 2, ProtoUDP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stats := new(DecodeStats)
			d := NewDecoder(DecoderConfig{}, stats)
			rs, p := feed(d, tc.pkts, 0)
			for i, r := range rs[:len(rs)-1] {
				if r != Fragment {
					t.Errorf("packet %d: %v, want fragment", i, r)
				}
			}
			if last := rs[len(rs)-1]; last != OK {
				t.Fatalf("last packet: %v, want OK", last)
			}
			if !p.Reassembled || p.Src != tc.src || p.Proto != tc.proto || p.DstPort != srv4.Port() && p.DstPort != srv6.Port() {
				t.Errorf("packet %+v", p)
			}
			if !bytes.Equal(p.Payload, body) {
				t.Errorf("payload differs (%d bytes, want %d)", len(p.Payload), len(body))
			}
			if p.IPLen != tc.hdr+len(tc.udp) {
				t.Errorf("IPLen %d, want %d", p.IPLen, tc.hdr+len(tc.udp))
			}
			if got := stats.Defrag.Duplicates.Load(); got != tc.dups {
				t.Errorf("duplicates %d, want %d", got, tc.dups)
			}
			if stats.Defrag.Reassembled.Load() != 1 {
				t.Errorf("reassembled %d", stats.Defrag.Reassembled.Load())
			}
		})
	}
}

// TestDefragOverlapFirstWins checks the documented policy: bytes already
// held are kept when a later fragment overlaps them with other data.
func TestDefragOverlapFirstWins(t *testing.T) {
	udp := pcapgen.UDP(cli4, srv4, bytes.Repeat([]byte("A"), 40)) // 48 bytes
	evil := bytes.Repeat([]byte("B"), 24)
	tests := []struct {
		name string
		pkts [][]byte
		want string
	}{
		{"later overlap ignored", [][]byte{frag4(3, 0, true, udp[:32]), frag4(3, 16, true, evil[:16]), frag4(3, 32, false, udp[32:])},
			string(bytes.Repeat([]byte("A"), 40))},
		{"earlier data kept", [][]byte{frag4(3, 16, true, evil), frag4(3, 0, true, udp[:32]), frag4(3, 40, false, udp[40:])},
			string(bytes.Repeat([]byte("A"), 8)) + string(evil) + string(bytes.Repeat([]byte("A"), 8))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stats := new(DecodeStats)
			rs, p := feed(NewDecoder(DecoderConfig{}, stats), tc.pkts, 0)
			if rs[len(rs)-1] != OK {
				t.Fatalf("results %v", rs)
			}
			if string(p.Payload) != tc.want {
				t.Errorf("payload %q, want %q", p.Payload, tc.want)
			}
			if stats.Defrag.Overlaps.Load() == 0 || stats.Defrag.Conflicts.Load() == 0 {
				t.Errorf("overlaps %d conflicts %d, want both counted", stats.Defrag.Overlaps.Load(), stats.Defrag.Conflicts.Load())
			}
		})
	}
}

func TestDefragMalformed(t *testing.T) {
	d8 := make([]byte, 8)
	tests := []struct {
		name    string
		pkts    [][]byte
		last    Result
		counter func(*DefragStats) uint64
	}{
		{"beyond 65535", [][]byte{frag4(4, 65528, true, make([]byte, 16))}, FragmentDropped, func(s *DefragStats) uint64 { return s.Malformed.Load() }},
		{"zero-length middle", [][]byte{frag4(4, 8, true, nil)}, FragmentDropped, func(s *DefragStats) uint64 { return s.Malformed.Load() }},
		{"middle not multiple of 8", [][]byte{frag4(4, 0, true, make([]byte, 12))}, FragmentDropped, func(s *DefragStats) uint64 { return s.Malformed.Load() }},
		{"conflicting last", [][]byte{frag4(4, 16, false, d8), frag4(4, 24, false, d8)}, FragmentDropped, func(s *DefragStats) uint64 { return s.Malformed.Load() }},
		{"data after last", [][]byte{frag4(4, 16, false, d8), frag4(4, 24, true, d8)}, FragmentDropped, func(s *DefragStats) uint64 { return s.Malformed.Load() }},
		{"last before data", [][]byte{frag4(4, 24, true, d8), frag4(4, 8, false, d8)}, FragmentDropped, func(s *DefragStats) uint64 { return s.Malformed.Load() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stats := new(DecodeStats)
			d := NewDecoder(DecoderConfig{}, stats)
			rs, _ := feed(d, tc.pkts, 0)
			if rs[len(rs)-1] != tc.last {
				t.Errorf("results %v, want last %v", rs, tc.last)
			}
			if tc.counter(&stats.Defrag) != 1 {
				t.Errorf("counter %d, want 1", tc.counter(&stats.Defrag))
			}
		})
	}
}

func TestDefragTooManyFragments(t *testing.T) {
	stats := new(DecodeStats)
	d := NewDecoder(DecoderConfig{Defrag: DefragConfig{MaxFragments: 4}}, stats)
	var pkts [][]byte
	for i := range 5 {
		pkts = append(pkts, frag4(5, i*8, true, make([]byte, 8)))
	}
	rs, _ := feed(d, pkts, 0)
	if rs[4] != FragmentDropped || stats.Defrag.TooMany.Load() != 1 {
		t.Errorf("results %v, too many %d", rs, stats.Defrag.TooMany.Load())
	}
}

func TestDefragTimeoutAndMissing(t *testing.T) {
	stats := new(DecodeStats)
	d := NewDecoder(DecoderConfig{Defrag: DefragConfig{Timeout: 5 * time.Second}}, stats)
	_, f := frags4(6, udpBody(2000), 800)
	rs, _ := feed(d, f[:2], 0) // the last fragment never comes
	if rs[0] != Fragment || rs[1] != Fragment {
		t.Fatalf("results %v", rs)
	}
	// A fragment of another datagram 6 s later sweeps the stale one.
	feed(d, [][]byte{frag4(7, 0, true, make([]byte, 8))}, int64(6*time.Second))
	if stats.Defrag.Timeouts.Load() != 1 {
		t.Errorf("timeouts %d, want 1", stats.Defrag.Timeouts.Load())
	}
	// The late last fragment starts a new datagram that cannot complete.
	if rs, _ := feed(d, f[2:], int64(7*time.Second)); rs[0] != Fragment {
		t.Errorf("late fragment %v, want held", rs[0])
	}
	d.Flush(int64(20 * time.Second))
	if stats.Defrag.Timeouts.Load() != 3 {
		t.Errorf("timeouts after Flush %d, want 3", stats.Defrag.Timeouts.Load())
	}
}

func TestDefragBounds(t *testing.T) {
	t.Run("max datagrams evicts oldest", func(t *testing.T) {
		stats := new(DecodeStats)
		d := NewDecoder(DecoderConfig{Defrag: DefragConfig{MaxDatagrams: 2}}, stats)
		_, a := frags4(10, udpBody(100), 64)
		_, b := frags4(11, udpBody(100), 64)
		_, c := frags4(12, udpBody(100), 64)
		rs, _ := feed(d, [][]byte{a[0], b[0], c[0], c[1], a[1]}, 0)
		want := []Result{Fragment, Fragment, Fragment, OK, Fragment}
		if !slices.Equal(rs, want) {
			t.Errorf("results %v, want %v", rs, want)
		}
		if stats.Defrag.Evicted.Load() != 1 {
			t.Errorf("evicted %d, want 1", stats.Defrag.Evicted.Load())
		}
	})
	t.Run("max bytes", func(t *testing.T) {
		stats := new(DecodeStats)
		const limit = 16 << 10
		d := NewDecoder(DecoderConfig{Defrag: DefragConfig{MaxBytes: limit}}, stats)
		for i := range 50 {
			_, f := frags4(uint16(100+i), udpBody(4000), 1480)
			feed(d, f[:2], int64(i))
			if d.Held() > limit {
				t.Fatalf("held %d bytes, limit %d", d.Held(), limit)
			}
		}
		if stats.Defrag.Evicted.Load() == 0 {
			t.Error("nothing evicted under a 16 KiB budget")
		}
		// Completing a datagram still works under pressure.
		body := udpBody(3000)
		_, f := frags4(999, body, 1480)
		rs, p := feed(d, f, 100)
		if rs[len(rs)-1] != OK || !bytes.Equal(p.Payload, body) {
			t.Errorf("results %v", rs)
		}
	})
	t.Run("truncated capture", func(t *testing.T) {
		stats := new(DecodeStats)
		d := NewDecoder(DecoderConfig{}, stats)
		_, f := frags4(13, udpBody(2000), 800)
		var p Packet
		if r := d.Decode(f[1][:100], Meta{LinkType: LinkRaw, CapLen: 100, WireLen: len(f[1])}, &p); r != FragmentDropped {
			t.Errorf("cut later fragment: %v, want dropped", r)
		}
		// A cut first fragment still yields its flow, marked truncated.
		if r := d.Decode(f[0][:100], Meta{LinkType: LinkRaw, CapLen: 100, WireLen: len(f[0])}, &p); r != OK || !p.Truncated || p.DstPort != srv4.Port() || p.Reassembled {
			t.Errorf("cut first fragment: %v %+v, want OK truncated", r, p)
		}
		if f := &stats.Defrag; f.TruncatedFirst.Load() != 1 || f.TruncatedDropped.Load() != 1 {
			t.Errorf("truncated first %d dropped %d, want 1 and 1", f.TruncatedFirst.Load(), f.TruncatedDropped.Load())
		}
	})
}

// TestDefragSteadyStateAllocs reassembles the same datagram repeatedly:
// after warm-up, buffers are reused and nothing is allocated.
func TestDefragSteadyStateAllocs(t *testing.T) {
	d := NewDecoder(DecoderConfig{}, nil)
	_, f4 := frags4(20, udpBody(3000), 1200)
	_, f6 := frags6(21, udpBody(3000), 1200)
	var p Packet
	ms4 := make([]Meta, len(f4))
	for i, f := range f4 {
		ms4[i] = Meta{LinkType: LinkRaw, CapLen: len(f), WireLen: len(f)}
	}
	run := func() {
		for i, f := range f4 {
			d.Decode(f, ms4[i], &p)
		}
		for _, f := range f6 {
			d.Decode(f, Meta{LinkType: LinkRaw, CapLen: len(f), WireLen: len(f)}, &p)
		}
	}
	run()
	if a := testing.AllocsPerRun(50, run); a != 0 {
		t.Errorf("%v allocations per reassembly", a)
	}
	if !p.Reassembled {
		t.Error("not reassembled")
	}
}

// TestDefragNestedInTunnel: an inner datagram completed inside an outer
// datagram rebuilt in the same Decode; both slots must be released.
func TestDefragNestedInTunnel(t *testing.T) {
	stats := new(DecodeStats)
	d := NewDecoder(DecoderConfig{}, stats)
	body := udpBody(600)
	_, inner := frags4(30, body, 304)
	greOf := func(ip []byte) []byte { return pcapgen.GRE(pcapgen.EtherIPv4, 0, false, ip) }
	outerHdr := pcapgen.IPv4Header{Src: vtA.Addr(), Dst: vtB.Addr(), Proto: pcapgen.ProtoGRE, ID: 31}
	pkts := [][]byte{outerHdr.Marshal(greOf(inner[0]))}
	pkts = append(pkts, pcapgen.IPv4Fragments(outerHdr, greOf(inner[1]), 200)...)
	rs, p := feed(d, pkts, 0)
	if rs[len(rs)-1] != OK || !bytes.Equal(p.Payload, body) || p.Tunnel.Type != TunnelGRE || !p.Reassembled {
		t.Fatalf("results %v, tunnel %v, payload %d bytes", rs, p.Tunnel.Type, len(p.Payload))
	}
	if stats.Defrag.Reassembled.Load() != 2 {
		t.Errorf("reassembled %d, want 2", stats.Defrag.Reassembled.Load())
	}
	feed(d, [][]byte{pcapgen.IPUDP(cli4, srv4, nil)}, 10)
	if n := len(d.defrag.index); n != 0 {
		t.Errorf("%d datagrams still held", n)
	}
}
