package capture

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// corrupt flips bits of the 16-bit field at off (a checksum).
func corrupt(b []byte, off int) []byte {
	b = append([]byte(nil), b...)
	b[off] ^= 0x5a
	return b
}

// partial replaces a TCP/UDP checksum at off (in the IP packet b, L4 at l4)
// with the folded pseudo-header sum, as Linux leaves it for the NIC.
func partial(b []byte, l4, off int, p *Packet) []byte {
	b = append([]byte(nil), b...)
	n := len(b) - l4
	proto := b[9]
	if b[0]>>4 == 6 {
		proto = b[6]
	}
	binary.BigEndian.PutUint16(b[l4+off:], pcapgen.OffloadPlaceholder(p.Src, p.Dst, proto, n)) // built apart from the decoder's own sums
	return b
}

func TestChecksums(t *testing.T) {
	tcp4 := pcapgen.IPTCP(cli4, srv4, 1, 2, pcapgen.ACK, []byte("odd payload"))
	udp4 := pcapgen.IPUDP(cli4, srv4, []byte("datagram"))
	tcp6 := pcapgen.IPTCP(cli6, srv6, 1, 2, pcapgen.ACK, []byte("v6 data"))
	udp6 := pcapgen.IPUDP(cli6, srv6, []byte("v6 datagram"))
	udp4none := append([]byte(nil), udp4...)
	binary.BigEndian.PutUint16(udp4none[20+6:], 0) // UDP over IPv4 without checksum
	v4 := &Packet{Src: cli4.Addr(), Dst: srv4.Addr()}
	v6 := &Packet{Src: cli6.Addr(), Dst: srv6.Addr()}
	_, frags := frags4(9, udpBody(100), 64)
	// Payloads of several lengths modulo 8 (sum32 works in 8-byte words),
	// TCP options (a 32-byte header), a segment without payload.
	tcp4odd := pcapgen.IPTCP(cli4, srv4, 1, 2, pcapgen.ACK, []byte("1234567"))
	tcp4one := pcapgen.IPTCP(cli4, srv4, 1, 2, pcapgen.ACK, []byte("x"))
	tcp4empty := pcapgen.IPTCP(cli4, srv4, 1, 2, pcapgen.ACK, nil)
	tcp4big := pcapgen.IPTCP(cli4, srv4, 1, 2, pcapgen.ACK, udpBody(1453))
	tcp4opts := withTCPOptions(pcapgen.IPTCP(cli4, srv4, 1, 2, pcapgen.ACK, []byte("after options")))

	tests := []struct {
		name   string
		pkt    []byte
		mode   ChecksumMode
		want   Result
		state  ChecksumState
		badTCP uint64
		badUDP uint64
		badIP  uint64
	}{
		{"tcp4 good", tcp4, ChecksumAuto, OK, ChecksumGood, 0, 0, 0},
		{"tcp4 bad, auto marks", corrupt(tcp4, 20+16), ChecksumAuto, OK, ChecksumBad, 1, 0, 0},
		{"tcp4 bad, on drops", corrupt(tcp4, 20+16), ChecksumOn, BadChecksum, ChecksumUnverified, 1, 0, 0},
		{"tcp4 bad, off ignores", corrupt(tcp4, 20+16), ChecksumOff, OK, ChecksumUnverified, 0, 0, 0},
		{"tcp4 offload placeholder, auto", partial(tcp4, 20, 16, v4), ChecksumAuto, OK, ChecksumUnverified, 0, 0, 0},
		{"tcp4 offload placeholder, on", partial(tcp4, 20, 16, v4), ChecksumOn, BadChecksum, ChecksumUnverified, 1, 0, 0},
		{"tcp4 payload byte changed", corrupt(tcp4, len(tcp4)-1), ChecksumAuto, OK, ChecksumBad, 1, 0, 0},
		{"udp4 good", udp4, ChecksumAuto, OK, ChecksumGood, 0, 0, 0},
		{"udp4 bad", corrupt(udp4, 20+6), ChecksumOn, BadChecksum, ChecksumUnverified, 0, 1, 0},
		{"udp4 without checksum", udp4none, ChecksumOn, OK, ChecksumGood, 0, 0, 0},
		{"tcp6 good", tcp6, ChecksumOn, OK, ChecksumGood, 0, 0, 0},
		{"tcp6 bad", corrupt(tcp6, 40+16), ChecksumOn, BadChecksum, ChecksumUnverified, 1, 0, 0},
		{"udp6 good", udp6, ChecksumOn, OK, ChecksumGood, 0, 0, 0},
		{"udp6 bad", corrupt(udp6, 40+7), ChecksumAuto, OK, ChecksumBad, 0, 1, 0},
		{"ipv4 header bad, auto marks", corrupt(tcp4, 10), ChecksumAuto, OK, ChecksumBad, 0, 0, 1},
		{"ipv4 header bad, on drops", corrupt(tcp4, 10), ChecksumOn, BadChecksum, ChecksumUnverified, 0, 0, 1},
		{"ipv4 fragment header bad, auto drops", corrupt(frags[0], 10), ChecksumAuto, BadChecksum, ChecksumUnverified, 0, 0, 1},
		{"tcp4 cut by the snaplen", corrupt(tcp4, 20+16)[:len(tcp4)-3], ChecksumOn, OK, ChecksumGood, 0, 0, 0},
		{"tcp4 7-byte payload", tcp4odd, ChecksumAuto, OK, ChecksumGood, 0, 0, 0},
		{"tcp4 7-byte payload changed", corrupt(tcp4odd, len(tcp4odd)-2), ChecksumAuto, OK, ChecksumBad, 1, 0, 0},
		{"tcp4 1-byte payload", tcp4one, ChecksumAuto, OK, ChecksumGood, 0, 0, 0},
		{"tcp4 1-byte payload changed", corrupt(tcp4one, len(tcp4one)-1), ChecksumAuto, OK, ChecksumBad, 1, 0, 0},
		{"tcp4 no payload", tcp4empty, ChecksumAuto, OK, ChecksumGood, 0, 0, 0},
		{"tcp4 no payload, bad", corrupt(tcp4empty, 20+16), ChecksumAuto, OK, ChecksumBad, 1, 0, 0},
		{"tcp4 1453-byte payload", tcp4big, ChecksumAuto, OK, ChecksumGood, 0, 0, 0},
		{"tcp4 1453-byte payload changed", corrupt(tcp4big, 700), ChecksumAuto, OK, ChecksumBad, 1, 0, 0},
		{"tcp4 1453-byte payload placeholder", partial(tcp4big, 20, 16, v4), ChecksumAuto, OK, ChecksumUnverified, 0, 0, 0},
		{"tcp4 options", tcp4opts, ChecksumAuto, OK, ChecksumGood, 0, 0, 0},
		{"tcp4 options changed", corrupt(tcp4opts, 20+22), ChecksumAuto, OK, ChecksumBad, 1, 0, 0},
		{"tcp4 bad ip header, good tcp: still bad", corrupt(tcp4big, 10), ChecksumAuto, OK, ChecksumBad, 0, 0, 1},
		{"tcp6 payload changed, auto", corrupt(tcp6, len(tcp6)-1), ChecksumAuto, OK, ChecksumBad, 1, 0, 0},
		{"tcp6 placeholder, auto", partial(tcp6, 40, 16, v6), ChecksumAuto, OK, ChecksumUnverified, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := new(DecodeStats)
			d := NewDecoder(DecoderConfig{Checksums: tc.mode}, st)
			var p Packet
			wire := len(tc.pkt)
			if len(tc.pkt) == len(tcp4)-3 {
				wire = len(tcp4) // the snaplen case
			}
			r := d.Decode(tc.pkt, Meta{LinkType: LinkRaw, CapLen: len(tc.pkt), WireLen: wire}, &p)
			if r != tc.want {
				t.Fatalf("result %v, want %v", r, tc.want)
			}
			if r == OK && p.Checksum != tc.state {
				t.Errorf("checksum state %d, want %d", p.Checksum, tc.state)
			}
			ip, tcp, udp := st.BadChecksums()
			if ip != tc.badIP || tcp != tc.badTCP || udp != tc.badUDP {
				t.Errorf("bad checksums ip=%d tcp=%d udp=%d, want %d %d %d", ip, tcp, udp, tc.badIP, tc.badTCP, tc.badUDP)
			}
			if tc.want == BadChecksum && st.Result(BadChecksum) != 1 {
				t.Errorf("bad_checksum result not counted")
			}
		})
	}
	// The offload placeholders are counted.
	st := new(DecodeStats)
	d := NewDecoder(DecoderConfig{}, st)
	for _, pkt := range [][]byte{partial(tcp4big, 20, 16, v4), partial(tcp6, 40, 16, v6), partial(tcp4, 20, 16, v4)} {
		var p Packet
		d.Decode(pkt, Meta{LinkType: LinkRaw, CapLen: len(pkt), WireLen: len(pkt)}, &p)
	}
	if got := st.ChecksumPartials(); got != 3 {
		t.Errorf("%d offload placeholders counted, want 3", got)
	}
}

func TestParseChecksumMode(t *testing.T) {
	for in, want := range map[string]ChecksumMode{"": ChecksumAuto, "auto": ChecksumAuto, "ON": ChecksumOn, "off": ChecksumOff} {
		if got, err := ParseChecksumMode(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
		if want.String() != map[ChecksumMode]string{ChecksumAuto: "auto", ChecksumOn: "on", ChecksumOff: "off"}[want] {
			t.Errorf("String of %d", want)
		}
	}
	if _, err := ParseChecksumMode("yes"); err == nil {
		t.Error("yes accepted")
	}
}

// Linux follows an IPv6 extension-header chain as long as the packet holds
// it; a count limit would hide from the sensor what the host delivers.
func TestIPv6ManyExtensionHeaders(t *testing.T) {
	for _, n := range []int{0, 8, 9, 40, 1000} {
		l4 := pcapgen.UDP(cli6, srv6, []byte("behind the chain"))
		chain := make([]byte, 0, 8*n+len(l4))
		for i := range n {
			next := byte(60) // destination options
			if i == n-1 {
				next = ProtoUDP
			}
			chain = append(chain, next, 0, 1, 4, 0, 0, 0, 0) // PadN option filling the header
		}
		chain = append(chain, l4...)
		first := uint8(ProtoUDP)
		if n > 0 {
			first = 60
		}
		pkt := pcapgen.IPv6Header{Src: cli6.Addr(), Dst: srv6.Addr(), NextHeader: first}.Marshal(chain)
		var p Packet
		d := NewDecoder(DecoderConfig{Checksums: ChecksumOn}, nil)
		if r := d.Decode(pkt, Meta{LinkType: LinkRaw, CapLen: len(pkt), WireLen: len(pkt)}, &p); r != OK || string(p.Payload) != "behind the chain" {
			t.Errorf("%d headers: %v %q", n, r, p.Payload)
		}
	}
}

// Linux has no fragment count per datagram (memory and time bound it): a
// datagram in 8-byte fragments, in any order, is delivered.
func TestDefragManySmallFragments(t *testing.T) {
	udp, frags := frags4(11, udpBody(4000), 8)
	if len(frags) < 500 {
		t.Fatalf("%d fragments", len(frags))
	}
	// Odd-numbered fragments first, then the even ones, so thousands of
	// disjoint spans are held at once.
	var order [][]byte
	for i := 1; i < len(frags); i += 2 {
		order = append(order, frags[i])
	}
	for i := 0; i < len(frags); i += 2 {
		order = append(order, frags[i])
	}
	stats := new(DecodeStats)
	d := NewDecoder(DecoderConfig{}, stats)
	rs, p := feed(d, order, 0)
	if rs[len(rs)-1] != OK || string(p.Payload) != string(udp[8:]) {
		t.Fatalf("last result %v, payload %d bytes, want %d", rs[len(rs)-1], len(p.Payload), len(udp)-8)
	}
	if stats.Defrag.TooMany.Load() != 0 || stats.Defrag.Reassembled.Load() != 1 {
		t.Errorf("too many %d reassembled %d", stats.Defrag.TooMany.Load(), stats.Defrag.Reassembled.Load())
	}
}

// The wide accumulator agrees with the plain RFC 1071 checksum for every
// length and alignment of the tail.
func TestSumMatchesRFC1071(t *testing.T) {
	b := make([]byte, 300)
	for i := range b {
		b[i] = byte(i*131 + i>>3)
	}
	b[7], b[8], b[9] = 0xff, 0xff, 0xff // carries
	for n := 0; n <= len(b); n++ {
		for _, init := range []uint32{0, 0x1fffe, 12345} {
			if got, want := ^fold(sum32(b[:n], uint64(init))), pcapgen.Checksum(b[:n], init); got != want {
				t.Fatalf("n=%d init=%d: %#x, want %#x", n, init, got, want)
			}
		}
	}
	all := make([]byte, 4096)
	for i := range all {
		all[i] = 0xff
	}
	if got, want := ^fold(sum32(all, 0)), pcapgen.Checksum(all, 0); got != want {
		t.Fatalf("all ones: %#x, want %#x", got, want)
	}
}

// withTCPOptions gives the TCP segment in IPv4 packet b twelve bytes of
// options (NOP, NOP, timestamps), fixing the lengths and checksums.
func withTCPOptions(b []byte) []byte {
	opts := []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	out := append(append(append([]byte(nil), b[:40]...), opts...), b[40:]...)
	binary.BigEndian.PutUint16(out[2:4], uint16(len(out)))
	out[32] = byte((20+len(opts))/4) << 4
	out[10], out[11] = 0, 0
	binary.BigEndian.PutUint16(out[10:12], ^fold(sum32(out[:20], 0)))
	out[36], out[37] = 0, 0
	src, dst := netip.AddrFrom4([4]byte(out[12:16])), netip.AddrFrom4([4]byte(out[16:20]))
	binary.BigEndian.PutUint16(out[36:38], ^fold(sum32(out[20:], pseudoSum(src, dst, ProtoTCP, len(out)-20))))
	return out
}
