package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tapdlp/tapdlp/capture"
)

// These tests open real AF_PACKET sockets on a veth pair; they need root
// (CAP_NET_ADMIN to create the pair, CAP_NET_RAW for the sockets) and skip
// otherwise.

var vethSeq int

// veth creates a veth pair, up, IPv6 off (no chatter), and returns the
// sending and the capturing end.
func veth(t *testing.T) (tx, rx string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live: needs root to create veth pairs and open AF_PACKET sockets")
	}
	vethSeq++
	tx = fmt.Sprintf("tlt%05x%d", os.Getpid()&0xfffff, vethSeq)
	rx = fmt.Sprintf("tlr%05x%d", os.Getpid()&0xfffff, vethSeq)
	if out, err := exec.Command("ip", "link", "add", tx, "mtu", "9000", "type", "veth", "peer", "name", rx, "mtu", "9000").CombinedOutput(); err != nil {
		t.Skipf("live: cannot create a veth pair: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", tx).Run() })
	for _, n := range []string{tx, rx} {
		_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+n+"/disable_ipv6", []byte("1"), 0o644)
		if out, err := exec.Command("ip", "link", "set", n, "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set %s up: %v: %s", n, err, out)
		}
	}
	// A veth passes frames only once both ends have carrier; on a loaded
	// machine that comes a while after "ip link set up" returns, and a frame
	// sent earlier is silently lost.
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range []string{tx, rx} {
		for {
			b, _ := os.ReadFile("/sys/class/net/" + n + "/operstate")
			if strings.TrimSpace(string(b)) == "up" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: operstate %q, not up after 10 s", n, strings.TrimSpace(string(b)))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return tx, rx
}

// sender writes raw frames on an interface.
type sender struct{ fd int }

func newSender(t *testing.T, iface string) *sender {
	t.Helper()
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
		t.Fatal(err)
	}
	return &sender{fd}
}

func (s *sender) send(t *testing.T, frame []byte) {
	t.Helper()
	if _, err := unix.Write(s.fd, frame); err != nil {
		t.Fatalf("send %d bytes: %v", len(frame), err)
	}
}

type tag struct {
	tpid uint16
	id   uint16
}

// udpFrame builds an Ethernet/IPv4/UDP frame with the given VLAN tags
// (outermost first) and payload length. Checksums stay zero: nothing on the
// capture path verifies them.
func udpFrame(src, dst netip.Addr, sport, dport uint16, payload int, tags ...tag) []byte {
	b := []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1}
	for _, tg := range tags {
		b = binary.BigEndian.AppendUint16(b, tg.tpid)
		b = binary.BigEndian.AppendUint16(b, tg.id)
	}
	b = binary.BigEndian.AppendUint16(b, 0x0800)
	ipLen := 20 + 8 + payload
	b = append(b, 0x45, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(ipLen))
	b = append(b, 0, 1, 0x40, 0, 64, 17, 0, 0)
	s4, d4 := src.As4(), dst.As4()
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(8+payload))
	b = append(b, 0, 0)
	return append(b, make([]byte, payload)...)
}

var (
	hostA = netip.MustParseAddr("10.77.0.1")
	hostB = netip.MustParseAddr("10.77.0.2")
)

// received is one frame as a socket returned it.
type received struct {
	socket int
	iface  string
	frame  []byte
	meta   capture.Meta
	vlan   uint16
	vlanOK bool
}

// drain reads every socket until each has been idle for a block timeout
// (three in a row), and returns what arrived.
// drain reads every socket of c until want frames have arrived (all of
// them) and the sockets then stayed idle for three block timeouts, or until
// a deadline: on a loaded machine the kernel can deliver late, and a test
// must not mistake that for a frame the filter dropped.
func drain(t *testing.T, c *Capture, want int) []received {
	t.Helper()
	var mu sync.Mutex
	var got []received
	var wg sync.WaitGroup
	deadline := time.Now().Add(15 * time.Second)
	enough := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= want
	}
	for _, s := range c.All() {
		wg.Go(func() {
			idle := 0
			for (idle < 3 || !enough()) && time.Now().Before(deadline) {
				data, m, err := s.Next()
				if errors.Is(err, ErrTimeout) {
					idle++
					continue
				}
				if err != nil {
					t.Errorf("%s socket %d: %v", s.Interface(), s.Index(), err)
					return
				}
				idle = 0
				id, ok := s.VLAN()
				mu.Lock()
				got = append(got, received{s.Index(), s.Interface(), append([]byte(nil), data...), m, id, ok})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return got
}

func open(t *testing.T, cfg Config) *Capture {
	t.Helper()
	if cfg.RingSize == 0 {
		cfg.RingSize = 4 << 20 // tests send little; keep the rings small
	}
	if cfg.FanoutGroup == 0 {
		cfg.FanoutGroup = uint16(0x4000 + os.Getpid()&0x3fff) // not the default: a running sensor may use it
	}
	c, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestFanoutKeepsFlowsTogether sends both directions of many flows and
// checks that each flow arrived on one socket index only, that the flows
// were spread over both sockets, and that the kernel counters agree.
func TestFanoutKeepsFlowsTogether(t *testing.T) {
	tx, rx := veth(t)
	c := open(t, Config{Interfaces: []string{rx}, Sockets: 2})
	s := newSender(t, tx)
	const flows = 64
	for i := range flows {
		sport := uint16(40000 + i)
		s.send(t, udpFrame(hostA, hostB, sport, 53, 40))
		s.send(t, udpFrame(hostB, hostA, 53, sport, 80))
	}
	got := drain(t, c, 2*flows)
	if len(got) != 2*flows {
		t.Fatalf("received %d frames, want %d", len(got), 2*flows)
	}
	where := map[uint16]int{}
	perSocket := map[int]int{}
	for _, r := range got {
		sport, dport := binary.BigEndian.Uint16(r.frame[34:]), binary.BigEndian.Uint16(r.frame[36:])
		key := max(sport, dport)
		if prev, ok := where[key]; ok && prev != r.socket {
			t.Errorf("flow %d: directions on sockets %d and %d", key, prev, r.socket)
		}
		where[key] = r.socket
		perSocket[r.socket]++
		if r.meta.LinkType != capture.LinkEthernet || r.meta.CapLen != len(r.frame) || r.meta.WireLen != len(r.frame) {
			t.Errorf("meta %+v for a %d-byte frame", r.meta, len(r.frame))
		}
	}
	if len(perSocket) != 2 {
		t.Errorf("frames per socket %v: the hash did not spread %d flows", perSocket, flows)
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets != 2*flows || st.Drops != 0 || len(st.Sockets) != 2 {
		t.Errorf("stats %+v, want %d packets, no drops, 2 sockets", st, 2*flows)
	}
}

// TestTwoInterfacesOneIndex is the passive-tap case: one direction per
// interface. Socket i of both interfaces must get the same flows.
func TestTwoInterfacesOneIndex(t *testing.T) {
	txA, rxA := veth(t)
	txB, rxB := veth(t)
	c := open(t, Config{Interfaces: []string{rxA, rxB}, Sockets: 2})
	sa, sb := newSender(t, txA), newSender(t, txB)
	const flows = 64
	for i := range flows {
		sport := uint16(41000 + i)
		sa.send(t, udpFrame(hostA, hostB, sport, 443, 100))
		sb.send(t, udpFrame(hostB, hostA, 443, sport, 1200))
	}
	got := drain(t, c, 2*flows)
	if len(got) != 2*flows {
		t.Fatalf("received %d frames, want %d", len(got), 2*flows)
	}
	index := map[uint16]map[string]int{}
	for _, r := range got {
		sport, dport := binary.BigEndian.Uint16(r.frame[34:]), binary.BigEndian.Uint16(r.frame[36:])
		key := max(sport, dport)
		if index[key] == nil {
			index[key] = map[string]int{}
		}
		index[key][r.iface] = r.socket
	}
	spread := map[int]bool{}
	for key, m := range index {
		if len(m) != 2 || m[rxA] != m[rxB] {
			t.Errorf("flow %d: socket index per interface %v, want one index on both", key, m)
		}
		spread[m[rxA]] = true
	}
	if len(spread) != 2 {
		t.Errorf("all flows on socket index %v: the test proves nothing", spread)
	}
}

// TestVLANFromRingHeader checks that the tag the kernel strips comes back
// through VLAN(), for 802.1Q and for the outer tag of 802.1ad QinQ, and
// that the wire length counts it.
func TestVLANFromRingHeader(t *testing.T) {
	tx, rx := veth(t)
	c := open(t, Config{Interfaces: []string{rx}})
	s := newSender(t, tx)
	tests := []struct {
		name      string
		tags      []tag
		wantVLANs []uint16
	}{
		{"untagged", nil, nil},
		{"802.1Q", []tag{{0x8100, 100}}, []uint16{100}},
		{"802.1ad QinQ", []tag{{0x88a8, 200}, {0x8100, 100}}, []uint16{200, 100}},
	}
	for i, tt := range tests {
		frame := udpFrame(hostA, hostB, uint16(42000+i), 53, 30, tt.tags...)
		s.send(t, frame)
		got := drain(t, c, 1)
		if len(got) != 1 {
			t.Fatalf("%s: received %d frames, want 1", tt.name, len(got))
		}
		r := got[0]
		if r.meta.WireLen != len(frame) {
			t.Errorf("%s: wire length %d, want %d (the stripped tag counts)", tt.name, r.meta.WireLen, len(frame))
		}
		var p capture.Packet
		if res := capture.NewDecoder(capture.DecoderConfig{}, nil).Decode(r.frame, r.meta, &p); res != capture.OK {
			t.Fatalf("%s: decode = %v", tt.name, res)
		}
		if r.vlanOK {
			PrependVLAN(&p, r.vlan)
		}
		if fmt.Sprint(p.VLAN[:p.NVLAN]) != fmt.Sprint(tt.wantVLANs) {
			t.Errorf("%s: VLANs %v, want %v", tt.name, p.VLAN[:p.NVLAN], tt.wantVLANs)
		}
	}
}

// TestFilterAndSnaplen checks that the filter selects in the kernel and
// that its return value cuts frames at the snaplen.
func TestFilterAndSnaplen(t *testing.T) {
	tx, rx := veth(t)
	c := open(t, Config{Interfaces: []string{rx}, Filter: "udp port 53", Snaplen: 200, NoDefrag: true})
	s := newSender(t, tx)
	s.send(t, udpFrame(hostA, hostB, 40000, 53, 1000))
	s.send(t, udpFrame(hostA, hostB, 40000, 80, 1000))
	got := drain(t, c, 1)
	if len(got) != 1 {
		t.Fatalf("received %d frames, want only the port-53 one", len(got))
	}
	if r := got[0]; len(r.frame) != 200 || r.meta.CapLen != 200 || r.meta.WireLen != 14+20+8+1000 {
		t.Errorf("frame %d bytes, meta %+v: want 200 captured of %d", len(r.frame), r.meta, 14+20+8+1000)
	}
}

func TestOpenErrors(t *testing.T) {
	_, rx := veth(t)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"bad filter", Config{Interfaces: []string{rx}, Filter: "port 99999"}},
		{"missing interface", Config{Interfaces: []string{"tdlp-nonexist0"}}},
		{"invalid config", Config{Interfaces: []string{rx}, BlockSize: 1000}},
	}
	for _, tt := range tests {
		if c, err := Open(tt.cfg); err == nil {
			c.Close()
			t.Errorf("%s: Open succeeded", tt.name)
		}
	}
}

// TestNextAllocs proves the per-frame path allocates nothing for untagged
// frames.
func TestNextAllocs(t *testing.T) {
	tx, rx := veth(t)
	c := open(t, Config{Interfaces: []string{rx}})
	s := newSender(t, tx)
	for i := range 300 {
		s.send(t, udpFrame(hostA, hostB, uint16(43000+i%50), 53, 60))
	}
	time.Sleep(3 * DefaultBlockTimeout) // let the kernel retire the block
	sock := c.Sockets(0)[0]
	allocs := testing.AllocsPerRun(200, func() {
		if _, _, err := sock.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Next allocates %v times per frame", allocs)
	}
}
