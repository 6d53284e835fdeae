package pipeline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tapdlp/tapdlp/internal/testenv"
)

// convKey is an unordered TCP 4-tuple: tshark's conversation.
type convKey struct{ a, b netip.AddrPort }

func newConvKey(x, y netip.AddrPort) convKey {
	if y.Addr().Less(x.Addr()) || (x.Addr() == y.Addr() && y.Port() < x.Port()) {
		x, y = y, x
	}
	return convKey{x, y}
}

// counts per direction: [0] from the key's a to b, [1] from b to a.
type convCounts struct {
	packets [2]uint64
	ipBytes [2]uint64
}

// TestTsharkCrossCheck compares per-flow TCP packet and IP byte counts with
// tshark's on every committed capture: packets from `tshark -z conv,tcp`,
// bytes from summing each packet's IP length (tshark's conversation bytes
// include link headers and Ethernet padding, which flow records do not).
func TestTsharkCrossCheck(t *testing.T) {
	testenv.Slow(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (CI installs it: apt-get install tshark)")
	}
	var checked atomic.Int64
	t.Cleanup(func() { t.Logf("%d TCP conversations cross-checked against tshark", checked.Load()) })
	for _, name := range tsharkCaptures {
		f := filepath.Join(pcapDir, name)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := tsharkTCP(t, f)
			if want == nil {
				t.Skip("tshark found no plain TCP conversations")
			}
			got := map[convKey]*convCounts{}
			for _, line := range replayRecords(t, "", 2, f) {
				var r struct {
					State  string
					Proto  string
					Tunnel *struct{}
					Src    struct {
						IP   string
						Port uint16
					}
					Dst struct {
						IP   string
						Port uint16
					}
					Bytes, Packets struct{ Out, In uint64 }
				}
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatal(err)
				}
				// Interim records carry cumulative counters; the final record has the totals.
				if r.Proto != "tcp" || r.Tunnel != nil || r.State == "active" {
					continue
				}
				s := netip.AddrPortFrom(netip.MustParseAddr(r.Src.IP), r.Src.Port)
				d := netip.AddrPortFrom(netip.MustParseAddr(r.Dst.IP), r.Dst.Port)
				k := newConvKey(s, d)
				c := got[k]
				if c == nil {
					c = new(convCounts)
					got[k] = c
				}
				out, in := 0, 1
				if k.a != s {
					out, in = 1, 0
				}
				c.packets[out] += r.Packets.Out
				c.packets[in] += r.Packets.In
				c.ipBytes[out] += r.Bytes.Out
				c.ipBytes[in] += r.Bytes.In
			}
			for k, w := range want {
				g := got[k]
				if g == nil {
					t.Errorf("%v ↔ %v: tshark has the conversation, tapdlp has no flow", k.a, k.b)
					continue
				}
				if *g != *w {
					t.Errorf("%v ↔ %v: tapdlp packets %v bytes %v, tshark packets %v bytes %v", k.a, k.b, g.packets, g.ipBytes, w.packets, w.ipBytes)
				}
			}
			checked.Add(int64(len(want)))
		})
	}
}

// tsharkCaptures are cross-checked: the generated edge cases and real
// captures covering link types, VLAN/QinQ, MPLS, IPv6, pcapng variants,
// retransmissions and long flows. (tshark takes about a second to start, so
// not every committed capture is worth it.) Left out on purpose:
// gopacket_linux_sll_oversized_addr.pcapng, whose frames' IPv4 headers claim
// more bytes than the frames hold: tshark counts the claimed length, tapdlp
// the bytes that were on the wire (packet counts agree).
var tsharkCaptures = []string{
	"demo.pcap", "tcp-edge.pcap", "l2-l3.pcap", "sll2.pcap",
	"arkime_bigendian.pcap", "arkime_http-post-upload.pcap", "arkime_v6-http.pcap", "arkime_tls13.pcap",
	"cce_credit-cards.pcap", "gopacket_pcapgo_le_test202.pcapng",
	"ndpi_http_ua_splitted_in_two_pkts.pcapng", "ndpi_tls_2_reasms.pcapng", "tcpdump_dns_tcp.pcap",
	"tcpdump_tcp-handshake-nano.pcap", "zeek_http-qinq-0.pcap", "zeek_http-vlan-0.pcap", "zeek_mixed-vlan-mpls.pcap",
	"zeek_ipv6-http-atomic-frag.pcap",
}

// tsharkTCP returns per-conversation packet and IP byte counts of TCP
// packets that are not inside a tunnel and not IP fragments. Packets tshark
// finds cut short or malformed are left out: tapdlp counts those as decode
// errors, not as flow traffic.
func tsharkTCP(t *testing.T, file string) map[convKey]*convCounts {
	t.Helper()
	cmd := exec.Command("tshark", "-n", "-o", "tcp.desegment_tcp_streams:FALSE", "-r", file, "-Y", "tcp && !_ws.short && !_ws.malformed && !gre && !vxlan && !geneve && !erspan && !mpls && !pppoes && !(ip.proto==4) && !(ip.proto==41) && !(ipv6.nxt==4) && !(ipv6.nxt==41)",
		"-T", "fields", "-E", "separator=,", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
		"-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "ip.len", "-e", "ipv6.plen",
		"-e", "ip.flags.mf", "-e", "ip.frag_offset", "-e", "ipv6.fragment.count")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	res := map[convKey]*convCounts{}
	fragmented := map[convKey]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) != 11 || strings.Contains(sc.Text(), ";") {
			continue // nested IP (a tunnel tshark decoded): not a plain conversation
		}
		src, dst := first(f[0], f[1]), first(f[3], f[4])
		sp, _ := strconv.Atoi(f[2])
		dp, _ := strconv.Atoi(f[5])
		a, err1 := netip.ParseAddr(src)
		b, err2 := netip.ParseAddr(dst)
		if err1 != nil || err2 != nil {
			continue
		}
		var n uint64
		if f[6] != "" {
			v, _ := strconv.Atoi(f[6])
			n = uint64(v)
		} else {
			v, _ := strconv.Atoi(f[7])
			n = uint64(v) + 40
		}
		s, d := netip.AddrPortFrom(a, uint16(sp)), netip.AddrPortFrom(b, uint16(dp))
		k := newConvKey(s, d)
		// tshark reports a reassembled datagram with the last fragment's
		// length; tapdlp counts the datagram. Compare unfragmented flows only.
		if f[8] == "1" || (f[9] != "" && f[9] != "0") || f[10] != "" {
			fragmented[k] = true
		}
		c := res[k]
		if c == nil {
			c = new(convCounts)
			res[k] = c
		}
		dir := 0
		if k.a != s {
			dir = 1
		}
		c.packets[dir]++
		c.ipBytes[dir] += n
	}
	for k := range fragmented {
		delete(res, k)
	}
	if len(res) == 0 {
		return nil
	}
	return res
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
