package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// pcapgoRead reads a capture the way capture/file.go did before it had its
// own readers: the oracle for the differential test.
func pcapgoRead(t *testing.T, b []byte) (metas []Meta, data [][]byte, err error) {
	t.Helper()
	var in io.Reader = bytes.NewReader(b)
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		if in, err = gzip.NewReader(in); err != nil {
			return nil, nil, err
		}
	}
	br := bufio.NewReader(in)
	head, _ := br.Peek(4)
	type rd interface {
		ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var r rd
	var ng *pcapgo.NgReader
	var link LinkType
	if bytes.Equal(head, magicPcapNG) {
		ng, err = pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		r = ng
	} else {
		var pr *pcapgo.Reader
		pr, err = pcapgo.NewReader(br)
		if err == nil {
			link = LinkType(pr.LinkType())
		}
		r = pr
	}
	if err != nil {
		return nil, nil, err
	}
	for {
		d, ci, err := r.ZeroCopyReadPacketData()
		if err != nil {
			if err == io.EOF && ci.CaptureLength == 0 {
				return metas, data, nil
			}
			return metas, data, err
		}
		m := Meta{TS: ci.Timestamp.UnixNano(), CapLen: ci.CaptureLength, WireLen: ci.Length, LinkType: link}
		if ng != nil {
			intf, ierr := ng.Interface(ci.InterfaceIndex)
			if ierr != nil {
				return metas, data, ierr
			}
			m.LinkType = LinkType(intf.LinkType)
		}
		if m.WireLen < m.CapLen {
			m.WireLen = m.CapLen
		}
		metas = append(metas, m)
		data = append(data, bytes.Clone(d))
	}
}

var noTime = time.Time{}.UnixNano()

// TestReadersMatchPcapgo reads every committed capture with the project's
// readers and with gopacket's pcapgo: same packets, same metadata, and both
// end cleanly or both fail. Set TAPDLP_PCAPS to a directory to compare
// another corpus too.
func TestReadersMatchPcapgo(t *testing.T) {
	dirs := []string{pcapDir}
	if d := os.Getenv("TAPDLP_PCAPS"); d != "" {
		dirs = append(dirs, d)
	}
	n := 0
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			name := e.Name()
			if !strings.HasSuffix(name, ".pcap") && !strings.HasSuffix(name, ".pcapng") && !strings.HasSuffix(name, ".gz") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			n++
			t.Run(name, func(t *testing.T) {
				wantM, wantD, wantErr := pcapgoRead(t, b)
				s, err := NewReaderSource(name, bytes.NewReader(b))
				if err != nil {
					if wantErr == nil || len(wantM) > 0 {
						t.Fatalf("open: %v; pcapgo read %d packets, err %v", err, len(wantM), wantErr)
					}
					return
				}
				defer s.Close()
				gotD, gotM, gotErr := readAll(t, s)
				if len(gotM) != len(wantM) {
					t.Fatalf("%d packets (err %v), pcapgo %d (err %v)", len(gotM), gotErr, len(wantM), wantErr)
				}
				if (gotErr == nil) != (wantErr == nil) {
					t.Errorf("end: %v, pcapgo: %v", gotErr, wantErr)
				}
				for i := range gotM {
					if wantM[i].TS == noTime {
						// A Simple Packet Block has no time: pcapgo gives
						// the zero time.Time, these readers the previous
						// packet's time.
						wantM[i].TS = gotM[i].TS
					}
					if gotM[i] != wantM[i] || !bytes.Equal(gotD[i], wantD[i]) {
						t.Fatalf("packet %d: %+v, pcapgo %+v (data equal %v)", i, gotM[i], wantM[i], bytes.Equal(gotD[i], wantD[i]))
					}
				}
			})
		}
	}
	if n < 20 {
		t.Fatalf("only %d captures compared", n)
	}
}

// ngBlock frames one pcapng block (little endian).
func ngBlock(typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	l := uint32(12 + len(body))
	b := binary.LittleEndian.AppendUint32(nil, typ)
	b = binary.LittleEndian.AppendUint32(b, l)
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, l)
}

func ngSHBBlock() []byte {
	body := binary.LittleEndian.AppendUint32(nil, ngByteOrder)
	body = binary.LittleEndian.AppendUint16(body, 1)
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint64(body, ^uint64(0))
	return ngBlock(ngSHB, body)
}

func ngIDBBlock(link uint16, opts ...[]byte) []byte {
	body := binary.LittleEndian.AppendUint16(nil, link)
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint32(body, 65535)
	for _, o := range opts {
		body = append(body, o...)
	}
	return ngBlock(ngIDB, body)
}

func ngOption(code uint16, v []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func ngEPBBlock(iface uint32, ts uint64, frame []byte) []byte {
	body := binary.LittleEndian.AppendUint32(nil, iface)
	body = binary.LittleEndian.AppendUint32(body, uint32(ts>>32))
	body = binary.LittleEndian.AppendUint32(body, uint32(ts))
	body = binary.LittleEndian.AppendUint32(body, uint32(len(frame)))
	body = binary.LittleEndian.AppendUint32(body, uint32(len(frame)))
	body = append(body, frame...)
	return ngBlock(ngEPB, body)
}

func ngDSBBlock(typ uint32, secret []byte) []byte {
	body := binary.LittleEndian.AppendUint32(nil, typ)
	body = binary.LittleEndian.AppendUint32(body, uint32(len(secret)))
	body = append(body, secret...)
	return ngBlock(ngDSB, body)
}

// hugeClaims are files whose records or blocks claim lengths far beyond
// every limit, each followed by enough bytes that a reader growing its
// buffer with the arriving bytes would be fed: the 150 KB attack.
func hugeClaims() map[string][]byte {
	frame := pcapgen.EthernetIP(tcpSyn(cli4, srv4))
	filler := make([]byte, 150<<10)
	out := map[string][]byte{}
	for _, be := range []bool{false, true} {
		for _, nanos := range []bool{false, true} {
			var order binary.AppendByteOrder = binary.LittleEndian
			if be {
				order = binary.BigEndian
			}
			pc := classicPcap(order, nanos, 1, [][]byte{frame}, 1, 1)
			pc = order.AppendUint32(pc, 2)
			pc = order.AppendUint32(pc, 2)
			pc = order.AppendUint32(pc, 0xffffffff)
			pc = order.AppendUint32(pc, 0xffffffff)
			out[fmt.Sprintf("pcap be=%v ns=%v caplen 4G", be, nanos)] = append(pc, filler...)
		}
	}
	pcBig := classicPcap(binary.LittleEndian, false, 1, [][]byte{frame}, 0, 0)
	binary.LittleEndian.PutUint32(pcBig[16:20], 0x7fffffff) // snaplen claims 2 GiB too
	pcBig = binary.LittleEndian.AppendUint32(pcBig, 1)
	pcBig = binary.LittleEndian.AppendUint32(pcBig, 1)
	pcBig = binary.LittleEndian.AppendUint32(pcBig, 1<<30)
	pcBig = binary.LittleEndian.AppendUint32(pcBig, 1<<30)
	out["pcap snaplen 2G caplen 1G"] = append(pcBig, filler...)

	head := append(ngSHBBlock(), ngIDBBlock(1)...)
	head = append(head, ngEPBBlock(0, 1e6, frame)...)
	claim := func(typ uint32, blockLen uint32, fields ...uint32) []byte {
		b := bytes.Clone(head)
		b = binary.LittleEndian.AppendUint32(b, typ)
		b = binary.LittleEndian.AppendUint32(b, blockLen)
		for _, f := range fields {
			b = binary.LittleEndian.AppendUint32(b, f)
		}
		return append(b, filler...)
	}
	out["pcapng epb caplen 4G"] = claim(ngEPB, 0xfffffffc, 0, 0, 0, 0xffffffff, 0xffffffff)
	out["pcapng epb block 4G"] = claim(ngEPB, 0xfffffffc, 0, 0, 0, 64, 64)
	out["pcapng epb caplen beyond block"] = claim(ngEPB, 64, 0, 0, 0, 200000, 200000)
	out["pcapng pb caplen 4G"] = claim(ngPB, 0xfffffffc, 0, 0, 0, 0xffffffff, 0xffffffff)
	out["pcapng spb 4G"] = claim(ngSPB, 0xfffffffc, 0xffffffff)
	out["pcapng idb 4G"] = claim(ngIDB, 0xfffffffc, 1, 0xffffffff)
	out["pcapng dsb 4G"] = claim(ngDSB, 0xfffffffc, SecretsTLSKeyLog, 0xffffffff)
	out["pcapng dsb secret 4G"] = claim(ngDSB, 1<<20, SecretsTLSKeyLog, 0xfffffff0)
	out["pcapng nrb 4G"] = claim(ngNRB, 0xfffffffc, 1, 0xffffffff)
	out["pcapng isb 4G"] = claim(ngISB, 0xfffffffc, 0, 0)
	out["pcapng custom 4G"] = claim(ngCustom, 0xfffffffc, 0xffffffff)
	out["pcapng unknown 4G"] = claim(0x0badf00d, 0xfffffffc, 0xffffffff)
	shb := bytes.Clone(head)
	shb = append(shb, ngSHBBlock()...)
	binary.LittleEndian.PutUint32(shb[len(shb)-ngSHBLen+4:], 0xfffffffc)
	out["pcapng shb 4G"] = append(shb, filler...)
	idbOpt := bytes.Clone(head)
	idbOpt = append(idbOpt, ngIDBBlock(1, ngOption(2, make([]byte, 0xfff0)))...) // a 64 KiB option
	out["pcapng idb long option"] = append(idbOpt, filler...)
	return out
}

const ngSHBLen = 28

// TestHugeClaims: every format and block type that carries a length, with
// a claim far beyond the limits, plain and gzip'd: a clean error or a
// counted skip, and memory of the order of the file, never of the claim.
func TestHugeClaims(t *testing.T) {
	for name, b := range hugeClaims() {
		for _, compressed := range []bool{false, true} {
			in := b
			if compressed {
				in = gz(t, b)
			}
			t.Run(fmt.Sprintf("%s gz=%v", name, compressed), func(t *testing.T) {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				s, err := NewReaderSource(name, bytes.NewReader(in))
				if err != nil {
					t.Fatal(err)
				}
				got, _, err := readAll(t, s)
				runtime.ReadMemStats(&after)
				if len(got) != 1 {
					t.Errorf("%d packets before the bad block, want 1", len(got))
				}
				st := s.Stats()
				switch {
				case err != nil:
					if !strings.Contains(err.Error(), "packet 1") {
						t.Errorf("error does not name the packet: %v", err)
					}
					if errors.Is(err, ErrTooLong) && st.TooLong == 0 {
						t.Errorf("ErrTooLong not counted: %+v", st)
					}
				case st.TooLong+st.SecretsDropped+st.SkippedBlocks == 0:
					t.Errorf("bad block neither refused nor counted: %+v", st)
				}
				// Reader buffers (bufio, gzip) plus at most one packet: well
				// under a megabyte, whatever the claim.
				if grown := after.TotalAlloc - before.TotalAlloc; grown > 2<<20 {
					t.Errorf("allocated %d bytes for a %d-byte file", grown, len(in))
				}
			})
		}
	}
}

// TestNgBlocks covers the block types and options the reader interprets.
func TestNgBlocks(t *testing.T) {
	frame := pcapgen.EthernetIP(tcpSyn(cli4, srv4))
	keylog := []byte("CLIENT_RANDOM 00 11\n")
	tsresol := func(v byte) []byte { return ngOption(ngOptTSResol, []byte{v}) }
	tsoff := ngOption(ngOptTSOffset, binary.LittleEndian.AppendUint64(nil, 100))
	spb := ngBlock(ngSPB, append(binary.LittleEndian.AppendUint32(nil, uint32(len(frame))), frame...))
	tests := []struct {
		name    string
		blocks  [][]byte
		ts      []int64
		links   []LinkType
		caplens []int
		stats   FileStats
		secrets int
		err     string
	}{
		{"micro default", [][]byte{ngIDBBlock(1), ngEPBBlock(0, 1_500_000, frame)}, []int64{1_500_000_000}, []LinkType{1}, nil, FileStats{}, 0, ""},
		{"nano", [][]byte{ngIDBBlock(1, tsresol(9)), ngEPBBlock(0, 1_500_000_001, frame)}, []int64{1_500_000_001}, nil, nil, FileStats{}, 0, ""},
		{"binary 2^-10", [][]byte{ngIDBBlock(1, tsresol(0x80|10)), ngEPBBlock(0, 3*1024+512, frame)}, []int64{3_500_000_000}, nil, nil, FileStats{}, 0, ""},
		{"decimal 10^-12", [][]byte{ngIDBBlock(1, tsresol(12)), ngEPBBlock(0, 2_000_000_000_123, frame)}, []int64{2_000_000_000}, nil, nil, FileStats{}, 0, ""},
		{"tsoffset", [][]byte{ngIDBBlock(1, tsoff), ngEPBBlock(0, 1, frame)}, []int64{100_000_001_000}, nil, nil, FileStats{}, 0, ""},
		{"mixed link types", [][]byte{ngIDBBlock(1), ngIDBBlock(276), ngEPBBlock(1, 0, frame), ngEPBBlock(0, 0, frame)}, nil, []LinkType{276, 1}, nil, FileStats{}, 0, ""},
		{"spb takes the last time", [][]byte{ngIDBBlock(1), ngEPBBlock(0, 7_000_000, frame), spb}, []int64{7e9, 7e9}, nil, []int{len(frame), len(frame)}, FileStats{}, 0, ""},
		{"skipped blocks", [][]byte{ngBlock(ngCustom, []byte("abcd")), ngIDBBlock(1), ngBlock(ngNRB, make([]byte, 8)), ngBlock(ngISB, make([]byte, 12)), ngBlock(0x99, nil), ngEPBBlock(0, 0, frame)}, nil, nil, nil, FileStats{SkippedBlocks: 2}, 0, ""},
		{"dsb", [][]byte{ngDSBBlock(SecretsTLSKeyLog, keylog), ngIDBBlock(1), ngEPBBlock(0, 0, frame)}, nil, nil, nil, FileStats{Secrets: 1}, 1, ""},
		{"dsb secret beyond block", [][]byte{ngBlock(ngDSB, binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, SecretsTLSKeyLog), 100)), ngIDBBlock(1), ngEPBBlock(0, 0, frame)}, nil, nil, nil, FileStats{SecretsDropped: 1}, 0, ""},
		{"second section resets interfaces", [][]byte{ngIDBBlock(1), ngEPBBlock(0, 0, frame), ngSHBBlock(), ngEPBBlock(0, 0, frame)}, nil, nil, nil, FileStats{}, 0, "interface 0 not in section"},
		{"packet before interface", [][]byte{ngEPBBlock(0, 0, frame)}, nil, nil, nil, FileStats{}, 0, "interface 0"},
		{"length not a multiple of 4", [][]byte{ngIDBBlock(1), {6, 0, 0, 0, 33, 0, 0, 0}}, nil, nil, nil, FileStats{}, 0, "bad length 33"},
		{"trailer mismatch", [][]byte{ngIDBBlock(1), append(ngEPBBlock(0, 0, frame)[:len(ngEPBBlock(0, 0, frame))-4], 1, 0, 0, 0)}, nil, nil, nil, FileStats{}, 0, "trailing length"},
		{"resolution too fine", [][]byte{ngIDBBlock(1, tsresol(20))}, nil, nil, nil, FileStats{}, 0, "too high"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := ngSHBBlock()
			for _, bl := range tc.blocks {
				b = append(b, bl...)
			}
			s, err := NewReaderSource("t.pcapng", bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			var seen []Secret
			s.OnSecret(func(sec Secret) { seen = append(seen, sec) })
			_, metas, err := readAll(t, s)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			for i, ts := range tc.ts {
				if metas[i].TS != ts {
					t.Errorf("packet %d time %d, want %d", i, metas[i].TS, ts)
				}
			}
			for i, l := range tc.links {
				if metas[i].LinkType != l {
					t.Errorf("packet %d link %d, want %d", i, metas[i].LinkType, l)
				}
			}
			for i, c := range tc.caplens {
				if metas[i].CapLen != c {
					t.Errorf("packet %d caplen %d, want %d", i, metas[i].CapLen, c)
				}
			}
			if s.Stats() != tc.stats {
				t.Errorf("stats %+v, want %+v", s.Stats(), tc.stats)
			}
			if len(s.Secrets()) != tc.secrets || len(seen) != tc.secrets {
				t.Fatalf("%d secrets kept, %d delivered, want %d", len(s.Secrets()), len(seen), tc.secrets)
			}
			if tc.secrets > 0 && (s.Secrets()[0].Type != SecretsTLSKeyLog || !bytes.Equal(seen[0].Data, keylog)) {
				t.Errorf("secret %+v", seen[0])
			}
		})
	}
}

// TestSecretsBound: DSBs beyond the file's secrets budget are counted, not
// kept.
func TestSecretsBound(t *testing.T) {
	big := bytes.Repeat([]byte("k"), maxSecretsLen/2+1)
	b := ngSHBBlock()
	for range 3 {
		b = append(b, ngDSBBlock(SecretsTLSKeyLog, big)...)
	}
	s, err := NewReaderSource("s.pcapng", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := readAll(t, s); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Secrets != 1 || st.SecretsDropped != 2 || len(s.Secrets()) != 1 {
		t.Errorf("stats %+v, %d kept; want 1 kept, 2 dropped", st, len(s.Secrets()))
	}
}

// TestEditcapSecrets reads a pcapng whose TLS key log was injected by
// Wireshark's editcap (testdata/README.md); -update-dsb regenerates it
// (dsb_fixture_test.go).
func TestEditcapSecrets(t *testing.T) {
	if *updateDSB {
		writeDSBFixture(t)
	}
	s, err := OpenFile(filepath.Join("testdata", "editcap_dsb.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var seen []Secret
	s.OnSecret(func(sec Secret) { seen = append(seen, sec) })
	_, metas, err := readAll(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) == 0 {
		t.Fatal("no packets")
	}
	want, err := os.ReadFile(filepath.Join("testdata", "editcap_dsb.keylog"))
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].Type != SecretsTLSKeyLog || !bytes.Equal(seen[0].Data, want) {
		t.Fatalf("secrets %d; want the key log (%d bytes) once", len(seen), len(want))
	}
	if st := s.Stats(); st.Secrets != 1 {
		t.Errorf("stats %+v", st)
	}
}

// BenchmarkReaders compares the readers with pcapgo on the same bytes.
func BenchmarkReaders(b *testing.B) {
	frames := make([][]byte, 0, 2000)
	for range 1000 {
		frames = append(frames, sampleFrames()...)
	}
	for _, ng := range []bool{false, true} {
		var buf bytes.Buffer
		var w *pcapgen.Writer
		if ng {
			w, _ = pcapgen.NewNgWriter(&buf, pcapgen.LinkEthernet)
		} else {
			w, _ = pcapgen.NewWriter(&buf, pcapgen.LinkEthernet)
		}
		for _, f := range frames {
			w.WriteFrame(f)
		}
		w.Flush()
		data := buf.Bytes()
		format := "pcap"
		if ng {
			format = "pcapng"
		}
		b.Run(format+"/tapdlp", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				s, _ := NewReaderSource("b", bytes.NewReader(data))
				for {
					if _, _, err := s.Next(); err != nil {
						break
					}
				}
			}
		})
		b.Run(format+"/pcapgo", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				br := bufio.NewReaderSize(bytes.NewReader(data), 64<<10)
				var r interface {
					ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
				}
				if ng {
					r, _ = pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
				} else {
					r, _ = pcapgo.NewReader(br)
				}
				for {
					if _, _, err := r.ZeroCopyReadPacketData(); err != nil {
						break
					}
				}
			}
		})
	}
}
