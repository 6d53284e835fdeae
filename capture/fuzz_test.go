package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// fuzzLinks maps the fuzzer's link selector to every link type decoded.
var fuzzLinks = []LinkType{LinkEthernet, LinkSLL, LinkSLL2, LinkRaw, LinkRawDLT12, LinkRawDLT14, LinkIPv4, LinkIPv6, LinkNull, LinkLoop}

func FuzzDecode(f *testing.F) {
	for _, tc := range decoderCases() {
		for i, l := range fuzzLinks {
			if l == tc.link {
				f.Add(uint8(i), tc.data)
			}
		}
	}
	// Issue 11.4: a long IPv6 extension chain, failing checksums.
	raw := -1
	for i, l := range fuzzLinks {
		if l == LinkRaw {
			raw = i
		}
	}
	if raw >= 0 {
		for _, tc := range quoteCases() { // ICMP errors quoting flows
			f.Add(uint8(raw), tc.ip)
		}
		chain := []byte{}
		for i := range 20 {
			next := byte(60)
			if i == 19 {
				next = ProtoTCP
			}
			chain = append(chain, next, 0, 1, 4, 0, 0, 0, 0)
		}
		chain = append(chain, pcapgen.TCP(cli6, srv6, 1, 2, pcapgen.ACK, 100, []byte("x"))...)
		f.Add(uint8(raw), pcapgen.IPv6Header{Src: cli6.Addr(), Dst: srv6.Addr(), NextHeader: 60}.Marshal(chain))
		f.Add(uint8(raw), corrupt(pcapgen.IPTCP(cli4, srv4, 1, 2, pcapgen.ACK, []byte("payload")), 36))
		f.Add(uint8(raw+len(fuzzLinks)), corrupt(pcapgen.IPUDP(cli4, srv4, []byte("payload")), 10))
	}
	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		// The selector's high values also pick the checksum mode.
		mode := ChecksumMode(int(sel) / len(fuzzLinks) % 3)
		d := NewDecoder(DecoderConfig{Defrag: DefragConfig{MaxBytes: 32 << 10, MaxDatagrams: 8}, Checksums: mode}, nil)
		var p Packet
		link := fuzzLinks[int(sel)%len(fuzzLinks)]
		// Decode twice so a held fragment can meet itself (duplicate path).
		for range 2 {
			r := d.Decode(data, Meta{LinkType: link, CapLen: len(data), WireLen: len(data)}, &p)
			if r >= numResults {
				t.Fatalf("result %d out of range", r)
			}
			if !p.Reassembled && len(p.Payload) > len(data) {
				t.Fatalf("payload %d bytes from a %d-byte frame", len(p.Payload), len(data))
			}
			if r == OK && !p.Src.IsValid() {
				t.Fatalf("OK without a source address: %+v", p)
			}
			if d.Held() > 32<<10 {
				t.Fatalf("defragmenter holds %d bytes", d.Held())
			}
		}
	})
}

// FuzzDefrag feeds a sequence of fragments described by the input, 6 bytes
// each: flags (bit 0 IPv6, bit 1 more fragments, bits 2-3 datagram id),
// offset in 8-byte units (2 bytes), length (2 bytes), time step. Every
// fragment carries the same byte pattern at the same datagram offset, so
// a reassembled datagram must equal the pattern whatever the order,
// duplicates or overlaps.
func FuzzDefrag(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 16, 0, 2, 0, 2, 0, 16, 0})
	f.Add([]byte{3, 0, 2, 0, 16, 0, 1, 0, 0, 0, 16, 0, 1, 0, 4, 0, 8, 0})
	f.Add([]byte{2, 0, 0, 0, 24, 0, 2, 0, 1, 0, 24, 0, 0, 0, 4, 0, 8, 0})
	f.Add([]byte{0x12, 0, 2, 0, 8, 0, 0x12, 0, 0, 0, 8, 0, 0x12, 0, 4, 0, 8, 0, 0x12, 0, 3, 0, 8, 0, 0x12, 0, 1, 0, 8, 0, 0x10, 0, 5, 0, 8, 0})
	const limit = 32 << 10
	pattern := make([]byte, 70000)
	for i := range pattern {
		pattern[i] = byte(i*7 + i>>8)
	}
	f.Fuzz(func(t *testing.T, ops []byte) {
		stats := new(DecodeStats)
		maxFrags := 16
		if len(ops) > 0 && ops[0]&0x10 != 0 {
			maxFrags = 0 // no count limit, as in Linux
		}
		d := NewDecoder(DecoderConfig{Defrag: DefragConfig{MaxBytes: limit, MaxDatagrams: 4, MaxFragments: maxFrags}}, stats)
		var p Packet
		var ts int64
		for len(ops) >= 6 {
			flags := ops[0]
			off := int(binary.BigEndian.Uint16(ops[1:3])&0x1fff) * 8
			n := int(binary.BigEndian.Uint16(ops[3:5])) % 4000
			ts += int64(ops[5]) * 1e8
			ops = ops[6:]
			end := min(off+n, len(pattern))
			data := pattern[off:end]
			more := flags&2 != 0
			id := flags >> 2 & 3
			var pkt []byte
			if flags&1 == 0 {
				pkt = pcapgen.IPv4Header{Src: cli4.Addr(), Dst: srv4.Addr(), Proto: 253, ID: uint16(id), FragOff: off, MF: more}.Marshal(data)
			} else {
				pkt = pcapgen.IPv6Fragment(pcapgen.IPv6Header{Src: cli6.Addr(), Dst: srv6.Addr(), NextHeader: 253}, uint32(id), off, more, data)
			}
			r := d.Decode(pkt, Meta{TS: ts, LinkType: LinkRaw, CapLen: len(pkt), WireLen: len(pkt)}, &p)
			if r == OK && p.Reassembled {
				if !bytes.Equal(p.Payload, pattern[:len(p.Payload)]) {
					t.Fatalf("reassembled datagram of %d bytes differs from the pattern", len(p.Payload))
				}
			}
			if d.Held() > limit {
				t.Fatalf("held %d bytes, limit %d", d.Held(), limit)
			}
		}
	})
}

func FuzzFileSource(f *testing.F) {
	for _, name := range []string{"arkime_bigendian.pcap", "gopacket_pcapgo_le_test202.pcapng", "gopacket_pcapgo_be_test001.pcapng", "tcpdump_tcp-handshake-nano.pcap"} {
		b, err := os.ReadFile(filepath.Join(pcapDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(classicPcap(binary.BigEndian, true, 1, sampleFrames(), 1, 2))
	for _, b := range hugeClaims() {
		f.Add(b[:min(len(b), 4096)]) // the claim, a little of the filler
		f.Add(gz(nil, b))            // compressed: the cheap form of the attack
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := NewReaderSource("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		defer s.Close()
		d := NewDecoder(DecoderConfig{}, nil)
		var p Packet
		for range 1000 {
			pkt, m, err := s.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && err.Error() == "" {
					t.Fatal("empty error")
				}
				return
			}
			if len(pkt) != m.CapLen || len(pkt) > maxCapLen {
				t.Fatalf("packet %d bytes, caplen %d", len(pkt), m.CapLen)
			}
			checkReaderBounds(t, s)
			d.Decode(pkt, m, &p)
		}
	})
}

// checkReaderBounds fails when a reader holds more than its limits allow.
func checkReaderBounds(t *testing.T, s *FileSource) {
	t.Helper()
	if n := s.dec.Size(); n != readBuffer {
		t.Fatalf("read buffer %d bytes, want %d", n, readBuffer)
	}
	if s.ng != nil {
		if cap(s.ng.buf) > maxCapLen || s.ng.secretsLen > maxSecretsLen || len(s.ng.ifaces) > maxInterfaces {
			t.Fatalf("pcapng reader holds buffer %d, secrets %d, interfaces %d", cap(s.ng.buf), s.ng.secretsLen, len(s.ng.ifaces))
		}
	}
}

// fuzzReadFile reads a whole capture, checking every packet and the
// reader's bounds.
func fuzzReadFile(t *testing.T, data []byte) {
	s, err := NewReaderSource("fuzz", bytes.NewReader(data))
	if err != nil {
		if err.Error() == "" {
			t.Fatal("empty error")
		}
		return
	}
	defer s.Close()
	for range 10000 {
		pkt, m, err := s.Next()
		checkReaderBounds(t, s)
		if err != nil {
			if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "fuzz: packet ") {
				t.Fatalf("error without file and packet: %v", err)
			}
			if _, _, again := s.Next(); again != err && again.Error() != err.Error() {
				t.Fatalf("error not sticky: %v then %v", err, again)
			}
			return
		}
		if len(pkt) != m.CapLen || len(pkt) > maxCapLen || m.WireLen < m.CapLen {
			t.Fatalf("packet %d bytes, meta %+v", len(pkt), m)
		}
	}
}

// FuzzPcapRecords fuzzes classic pcap records behind a valid file header;
// sel picks the byte order and resolution.
func FuzzPcapRecords(f *testing.F) {
	frames := sampleFrames()
	for sel := range 4 {
		whole := classicPcap(pcapOrder(uint8(sel)), sel&2 != 0, 1, frames, 1, 1)
		f.Add(uint8(sel), whole[24:])
	}
	for name, b := range hugeClaims() {
		if strings.HasPrefix(name, "pcap ") {
			f.Add(uint8(0), b[24:min(len(b), 24+4096)])
		}
	}
	f.Fuzz(func(t *testing.T, sel uint8, records []byte) {
		head := classicPcap(pcapOrder(sel), sel&2 != 0, 1, nil, 0, 0)
		fuzzReadFile(t, append(head, records...))
	})
}

func pcapOrder(sel uint8) binary.AppendByteOrder {
	if sel&1 != 0 {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// FuzzNgBlocks fuzzes pcapng blocks behind a valid section header and
// interface.
func FuzzNgBlocks(f *testing.F) {
	head := append(ngSHBBlock(), ngIDBBlock(1)...)
	frame := pcapgen.EthernetIP(tcpSyn(cli4, srv4))
	f.Add(ngEPBBlock(0, 1, frame))
	f.Add(append(ngDSBBlock(SecretsTLSKeyLog, []byte("CLIENT_RANDOM a b\n")), ngEPBBlock(0, 1, frame)...))
	f.Add(append(ngIDBBlock(276, ngOption(ngOptTSResol, []byte{0x80 | 20})), ngEPBBlock(1, 1<<40, frame)...))
	f.Add(ngBlock(ngSPB, append(binary.LittleEndian.AppendUint32(nil, 60), frame...)))
	f.Add(append(ngSHBBlock(), ngBlock(ngNRB, make([]byte, 16))...))
	for name, b := range hugeClaims() {
		if strings.HasPrefix(name, "pcapng ") {
			f.Add(b[len(head):min(len(b), len(head)+4096)])
		}
	}
	f.Fuzz(func(t *testing.T, blocks []byte) {
		fuzzReadFile(t, append(bytes.Clone(head), blocks...))
	})
}
