package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const pcapDir = "../testdata/pcap"

// tsharkRow is one line of capture/testdata/tshark/X.tsv (see
// tshark_expect.py): tshark's innermost IP 5-tuple for a frame.
type tsharkRow struct {
	src, dst, transport, sport, dport string
	tunnel, tunnelID, outerSrc        string
}

func readTsharkRows(t *testing.T, name string) []tsharkRow {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "tshark", name+".tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []tsharkRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 9 {
			t.Fatalf("%s: bad row %q", name, sc.Text())
		}
		rows = append(rows, tsharkRow{c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]})
	}
	return rows
}

func transportName(p *Packet) string {
	switch p.Proto {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmpv6"
	}
	return "other"
}

// decodeAll decodes every packet of a capture and calls fn for each.
func decodeAll(t *testing.T, path string, cfg DecoderConfig, fn func(i int, r Result, p *Packet)) *DecodeStats {
	t.Helper()
	src, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	stats := new(DecodeStats)
	d := NewDecoder(cfg, stats)
	var p Packet
	for i := 0; ; i++ {
		data, m, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r := d.Decode(data, m, &p)
		fn(i, r, &p)
	}
	return stats
}

// realCaptures lists the public captures checked against tshark. tunnel is
// the outermost tunnel type every decoded packet must report when set; ok
// is the exact number of frames decoded OK;
// except lists frames (1-based, as tshark numbers them) where the decoder
// deliberately differs from tshark, with the Result it gives instead;
// unfollowed is the exact number of frames where tshark found IP inside an
// encapsulation the decoder does not follow (reported as NotIP).
var realCaptures = []struct {
	name       string
	tunnel     TunnelType
	ok         int
	except     map[int]Result
	unfollowed int
}{
	{name: "arkime_gre-erspan-vxlan.pcap", tunnel: TunnelERSPAN, ok: 7},
	{name: "ndpi_gre.pcapng", tunnel: TunnelGRE, ok: 1},
	{name: "ndpi_6in4tunnel.pcap", tunnel: TunnelIPIP, ok: 127},
	{name: "zeek_tunnels_vxlan-encapsulated-http.pcap", tunnel: TunnelVXLAN, ok: 12},
	{name: "zeek_tunnels_geneve-many-options.pcap", tunnel: TunnelGENEVE, ok: 10},
	{name: "zeek_tunnels_geneve-ipv6.pcap", tunnel: TunnelGENEVE, ok: 2},
	{name: "tcpdump_geneve.pcap", ok: 39},
	{name: "zeek_erspanII.pcap", tunnel: TunnelERSPAN, ok: 4},
	{name: "zeek_erspanIII.pcap", tunnel: TunnelERSPAN, ok: 2},
	{name: "tcpdump_erspan-type-i-4.pcap", ok: 112},
	{name: "zeek_erspan.pcap", ok: 238},
	// Cisco MetaData (GRE 0x8909) is not followed; the rest is STP, loop
	// and GRE keepalives.
	{name: "tcpdump_various_gre.pcap", unfollowed: 20},
	{name: "zeek_mixed-vlan-mpls.pcap", ok: 47},
	{name: "zeek_tunnels_gre-over-udp-4754.pcap", tunnel: TunnelGRE, ok: 14},
	{name: "ndpi_vxlan.pcap", tunnel: TunnelVXLAN, ok: 127},
	{name: "ndpi_dns.pcap", ok: 5},
	{name: "gopacket_linux_sll_oversized_addr.pcapng", ok: 208, except: map[int]Result{95: Malformed}},
	{name: "gopacket_pcapgo_be_test001.pcapng", ok: 4},
	{name: "gopacket_pcapgo_le_test202.pcapng", ok: 8},
	{name: "arkime_bigendian.pcap", ok: 2},
	{name: "tcpdump_tcp-handshake-nano.pcap", ok: 3},
	{name: "gopacket_pcap_test_loopback.pcap", ok: 24},
	{name: "zeek_http-qinq-0.pcap", ok: 14},
	{name: "tcpdump_802.1ad_QinQ.pcap"}, // 802.1ad + 802.1Q around ARP
	{name: "sv_20250224-dns-additionals-with-cname.pcap", ok: 2},
	{name: "sv_quic-frag-unordered.pcap", ok: 7},
	{name: "ndpi_dns_fragmented.pcap", ok: 59},
	{name: "zeek_ipv6-fragmented-dns.pcap", ok: 5},
	{name: "sv_defrag_frag-eth-vlan-ipv6-tcp.pcap", ok: 1},
	{name: "zeek_ipv4_fragmented-4.pcap", ok: 3},
	{name: "zeek_ipv6-http-atomic-frag.pcap", ok: 38},
}

// TestRealCapturesMatchTshark decodes public captures and compares every
// frame's innermost 5-tuple with what tshark reported (testdata/tshark).
func TestRealCapturesMatchTshark(t *testing.T) {
	for _, tc := range realCaptures {
		t.Run(tc.name, func(t *testing.T) {
			rows := readTsharkRows(t, tc.name)
			nOK, n, unfollowed := 0, 0, 0
			decodeAll(t, filepath.Join(pcapDir, tc.name), DecoderConfig{}, func(i int, r Result, p *Packet) {
				n++
				if i >= len(rows) {
					t.Fatalf("frame %d: tshark saw only %d frames", i+1, len(rows))
				}
				w := rows[i]
				if want, ok := tc.except[i+1]; ok {
					if r != want {
						t.Errorf("frame %d: got %v, want %v (listed exception)", i+1, r, want)
					}
					return
				}
				if r == NotIP && w.src != "-" && p.Tunnel.OuterSrc.String() != w.src {
					unfollowed++
					return
				}
				if err := matchTshark(r, p, w); err != "" {
					t.Errorf("frame %d: %s (tunnel %v/%d)", i+1, err, p.Tunnel.Type, p.Tunnel.ID)
				}
				if r == OK {
					nOK++
					if tc.tunnel != TunnelNone && p.Tunnel.Type != tc.tunnel {
						t.Errorf("frame %d: tunnel %v, want %v", i+1, p.Tunnel.Type, tc.tunnel)
					}
				}
			})
			if n != len(rows) {
				t.Errorf("decoded %d frames, tshark %d", n, len(rows))
			}
			if unfollowed != tc.unfollowed {
				t.Errorf("%d frames with IP not followed, want %d", unfollowed, tc.unfollowed)
			}
			if nOK != tc.ok {
				t.Errorf("%d frames OK, want %d", nOK, tc.ok)
			}
		})
	}
}

// matchTshark returns "" when the decoder's view of a frame agrees with
// tshark's, else a description of the difference.
func matchTshark(r Result, p *Packet, w tsharkRow) string {
	addrs := p.Src.String() == w.src && p.Dst.String() == w.dst
	switch r {
	case OK:
		got := fmt.Sprintf("%s %s %s", p.Src, p.Dst, transportName(p))
		if p.Proto == ProtoTCP || p.Proto == ProtoUDP {
			got += fmt.Sprintf(" %d %d", p.SrcPort, p.DstPort)
		}
		want := fmt.Sprintf("%s %s %s", w.src, w.dst, w.transport)
		if w.transport == "tcp" || w.transport == "udp" {
			want += " " + w.sport + " " + w.dport
		}
		if got != want {
			return fmt.Sprintf("got %q, tshark %q", got, want)
		}
		tun := "-"
		if p.Tunnel.Type != TunnelNone {
			tun = p.Tunnel.Type.String()
		}
		outer := "-"
		if p.Tunnel.OuterSrc.IsValid() {
			outer = p.Tunnel.OuterSrc.String()
		}
		got = fmt.Sprintf("%s %d %s", tun, p.Tunnel.ID, outer)
		if want := w.tunnel + " " + w.tunnelID + " " + w.outerSrc; got != want {
			return fmt.Sprintf("tunnel %q, tshark %q", got, want)
		}
	case Fragment, FragmentDropped:
		if !addrs || (w.transport != "-" && w.transport != "other") {
			return fmt.Sprintf("%v %s>%s, tshark %+v", r, p.Src, p.Dst, w)
		}
	case NotIP:
		// Either no IP at all, or a tunnel carrying non-IP, where tshark's
		// innermost IP is the tunnel's outer header.
		if w.src != "-" && (w.src != p.Tunnel.OuterSrc.String() || w.transport != "other") {
			return fmt.Sprintf("not_ip, tshark %+v", w)
		}
	default:
		return fmt.Sprintf("%v, tshark %+v", r, w)
	}
	return ""
}
