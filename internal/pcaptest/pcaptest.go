// Package pcaptest loads public captures for the appproto parser tests: it
// decodes frames with gopacket, returns UDP datagrams and rebuilds each TCP
// connection's byte streams by sequence number. It is test support only: the
// reassembly here is deliberately naive (no windows, no timeouts) and must
// never be used on the packet path.
package pcaptest

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"sort"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Packet is the transport-level view of one captured frame.
type Packet struct {
	Index         int // 1-based frame number, as Wireshark counts
	Src, Dst      netip.AddrPort
	UDP           bool
	SYN, ACK, FIN bool
	Seq           uint32
	Payload       []byte
	Fragment      bool // IP fragment: payload is not a complete datagram
}

// Load reads every frame of a pcap or pcapng file (format chosen by magic
// number, not by extension) and returns the TCP and UDP packets in it.
func Load(path string) ([]Packet, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var (
		src      gopacket.PacketDataSource
		linkType layers.LinkType
	)
	if len(raw) >= 4 && bytes.Equal(raw[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("pcaptest: %s: %w", path, err)
		}
		src, linkType = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("pcaptest: %s: %w", path, err)
		}
		src, linkType = r, r.LinkType()
	}
	var first gopacket.Decoder = linkType
	switch linkType {
	case layers.LinkTypeRaw, 12, 228, 229: // raw IP under its various DLT numbers
		first = gopacket.DecodeFunc(decodeRawIP)
	}
	var out []Packet
	for i := 1; ; i++ {
		data, _, err := src.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, first, gopacket.DecodeOptions{Lazy: false, NoCopy: true})
		if q, ok := convert(p); ok {
			q.Index = i
			out = append(out, q)
		}
	}
	return out, nil
}

func decodeRawIP(data []byte, pb gopacket.PacketBuilder) error {
	if len(data) > 0 && data[0]>>4 == 6 {
		return layers.LayerTypeIPv6.Decode(data, pb)
	}
	return layers.LayerTypeIPv4.Decode(data, pb)
}

func convert(p gopacket.Packet) (Packet, bool) {
	var (
		q        Packet
		src, dst netip.Addr
	)
	// The innermost IP layer wins, so tunnels resolve to their payload.
	for _, l := range p.Layers() {
		switch ip := l.(type) {
		case *layers.IPv4:
			src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
			dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
			q.Fragment = ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0
		case *layers.IPv6:
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
			q.Fragment = false
		case *layers.IPv6Fragment:
			q.Fragment = true
		}
	}
	if t, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		q.Src = netip.AddrPortFrom(src, uint16(t.SrcPort))
		q.Dst = netip.AddrPortFrom(dst, uint16(t.DstPort))
		q.SYN, q.ACK, q.FIN, q.Seq = t.SYN, t.ACK, t.FIN, t.Seq
		q.Payload = t.Payload
		return q, !q.Fragment
	}
	if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
		q.UDP = true
		q.Src = netip.AddrPortFrom(src, uint16(u.SrcPort))
		q.Dst = netip.AddrPortFrom(dst, uint16(u.DstPort))
		q.Payload = u.Payload
		return q, !q.Fragment
	}
	return q, false
}

// Stream is one TCP connection rebuilt from a capture.
type Stream struct {
	Client, Server netip.AddrPort // Client sent the first SYN (or the first segment)
	// ClientChunks and ServerChunks are the in-order, de-duplicated segment
	// payloads, cut where the capture cut them, up to the first hole.
	ClientChunks, ServerChunks [][]byte
	ClientGap, ServerGap       bool // a hole stopped the rebuild
}

// Bytes concatenates chunks.
func Bytes(chunks [][]byte) []byte { return bytes.Join(chunks, nil) }

type seg struct {
	seq  uint32
	data []byte
	idx  int
}

// TCPStreams groups TCP packets into connections in order of first
// appearance and rebuilds both directions.
func TCPStreams(pkts []Packet) []Stream {
	type key struct{ a, b netip.AddrPort }
	type conn struct {
		client, server netip.AddrPort
		isn            map[netip.AddrPort]uint32
		hasISN         map[netip.AddrPort]bool
		segs           map[netip.AddrPort][]seg
	}
	var order []*conn
	conns := map[key]*conn{}
	for i, p := range pkts {
		if p.UDP {
			continue
		}
		k := key{p.Src, p.Dst}
		if p.Dst.Addr().Less(p.Src.Addr()) || (p.Dst.Addr() == p.Src.Addr() && p.Dst.Port() < p.Src.Port()) {
			k = key{p.Dst, p.Src}
		}
		c := conns[k]
		if c == nil || (p.SYN && !p.ACK && c.hasISN[p.Src] && c.isn[p.Src] != p.Seq+1 && len(c.segs[p.Src]) > 0) {
			c = &conn{client: p.Src, server: p.Dst, isn: map[netip.AddrPort]uint32{}, hasISN: map[netip.AddrPort]bool{}, segs: map[netip.AddrPort][]seg{}}
			if p.SYN && p.ACK {
				c.client, c.server = p.Dst, p.Src
			}
			conns[k] = c
			order = append(order, c)
		}
		if p.SYN {
			c.isn[p.Src], c.hasISN[p.Src] = p.Seq+1, true
			continue
		}
		if len(p.Payload) > 0 {
			c.segs[p.Src] = append(c.segs[p.Src], seg{p.Seq, p.Payload, i})
		}
	}
	out := make([]Stream, 0, len(order))
	for _, c := range order {
		s := Stream{Client: c.client, Server: c.server}
		s.ClientChunks, s.ClientGap = rebuild(c.segs[c.client], c.isn[c.client], c.hasISN[c.client])
		s.ServerChunks, s.ServerGap = rebuild(c.segs[c.server], c.isn[c.server], c.hasISN[c.server])
		out = append(out, s)
	}
	return out
}

func rebuild(segs []seg, isn uint32, hasISN bool) ([][]byte, bool) {
	if len(segs) == 0 {
		return nil, false
	}
	if !hasISN {
		isn = segs[0].seq
		for _, s := range segs {
			if int32(s.seq-isn) < 0 {
				isn = s.seq
			}
		}
	}
	sort.SliceStable(segs, func(i, j int) bool { return int32(segs[i].seq-isn) < int32(segs[j].seq-isn) })
	var chunks [][]byte
	next := isn
	for _, s := range segs {
		rel := int32(s.seq - next)
		switch {
		case rel > 0:
			return chunks, true
		case int(-rel) >= len(s.data):
			continue // retransmission of bytes already taken
		}
		d := s.data[-rel:]
		chunks = append(chunks, d)
		next += uint32(len(d))
	}
	return chunks, false
}
