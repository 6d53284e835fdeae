package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// classicPcap writes a pcap by hand so every magic (byte order and
// resolution) can be produced.
func classicPcap(order binary.AppendByteOrder, nanos bool, link uint32, frames [][]byte, sec, frac uint32) []byte {
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	var b []byte
	b = order.AppendUint32(b, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = order.AppendUint32(b, 65535)
	b = order.AppendUint32(b, link)
	for _, f := range frames {
		b = order.AppendUint32(b, sec)
		b = order.AppendUint32(b, frac)
		b = order.AppendUint32(b, uint32(len(f)))
		b = order.AppendUint32(b, uint32(len(f)+10))
		b = append(b, f...)
	}
	return b
}

func sampleFrames() [][]byte {
	return [][]byte{
		pcapgen.EthernetIP(tcpSyn(cli4, srv4)),
		pcapgen.EthernetIP(pcapgen.IPUDP(cli6, srv6, []byte("x"))),
	}
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAll(t *testing.T, s *FileSource) ([][]byte, []Meta, error) {
	t.Helper()
	var data [][]byte
	var metas []Meta
	for {
		d, m, err := s.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return data, metas, nil
			}
			return data, metas, err
		}
		data = append(data, bytes.Clone(d))
		metas = append(metas, m)
	}
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

func zst(t *testing.T, b []byte) []byte {
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

func TestFileSourceFormats(t *testing.T) {
	frames := sampleFrames()
	le := classicPcap(binary.LittleEndian, false, 1, frames, 1700000000, 123456)
	var ng bytes.Buffer
	w, err := pcapgen.NewNgWriter(&ng, pcapgen.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	usTS := int64(1700000000)*1e9 + 123456*1000
	nsTS := int64(1700000000)*1e9 + 123456
	ngTS := pcapgen.StartTime.UnixNano()
	tests := []struct {
		name string
		data []byte
		ts   int64
	}{
		{"pcap le us", le, usTS},
		{"pcap le ns", classicPcap(binary.LittleEndian, true, 1, frames, 1700000000, 123456), nsTS},
		{"pcap be us", classicPcap(binary.BigEndian, false, 1, frames, 1700000000, 123456), usTS},
		{"pcap be ns", classicPcap(binary.BigEndian, true, 1, frames, 1700000000, 123456), nsTS},
		{"pcapng", ng.Bytes(), ngTS},
		{"gzip pcap", gz(t, le), usTS},
		{"zstd pcap", zst(t, le), usTS},
		{"zstd pcapng", zst(t, ng.Bytes()), ngTS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, "x.cap", tc.data)
			s, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Size() != int64(len(tc.data)) {
				t.Errorf("size %d, want %d", s.Size(), len(tc.data))
			}
			data, metas, err := readAll(t, s)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) != len(frames) {
				t.Fatalf("%d packets, want %d", len(data), len(frames))
			}
			for i := range frames {
				if !bytes.Equal(data[i], frames[i]) {
					t.Errorf("packet %d differs", i)
				}
				if metas[i].LinkType != LinkEthernet || metas[i].CapLen != len(frames[i]) || metas[i].WireLen < len(frames[i]) {
					t.Errorf("packet %d meta %+v", i, metas[i])
				}
			}
			if metas[0].TS != tc.ts {
				t.Errorf("timestamp %d, want %d", metas[0].TS, tc.ts)
			}
			if s.BytesRead() != int64(len(tc.data)) {
				t.Errorf("bytes read %d, want %d", s.BytesRead(), len(tc.data))
			}
			if _, _, err := s.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("after end: %v, want io.EOF", err)
			}
		})
	}
}

func TestFileSourceRealCaptures(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		ts0   int64
		links []LinkType
	}{
		{"tcpdump_tcp-handshake-nano.pcap", 3, 1418145369924505488, []LinkType{LinkSLL}},
		{"arkime_bigendian.pcap", 2, 1335958313152630000, []LinkType{LinkEthernet}},
		{"gopacket_pcapgo_be_test001.pcapng", 4, 0, []LinkType{LinkEthernet}},
		{"gopacket_pcapgo_le_test202.pcapng", 8, 1340954905298858000, []LinkType{LinkEthernet, LinkEthernet, LinkNull, LinkEthernet}},
		{"ndpi_dns.pcap", 5, 0, []LinkType{LinkEthernet}}, // pcapng under a .pcap name
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenFile(filepath.Join(pcapDir, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, metas, err := readAll(t, s)
			if err != nil {
				t.Fatal(err)
			}
			if len(metas) != tc.n || s.Packets() != tc.n {
				t.Fatalf("%d packets, want %d", len(metas), tc.n)
			}
			if tc.ts0 != 0 && metas[0].TS != tc.ts0 {
				t.Errorf("first timestamp %d, want %d", metas[0].TS, tc.ts0)
			}
			for i, l := range tc.links {
				if metas[i].LinkType != l {
					t.Errorf("packet %d link type %d, want %d", i, metas[i].LinkType, l)
				}
			}
		})
	}
}

// TestFileSourceTruncated cuts a capture at every length: each cut either
// ends cleanly on a record boundary or fails with an error naming the file
// and the packet, never a panic.
func TestFileSourceTruncated(t *testing.T) {
	frames := sampleFrames()
	full := classicPcap(binary.LittleEndian, false, 1, frames, 1, 1)
	var ng bytes.Buffer
	w, _ := pcapgen.NewNgWriter(&ng, pcapgen.LinkEthernet)
	for _, f := range frames {
		w.WriteFrame(f)
	}
	w.Flush()
	for _, tc := range []struct {
		name string
		data []byte
	}{{"pcap", full}, {"pcapng", ng.Bytes()}, {"gzip", gz(t, full)}, {"zstd", zst(t, full)}} {
		t.Run(tc.name, func(t *testing.T) {
			for n := 0; n < len(tc.data); n++ {
				s, err := NewReaderSource("cut.pcap", bytes.NewReader(tc.data[:n]))
				if err != nil {
					if !strings.Contains(err.Error(), "cut.pcap") {
						t.Fatalf("cut %d: open error without file name: %v", n, err)
					}
					continue
				}
				got, _, err := readAll(t, s)
				s.Close()
				if err == nil {
					// Only a cut at a record boundary may end cleanly.
					if tc.name == "pcap" && n != 24 && n != 24+16+len(frames[0]) {
						t.Errorf("cut %d: no error after %d packets", n, len(got))
					}
					continue
				}
				if msg := err.Error(); !strings.Contains(msg, "cut.pcap") || !strings.Contains(msg, "packet ") {
					t.Errorf("cut %d: error lacks file or packet index: %v", n, err)
				}
			}
		})
	}
}

func TestFileSourceGarbage(t *testing.T) {
	frames := sampleFrames()
	tail := bytes.Repeat([]byte{0xff}, 40)
	data := append(classicPcap(binary.LittleEndian, false, 1, frames, 1, 1), tail...)
	s, err := NewReaderSource("junk.pcap", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := readAll(t, s)
	if len(got) != 2 || err == nil || !strings.Contains(err.Error(), "junk.pcap: packet 2") {
		t.Errorf("got %d packets, err %v; want 2 and an error at packet 2", len(got), err)
	}
	if _, _, again := s.Next(); again == nil || again.Error() != err.Error() {
		t.Errorf("error not sticky: %v", again)
	}

	if _, err := NewReaderSource("text.txt", strings.NewReader("hello, world")); !errors.Is(err, ErrFormat) {
		t.Errorf("text input: %v, want ErrFormat", err)
	}
	if _, err := OpenFile(filepath.Join(t.TempDir(), "missing.pcap")); err == nil || !strings.Contains(err.Error(), "missing.pcap") {
		t.Errorf("missing file: %v", err)
	}
}

// TestFileSourceHugeRecord: a record claiming 2 GiB must fail without
// allocating anywhere near that.
func TestFileSourceHugeRecord(t *testing.T) {
	pc := classicPcap(binary.LittleEndian, false, 1, nil, 0, 0)
	binary.LittleEndian.PutUint32(pc[16:20], 0x7fffffff) // snaplen
	pc = binary.LittleEndian.AppendUint32(pc, 1)
	pc = binary.LittleEndian.AppendUint32(pc, 1)
	pc = binary.LittleEndian.AppendUint32(pc, 0x7fffff00)
	pc = binary.LittleEndian.AppendUint32(pc, 0x7fffff00)
	pc = append(pc, make([]byte, 100)...)

	// pcapng: section header, interface, then an enhanced packet block
	// whose block and capture lengths are huge.
	var ng bytes.Buffer
	w, _ := pcapgen.NewNgWriter(&ng, pcapgen.LinkEthernet)
	w.WriteFrame(make([]byte, 60))
	w.Flush()
	b := ng.Bytes()
	epb := bytes.LastIndex(b, []byte{6, 0, 0, 0})
	binary.LittleEndian.PutUint32(b[epb+4:], 0x7ffffff0)
	binary.LittleEndian.PutUint32(b[epb+20:], 0x7fffff00)
	for _, tc := range []struct {
		name string
		data []byte
	}{{"pcap", pc}, {"pcapng", b}} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, err := NewReaderSource(tc.name, bytes.NewReader(tc.data))
		if err == nil {
			_, _, err = readAll(t, s)
		}
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: huge record accepted", tc.name)
		}
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 16<<20 {
			t.Errorf("%s: allocated %d bytes for a corrupt record", tc.name, grown)
		}
	}
}

func TestFileSourceStdin(t *testing.T) {
	path := writeTemp(t, "in.pcap", classicPcap(binary.LittleEndian, false, 1, sampleFrames(), 1, 1))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	s, err := OpenFile("-")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, _, err := readAll(t, s)
	if err != nil || len(got) != 2 || s.Size() != -1 || s.Name() != "stdin" {
		t.Errorf("stdin: %d packets, err %v, size %d, name %q", len(got), err, s.Size(), s.Name())
	}
}

// TestFileSourceNextAllocs: reading packets reuses the reader's buffer.
func TestFileSourceNextAllocs(t *testing.T) {
	frames := make([][]byte, 0, 2000)
	for range 1000 {
		frames = append(frames, sampleFrames()...)
	}
	for _, tc := range []struct {
		name string
		ng   bool
		link pcapgen.Link
	}{{"pcap", false, pcapgen.LinkEthernet}, {"pcapng", true, pcapgen.LinkEthernet}, {"pcapng sll2", true, pcapgen.LinkSLL2}} {
		var buf bytes.Buffer
		var w *pcapgen.Writer
		if tc.ng {
			w, _ = pcapgen.NewNgWriter(&buf, tc.link)
		} else {
			w, _ = pcapgen.NewWriter(&buf, tc.link)
		}
		for _, f := range frames {
			w.WriteFrame(f)
		}
		w.Flush()
		s, err := NewReaderSource(tc.name, bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		s.Next() // warm up the buffer
		// Every format and link type (SLL2 is above 255, which pcapgo
		// boxed with an allocation per packet) reads without allocating.
		const want = 0.0
		if a := testing.AllocsPerRun(500, func() {
			if _, _, err := s.Next(); err != nil {
				t.Fatal(err)
			}
		}); a != want {
			t.Errorf("%s: %v allocations per Next, want %v", tc.name, a, want)
		}
	}
}

// TestFileSourceLongestRecord: packets are handed out in place in the read
// buffer, which must hold the longest record a file may carry (maxCapLen)
// in every format and compression, while one byte more is refused.
func TestFileSourceLongestRecord(t *testing.T) {
	frame := func(n int, seed byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = seed + byte(i*7)
		}
		return b
	}
	frames := [][]byte{frame(60, 1), frame(maxCapLen, 2), frame(61, 3), frame(maxCapLen-1, 4), frame(maxCapLen, 5), frame(1, 6)}
	pc := classicPcap(binary.BigEndian, true, 1, frames, 1, 2)
	binary.BigEndian.PutUint32(pc[16:20], maxCapLen) // snaplen
	ng := append(ngSHBBlock(), ngIDBBlock(1)...)
	for i, f := range frames {
		ng = append(ng, ngEPBBlock(0, uint64(i), f)...)
	}
	// Options too long to sit in the read buffer next to their packet
	// (the packet is then copied out before they are skipped), and a
	// simple packet block.
	ngFrames := append(frames[:len(frames):len(frames)], frame(5000, 8), frame(60000, 9), frame(maxCapLen, 10))
	for _, f := range ngFrames[len(frames):] {
		switch len(f) {
		case 60000:
			ng = append(ng, ngBlock(ngSPB, append(binary.LittleEndian.AppendUint32(nil, uint32(len(f))), f...))...)
		default:
			epb := ngEPBBlock(0, 9, f)
			body := append(epb[8:len(epb)-4:len(epb)-4], frame(300<<10, 11)...)
			ng = append(ng, ngBlock(ngEPB, body)...)
		}
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		frames [][]byte
	}{
		{"pcap", pc, frames}, {"pcap.gz", gz(t, pc), frames}, {"pcap.zst", zst(t, pc), frames},
		{"pcapng", ng, ngFrames}, {"pcapng.gz", gz(t, ng), ngFrames},
	} {
		s, err := NewReaderSource(tc.name, bytes.NewReader(tc.data))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for i, want := range tc.frames {
			got, m, err := s.Next()
			if err != nil {
				t.Fatalf("%s: packet %d: %v", tc.name, i, err)
			}
			if m.CapLen != len(want) || !bytes.Equal(got, want) {
				t.Fatalf("%s: packet %d: %d bytes (caplen %d), want %d", tc.name, i, len(got), m.CapLen, len(want))
			}
			if cap(got) != len(got) {
				t.Errorf("%s: packet %d: capacity %d beyond its %d bytes", tc.name, i, cap(got), len(got))
			}
		}
		if _, _, err := s.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("%s: after the last packet: %v", tc.name, err)
		}
		s.Close()
	}
	over := classicPcap(binary.LittleEndian, false, 1, [][]byte{frame(maxCapLen+1, 7)}, 1, 2)
	s, err := NewReaderSource("over", bytes.NewReader(over))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Next(); !errors.Is(err, ErrTooLong) {
		t.Errorf("a record of maxCapLen+1 bytes: %v, want ErrTooLong", err)
	}
}

// A record cut short by the end of the file is an unexpected EOF, however
// little of it is there.
func TestFileSourceShortRecord(t *testing.T) {
	pc := classicPcap(binary.LittleEndian, false, 1, [][]byte{make([]byte, 1000)}, 1, 2)
	for _, cut := range []int{1, 500, 999} {
		s, err := NewReaderSource("short", bytes.NewReader(pc[:len(pc)-cut]))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut %d: %v, want unexpected EOF", cut, err)
		}
	}
}
