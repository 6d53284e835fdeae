package pcapgen

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/testenv"
)

var (
	c4 = netip.MustParseAddrPort("10.0.0.1:40000")
	s4 = netip.MustParseAddrPort("192.0.2.10:80")
	c6 = netip.MustParseAddrPort("[2001:db8::1]:40001")
	s6 = netip.MustParseAddrPort("[2001:db8::2]:443")
)

// sampleFrames returns Ethernet frames exercising every builder.
func sampleFrames() [][]byte {
	var frames [][]byte
	add := func(ips ...[]byte) {
		for _, ip := range ips {
			frames = append(frames, EthernetIP(ip))
		}
	}
	conn := NewTCPConn(c4, s4, 1000, 5000)
	conn.MSS = 100
	segs := conn.Handshake()
	segs = append(segs, conn.Send(true, bytes.Repeat([]byte("a"), 250))...)
	segs = append(segs, conn.Send(false, []byte("HTTP/1.1 200 OK\r\n\r\n"))...)
	segs = append(segs, conn.At(true, 0, bytes.Repeat([]byte("a"), 100))) // retransmission
	segs = append(segs, conn.Close(true)...)
	add(conn.Packets(segs)...)

	conn6 := NewTCPConn(c6, s6, 1, 2)
	add(conn6.Packets(append(conn6.Handshake(), conn6.Reset(true)))...)

	add(IPUDP(c4, s4, []byte("hello")), IPUDP(c6, s6, []byte("hello6")))
	add(IP(c4.Addr(), s4.Addr(), ProtoICMP, ICMPv4(8, 0, 0x00010001, []byte("ping"))))
	add(IP(c6.Addr(), s6.Addr(), ProtoICMPv6, ICMPv6(c6.Addr(), s6.Addr(), 128, 0, 0x00010001, []byte("ping6"))))

	big := UDP(c4, s4, bytes.Repeat([]byte{0x42}, 3000))
	add(IPv4Fragments(IPv4Header{Src: c4.Addr(), Dst: s4.Addr(), Proto: ProtoUDP, ID: 7}, big, 1400)...)
	big6 := UDP(c6, s6, bytes.Repeat([]byte{0x43}, 3000))
	add(IPv6Fragments(IPv6Header{Src: c6.Addr(), Dst: s6.Addr(), NextHeader: ProtoUDP}, 9, big6, 1400)...)

	frames = append(frames, EthernetIP(IPUDP(c4, s4, []byte("vlan")), 100))
	frames = append(frames, EthernetIP(IPUDP(c4, s4, []byte("qinq")), 200, 300))

	inner := EthernetIP(IPTCP(c4, s4, 1, 0, SYN, nil))
	outerA, outerB := netip.MustParseAddrPort("172.16.0.1:5555"), netip.MustParseAddrPort("172.16.0.2:4789")
	add(IPUDP(outerA, outerB, VXLAN(42, inner)))
	add(IPUDP(outerA, netip.AddrPortFrom(outerB.Addr(), 6081), GENEVE(43, EtherTEB, []byte{0, 0x80, 1, 1, 0, 0, 0, 0}, inner)))
	add(IP(outerA.Addr(), outerB.Addr(), ProtoGRE, GRE(EtherIPv4, 44, true, IPTCP(c4, s4, 1, 0, SYN, nil))))
	frames = append(frames, Ethernet(ClientMAC, ServerMAC, EtherMPLS, MPLS([]uint32{100, 200}, IPTCP(c4, s4, 1, 0, SYN, nil))))
	frames = append(frames, Ethernet(ClientMAC, ServerMAC, EtherPPPoES, PPPoE(7, IPTCP(c4, s4, 1, 0, SYN, nil))))
	return frames
}

func TestChecksumsVerify(t *testing.T) {
	// A checksum over data that includes its own checksum field is 0.
	ip := IPv4Header{Src: c4.Addr(), Dst: s4.Addr(), Proto: ProtoTCP, Options: []byte{1, 1, 1}}.Marshal(nil)
	if got := Checksum(ip[:24], 0); got != 0 {
		t.Errorf("IPv4 header checksum does not verify: %#x", got)
	}
	for _, tc := range []struct {
		name     string
		src, dst netip.AddrPort
	}{{"v4", c4, s4}, {"v6", c6, s6}} {
		seg := TCP(tc.src, tc.dst, 1, 2, ACK, 100, []byte("odd"))
		if got := Checksum(seg, pseudoHeaderSum(tc.src.Addr(), tc.dst.Addr(), ProtoTCP, len(seg))); got != 0 {
			t.Errorf("%s TCP checksum does not verify: %#x", tc.name, got)
		}
		u := UDP(tc.src, tc.dst, []byte("x"))
		if got := Checksum(u, pseudoHeaderSum(tc.src.Addr(), tc.dst.Addr(), ProtoUDP, len(u))); got != 0 {
			t.Errorf("%s UDP checksum does not verify: %#x", tc.name, got)
		}
	}
}

func TestTCPConnSequence(t *testing.T) {
	c := NewTCPConn(c4, s4, 100, 900)
	c.MSS = 4
	hs := c.Handshake()
	data := c.Send(true, []byte("abcdefghij"))
	c.Skip(false, 3)
	resp := c.Send(false, []byte("xy"))
	fin := c.Close(false)
	tests := []struct {
		name  string
		seg   Segment
		seq   uint32
		ack   uint32
		flags uint8
		data  string
	}{
		{"syn", hs[0], 100, 0, SYN, ""},
		{"synack", hs[1], 900, 101, SYN | ACK, ""},
		{"ack", hs[2], 101, 901, ACK, ""},
		{"data0", data[0], 101, 901, PSH | ACK, "abcd"},
		{"data2", data[2], 109, 901, PSH | ACK, "ij"},
		{"resp after gap", resp[0], 904, 111, PSH | ACK, "xy"},
		{"fin", fin[0], 906, 111, FIN | ACK, ""},
		{"peer fin", fin[1], 111, 907, FIN | ACK, ""},
		{"last ack", fin[2], 907, 112, ACK, ""},
		{"retransmit", c.At(true, 4, []byte("efgh")), 105, 907, PSH | ACK, "efgh"},
	}
	for _, tc := range tests {
		s := tc.seg
		if s.Seq != tc.seq || s.Ack != tc.ack || s.Flags != tc.flags || string(s.Payload) != tc.data {
			t.Errorf("%s: got seq=%d ack=%d flags=%#x data=%q, want seq=%d ack=%d flags=%#x data=%q",
				tc.name, s.Seq, s.Ack, s.Flags, s.Payload, tc.seq, tc.ack, tc.flags, tc.data)
		}
	}
	if len(data) != 3 {
		t.Errorf("MSS 4 split 10 bytes into %d segments, want 3", len(data))
	}
}

func TestFragmentsCoverPayload(t *testing.T) {
	payload := make([]byte, 1000)
	for i := range payload {
		payload[i] = byte(i)
	}
	frags := IPv4Fragments(IPv4Header{Src: c4.Addr(), Dst: s4.Addr(), Proto: ProtoUDP, ID: 1}, payload, 300)
	var got []byte
	for i, f := range frags {
		fo := binary.BigEndian.Uint16(f[6:8])
		if int(fo&0x1fff)*8 != len(got) {
			t.Fatalf("fragment %d at offset %d, want %d", i, int(fo&0x1fff)*8, len(got))
		}
		if more := fo&0x2000 != 0; more != (i < len(frags)-1) {
			t.Errorf("fragment %d: MF=%v", i, more)
		}
		got = append(got, f[20:]...)
	}
	if !bytes.Equal(got, payload) {
		t.Error("IPv4 fragments do not rebuild the payload")
	}
	frags6 := IPv6Fragments(IPv6Header{Src: c6.Addr(), Dst: s6.Addr(), NextHeader: ProtoUDP}, 5, payload, 300)
	got = got[:0]
	for _, f := range frags6 {
		got = append(got, f[48:]...)
	}
	if !bytes.Equal(got, payload) || len(frags6) != 4 {
		t.Errorf("IPv6 fragments do not rebuild the payload (%d fragments)", len(frags6))
	}
}

// TestTsharkDecodesCleanly writes every builder's output to pcap and pcapng
// and asks tshark for malformed packets and bad checksums. Skipped without
// tshark.
func TestTsharkDecodesCleanly(t *testing.T) {
	testenv.Slow(t)
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	dir := t.TempDir()
	write := func(name string, ng bool, link Link, frames [][]byte, ips bool) string {
		var buf bytes.Buffer
		var w *Writer
		if ng {
			w, err = NewNgWriter(&buf, link)
		} else {
			w, err = NewWriter(&buf, link)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			if ips {
				err = w.WriteIP(f)
			} else {
				err = w.WriteFrame(f)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	frames := sampleFrames()
	ips := [][]byte{IPUDP(c4, s4, []byte("raw")), IPTCP(c6, s6, 1, 2, ACK, []byte("raw6"))}
	files := map[string]int{
		write("eth.pcap", false, LinkEthernet, frames, false):  len(frames),
		write("eth.pcapng", true, LinkEthernet, frames, false): len(frames),
		write("raw.pcap", false, LinkRaw, ips, true):           len(ips),
		write("sll2.pcap", false, LinkSLL2, ips, true):         len(ips),
	}
	bad := "_ws.malformed || _ws.expert.severity >= error || ip.checksum.status == 0 || " +
		"tcp.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0"
	for f, n := range files {
		out, err := exec.Command(tshark, "-n", "-r", f, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
			"-o", "udp.check_checksum:TRUE", "-Y", bad).CombinedOutput()
		if err != nil {
			t.Fatalf("tshark %s: %v\n%s", f, err, out)
		}
		if s := strings.TrimSpace(filterNoise(string(out))); s != "" {
			t.Errorf("%s: tshark reports problems:\n%s", filepath.Base(f), s)
		}
		out, err = exec.Command(tshark, "-n", "-r", f, "-T", "fields", "-e", "frame.number").Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := len(strings.Fields(string(out))); got != n {
			t.Errorf("%s: tshark read %d packets, want %d", filepath.Base(f), got, n)
		}
	}
}

// filterNoise drops tshark's warning about running as root.
func filterNoise(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "Running as user") && !strings.Contains(l, "dangerous") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// A NIC completes an offloaded checksum by summing the segment as it
// finds it, the placeholder in the field: that must give the checksum the
// segment would have carried.
func TestOffloadPlaceholder(t *testing.T) {
	src, dst := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("192.0.2.9:443")
	for _, payload := range []string{"", "x", "an odd-length payload", string(make([]byte, 1460))} {
		seg := TCP(src, dst, 1, 2, ACK, 65535, []byte(payload))
		want := binary.BigEndian.Uint16(seg[16:18])
		binary.BigEndian.PutUint16(seg[16:18], OffloadPlaceholder(src.Addr(), dst.Addr(), ProtoTCP, len(seg)))
		if got := Checksum(seg, 0); got != want {
			t.Errorf("%d-byte payload: the NIC would write %#04x, want %#04x", len(payload), got, want)
		}
	}
}
