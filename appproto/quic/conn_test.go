package quic

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// protect builds a client Initial packet around plaintext frames, as a
// client would: header, packet number, AEAD, header protection. The
// payload is padded so the header-protection sample exists.
func protect(t testing.TB, version uint32, dcid []byte, pn uint32, frames []byte) []byte {
	k, err := ClientInitialKeys(version, dcid)
	if err != nil {
		t.Fatal(err)
	}
	o, err := newOpener(k)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) < 20 {
		frames = append(frames, make([]byte, 20-len(frames))...)
	}
	first := byte(0xc3) // long, fixed, Initial (v1), 4-byte packet number
	if version == Version2 {
		first = 0xd3
	}
	hdr := []byte{first}
	hdr = binary.BigEndian.AppendUint32(hdr, version)
	hdr = append(hdr, byte(len(dcid)))
	hdr = append(hdr, dcid...)
	hdr = append(hdr, 0, 0) // no SCID, no token
	length := 4 + len(frames) + 16
	hdr = append(hdr, 0x40|byte(length>>8), byte(length))
	pnOff := len(hdr)
	hdr = binary.BigEndian.AppendUint32(hdr, pn)
	nonce := o.iv
	for i := 0; i < 8; i++ {
		nonce[11-i] ^= byte(uint64(pn) >> (8 * i))
	}
	pkt := o.aead.Seal(hdr, nonce[:], frames, hdr)
	var mask [16]byte
	o.hp.Encrypt(mask[:], pkt[pnOff+4:pnOff+20])
	pkt[0] ^= mask[0] & 0x0f
	for i := 0; i < 4; i++ {
		pkt[pnOff+i] ^= mask[1+i]
	}
	return pkt
}

func cryptoFrame(off int, data []byte) []byte {
	f := []byte{0x06}
	f = binary.BigEndian.AppendUint32(f, 0x80000000|uint32(off))
	f = binary.BigEndian.AppendUint16(f, 0x4000|uint16(len(data)))
	return append(f, data...)
}

// testHello is a ClientHello handshake message for SNI "split.example".
func testHello() []byte {
	sni := []byte("split.example")
	ext := []byte{0, 0}
	ext = binary.BigEndian.AppendUint16(ext, uint16(len(sni)+5))
	ext = binary.BigEndian.AppendUint16(ext, uint16(len(sni)+3))
	ext = append(ext, 0)
	ext = binary.BigEndian.AppendUint16(ext, uint16(len(sni)))
	ext = append(ext, sni...)
	ext = append(ext, 0x00, 0x39, 0, 200) // quic_transport_parameters, padded to make the hello long
	ext = append(ext, make([]byte, 200)...)
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0, 0, 2, 0x13, 0x01, 1, 0)
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	return append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
}

var testDCID = []byte{1, 2, 3, 4, 5, 6, 7, 8}

func TestCryptoReassembly(t *testing.T) {
	hello := testHello()
	a, b, c := hello[:50], hello[50:120], hello[120:]
	ping := []byte{0x01}
	ack := []byte{0x02, 0x05, 0x00, 0x01, 0x00, 0x01, 0x01} // largest 5, 1 extra range
	tests := []struct {
		name      string
		datagrams [][]byte
	}{
		{"one packet", [][]byte{protect(t, Version1, testDCID, 0, cryptoFrame(0, hello))}},
		{"v2", [][]byte{protect(t, Version2, testDCID, 0, cryptoFrame(0, hello))}},
		{"three packets in order", [][]byte{
			protect(t, Version1, testDCID, 0, cryptoFrame(0, a)),
			protect(t, Version1, testDCID, 1, cryptoFrame(50, b)),
			protect(t, Version1, testDCID, 2, cryptoFrame(120, c)),
		}},
		{"reverse order with overlap, ping and ack", [][]byte{
			protect(t, Version1, testDCID, 2, append(ping, cryptoFrame(100, hello[100:])...)),
			protect(t, Version1, testDCID, 1, append(ack, cryptoFrame(40, hello[40:110])...)),
			protect(t, Version1, testDCID, 0, cryptoFrame(0, a)),
		}},
		{"coalesced in one datagram, frames out of order", [][]byte{bytes.Join([][]byte{
			protect(t, Version1, testDCID, 0, append(cryptoFrame(120, c), cryptoFrame(0, a)...)),
			protect(t, Version1, testDCID, 1, cryptoFrame(50, b)),
		}, nil)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var conn Conn
			for _, d := range tc.datagrams {
				conn.Feed(d)
			}
			if conn.Status() != Done || conn.Hello.SNI() != "split.example" {
				t.Fatalf("status %v SNI %q stats %+v", conn.Status(), conn.Hello.SNI(), conn.Stats)
			}
			if got := conn.JA4(); got[:4] != "q12d" {
				t.Errorf("JA4 %s", got)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	hello := testHello()
	t.Run("max packets", func(t *testing.T) {
		c := Conn{MaxPackets: 3}
		for i := 0; i < 5; i++ {
			c.Feed(protect(t, Version1, testDCID, uint32(i), []byte{0x01}))
		}
		if c.Status() != GaveUp || c.Stats.Initials != 3 {
			t.Errorf("status %v stats %+v", c.Status(), c.Stats)
		}
	})
	t.Run("crypto beyond cap", func(t *testing.T) {
		c := Conn{MaxCrypto: 1024}
		c.Feed(protect(t, Version1, testDCID, 0, cryptoFrame(2000, hello[:10])))
		if c.Status() != GaveUp || c.Stats.CryptoDropped != 1 || cap(c.crypto) > 0 {
			t.Errorf("status %v stats %+v cap %d", c.Status(), c.Stats, cap(c.crypto))
		}
	})
	t.Run("too many holes", func(t *testing.T) {
		var c Conn
		for i := 0; i < DefaultMaxPackets && c.Status() == NeedMore; i++ {
			var frames []byte
			for j := 0; j < 8; j++ {
				frames = append(frames, cryptoFrame(10+(i*8+j)*4, []byte{1})...)
			}
			c.Feed(protect(t, Version1, testDCID, uint32(i), frames))
		}
		if c.Status() != GaveUp || len(c.ranges) > maxRanges {
			t.Errorf("status %v ranges %d", c.Status(), len(c.ranges))
		}
	})
	t.Run("hello length beyond cap", func(t *testing.T) {
		c := Conn{MaxCrypto: 4096}
		c.Feed(protect(t, Version1, testDCID, 0, cryptoFrame(0, []byte{1, 0x01, 0, 0})))
		if c.Status() != GaveUp {
			t.Errorf("status %v", c.Status())
		}
	})
}

func TestBadInput(t *testing.T) {
	good := protect(t, Version1, testDCID, 0, cryptoFrame(0, testHello()))
	unknownFrame := protect(t, Version1, testDCID, 0, []byte{0x08, 0, 0})
	tests := []struct {
		name  string
		d     []byte
		want  Status
		looks bool
	}{
		{"good", good, Done, true},
		{"dns", []byte{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 0, 0, 1, 0, 1}, NotQUIC, false},
		{"short header", append([]byte{0x40}, good[1:]...), NotQUIC, false},
		{"version negotiation", append([]byte{0xc0, 0, 0, 0, 0}, good[5:]...), NotQUIC, false},
		{"forced negotiation version", append([]byte{0xc0, 0x1a, 0x2a, 0x3a, 0x4a}, good[5:]...), Unsupported, false},
		{"truncated", good[:100], NotQUIC, false},
		{"client close", protect(t, Version1, testDCID, 0, []byte{0x1c, 0x01, 0x00, 0x00}), Malformed, true},
		{"unknown frame", unknownFrame, NeedMore, true},
		{"not a client hello", protect(t, Version1, testDCID, 0, cryptoFrame(0, []byte{2, 0, 0, 1, 0})), Malformed, true},
	}
	for _, tc := range tests {
		var c Conn
		c.Feed(tc.d)
		if c.Status() != tc.want || LooksLikeInitial(tc.d) != tc.looks {
			t.Errorf("%s: status %v looks %v, want %v %v", tc.name, c.Status(), LooksLikeInitial(tc.d), tc.want, tc.looks)
		}
	}
}

func TestConnReuse(t *testing.T) {
	var c Conn
	c.Feed(protect(t, Version1, testDCID, 0, cryptoFrame(0, testHello())))
	first := c.JA4()
	c.Reset()
	if c.Status() != NeedMore || c.Hello.SNI() != "" || c.JA4() != "" {
		t.Fatal("Reset left state behind")
	}
	c.Feed(protect(t, Version2, []byte{9, 9, 9, 9, 9, 9, 9, 9, 9}, 7, cryptoFrame(0, testHello())))
	if c.JA4() != first || c.Version != Version2 {
		t.Errorf("reuse: %s %x", c.JA4(), c.Version)
	}
}

func TestLooksLikeInitialAllocs(t *testing.T) {
	d := protect(t, Version1, testDCID, 0, cryptoFrame(0, testHello()))
	if a := testing.AllocsPerRun(100, func() { LooksLikeInitial(d) }); a != 0 {
		t.Errorf("LooksLikeInitial allocates %.1f", a)
	}
	var c Conn
	c.Feed(d)
	junk := []byte("not quic at all, just bytes")
	if a := testing.AllocsPerRun(100, func() { c.Reset(); c.Feed(junk) }); a != 0 {
		t.Errorf("rejecting a non-QUIC datagram allocates %.1f", a)
	}
}
