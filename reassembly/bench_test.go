package reassembly

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
)

// benchFlows builds n established TCP flows in tb and returns one data
// packet per flow, ready to be advanced by the caller.
func benchFlows(tb *Table, n int, payload []byte) []*capture.Packet {
	pkts := make([]*capture.Packet, n)
	for i := range n {
		var a4 [4]byte
		binary.BigEndian.PutUint32(a4[:], 0x0a000000+uint32(i/50000))
		src := netip.AddrFrom4(a4)
		sport := uint16(10000 + i%50000)
		syn := &capture.Packet{TS: t0, Proto: capture.ProtoTCP, Src: src, Dst: srvAddr, SrcPort: sport, DstPort: 443, TCPFlags: fS, Seq: 100, IPLen: 60}
		tb.Packet(syn)
		sa := *syn
		sa.Src, sa.Dst, sa.SrcPort, sa.DstPort, sa.TCPFlags, sa.Seq, sa.Ack = srvAddr, src, 443, sport, fSA, 900, 101
		tb.Packet(&sa)
		p := *syn
		p.TCPFlags, p.Seq, p.Ack, p.Payload, p.IPLen = fPA, 101, 901, payload, 40+len(payload)
		pkts[i] = &p
	}
	return pkts
}

func BenchmarkTCPInOrder(b *testing.B) {
	for _, n := range []int{1, 64, 100_000} {
		b.Run("flows="+strconv.Itoa(n), func(b *testing.B) {
			payload := make([]byte, 1400)
			tb := NewTable(Config{InspectDepth: -1, ActiveTimeout: -1}, &nopHandler{}, nil, nil)
			pkts := benchFlows(tb, n, payload)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			b.ResetTimer()
			ts := t0
			for i := 0; b.Loop(); i++ {
				p := pkts[i%n]
				ts += 100
				p.TS = ts
				tb.Packet(p)
				p.Seq += uint32(len(payload))
			}
			b.StopTimer()
			tb.Flush(EndShutdown)
		})
	}
}

// BenchmarkTCPOutOfOrder sends every pair of segments swapped: half the
// packets are buffered (copied into pooled buffers) and drained by the next.
func BenchmarkTCPOutOfOrder(b *testing.B) {
	payload := make([]byte, 1400)
	st := new(Stats)
	tb := NewTable(Config{InspectDepth: -1, ActiveTimeout: -1}, &nopHandler{}, nil, st)
	p := benchFlows(tb, 1, payload)[0]
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	ts := t0
	for i := 0; b.Loop(); i++ {
		ts += 100
		p.TS = ts
		if i%2 == 0 {
			p.Seq += 1400 // the later segment first
		} else {
			p.Seq -= 1400
		}
		tb.Packet(p)
		if i%2 == 1 {
			p.Seq += 2800
		}
	}
	if b.N > 1 && st.OOOBytesBuffered.Load() == 0 {
		b.Fatal("nothing was buffered: the benchmark did not exercise the out-of-order path")
	}
}

func BenchmarkUDP(b *testing.B) {
	tb := NewTable(Config{InspectDepth: -1, ActiveTimeout: -1}, &nopHandler{}, nil, nil)
	p := udpPacket(0, cliAddr, srvAddr, 40000, 443, string(make([]byte, 1200)))
	b.SetBytes(int64(len(p.Payload)))
	b.ReportAllocs()
	for b.Loop() {
		p.TS += 100
		tb.Packet(p)
	}
}

// BenchmarkFlowChurn measures creating and ending short flows (SYN, RST),
// the path that may allocate.
func BenchmarkFlowChurn(b *testing.B) {
	tb := NewTable(Config{TCPClosedLinger: 1, ActiveTimeout: -1}, &nopHandler{}, nil, nil)
	syn := &capture.Packet{TS: t0, Proto: capture.ProtoTCP, Src: cliAddr, Dst: srvAddr, DstPort: 443, TCPFlags: fS, IPLen: 60}
	// The refusal acknowledges the SYN (RFC 793), as a host requires.
	rst := &capture.Packet{TS: t0, Proto: capture.ProtoTCP, Src: srvAddr, Dst: cliAddr, SrcPort: 443, TCPFlags: fRA, Ack: 1, IPLen: 40}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		port := uint16(1024 + i%60000)
		syn.SrcPort, rst.DstPort = port, port
		syn.TS += 10
		rst.TS = syn.TS
		tb.Packet(syn)
		tb.Packet(rst)
	}
}

// netipKey is the alternative key shape measured against flowKey.
type netipKey struct {
	lo, hi         netip.Addr
	loPort, hiPort uint16
	proto          uint8
}

// BenchmarkKeyLookup compares map lookups with the fixed-array flowKey and a
// netip.Addr key over 100k IPv4 flows; see flowKey's doc comment.
func BenchmarkKeyLookup(b *testing.B) {
	const n = 100_000
	addrs := make([]netip.Addr, n)
	for i := range addrs {
		var a4 [4]byte
		binary.BigEndian.PutUint32(a4[:], 0x0a000000+uint32(i))
		addrs[i] = netip.AddrFrom4(a4)
	}
	b.Run("fixed16", func(b *testing.B) {
		m := make(map[flowKey]*conn, n)
		keys := make([]flowKey, n)
		for i, a := range addrs {
			keys[i] = flowKey{lo: a.As16(), hi: srvAddr.As16(), loPort: uint16(i), hiPort: 443, proto: 6, v4: true}
			m[keys[i]] = &conn{}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			p := &capture.Packet{Src: addrs[i%n], Dst: srvAddr, SrcPort: uint16(i % n), DstPort: 443, Proto: 6}
			k, _ := makeKey(p)
			if m[k] == nil {
				b.Fatal("miss")
			}
		}
	})
	b.Run("netip", func(b *testing.B) {
		m := make(map[netipKey]*conn, n)
		for i, a := range addrs {
			m[netipKey{lo: a, hi: srvAddr, loPort: uint16(i), hiPort: 443, proto: 6}] = &conn{}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			p := &capture.Packet{Src: addrs[i%n], Dst: srvAddr, SrcPort: uint16(i % n), DstPort: 443, Proto: 6}
			k := netipKey{lo: p.Src, hi: p.Dst, loPort: p.SrcPort, hiPort: p.DstPort, proto: p.Proto}
			if p.Dst.Less(p.Src) || (p.Src == p.Dst && p.DstPort < p.SrcPort) {
				k.lo, k.hi, k.loPort, k.hiPort = p.Dst, p.Src, p.DstPort, p.SrcPort
			}
			if m[k] == nil {
				b.Fatal("miss")
			}
		}
	})
}

// BenchmarkFlowLookup measures finding an open flow from a packet (key,
// seeded hash, index probe, key compare) over n IPv4 flows visited in a
// scattered order (the conns allocated in a shuffled order, the packets
// read in sequence), in the open-addressed index and in the map[uint64]*conn
// it replaced; "miss" looks up keys that are not there (a new flow's
// first packet).
func BenchmarkFlowLookup(b *testing.B) {
	for _, n := range []int{32_000, 100_000} {
		pkts := make([]capture.Packet, n)
		for i := range pkts {
			var a4 [4]byte
			binary.BigEndian.PutUint32(a4[:], 0x0a000000+uint32(i))
			pkts[i] = capture.Packet{Src: netip.AddrFrom4(a4), Dst: srvAddr, SrcPort: uint16(1024 + i%60000), DstPort: 443, Proto: 6}
		}
		tb := NewTable(Config{}, newRecHandler(), nil, nil)
		m := make(map[uint64]*conn)
		for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(n) {
			k, _ := makeKey(&pkts[i])
			c := &conn{key: k}
			tb.index(c)
			m[tb.keyHash(&k)] = c
		}
		name := "flows=" + strconv.Itoa(n)
		b.Run("index/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k, _ := makeKey(&pkts[i%n])
				if tb.find(&k) == nil {
					b.Fatal("miss")
				}
			}
		})
		b.Run("map/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k, _ := makeKey(&pkts[i%n])
				if c := m[tb.keyHash(&k)]; c == nil || c.key != k {
					b.Fatal("miss")
				}
			}
		})
		b.Run("index-miss/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				p := pkts[i%n]
				p.DstPort = 80
				k, _ := makeKey(&p)
				if tb.find(&k) != nil {
					b.Fatal("hit")
				}
			}
		})
		b.Run("map-miss/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				p := pkts[i%n]
				p.DstPort = 80
				k, _ := makeKey(&p)
				if c := m[tb.keyHash(&k)]; c != nil && c.key == k {
					b.Fatal("hit")
				}
			}
		})
	}
}
