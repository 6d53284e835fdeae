package quic

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcaptest"
)

const pcapDir = "../../testdata/pcap"

// udpFlow is the client side of one UDP conversation.
type udpFlow struct {
	client, server netip.AddrPort
	datagrams      [][]byte // client to server, capture order
}

// udpFlows groups UDP datagrams by conversation; the sender of the first
// datagram is the client.
func udpFlows(t testing.TB, name string) []*udpFlow {
	t.Helper()
	pkts, err := pcaptest.Load(filepath.Join(pcapDir, name))
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ a, b netip.AddrPort }
	byKey := map[key]*udpFlow{}
	var out []*udpFlow
	for _, p := range pkts {
		if !p.UDP {
			continue
		}
		f := byKey[key{p.Src, p.Dst}]
		if f == nil {
			f = byKey[key{p.Dst, p.Src}]
		}
		if f == nil {
			f = &udpFlow{client: p.Src, server: p.Dst}
			byKey[key{p.Src, p.Dst}] = f
			out = append(out, f)
		}
		if p.Src == f.client {
			f.datagrams = append(f.datagrams, p.Payload)
		}
	}
	return out
}

// run feeds a flow's client datagrams to a fresh Conn.
func run(f *udpFlow) *Conn {
	c := new(Conn)
	for _, d := range f.datagrams {
		if c.Feed(d) {
			break
		}
	}
	return c
}

type snapEntry = pcaptest.JA4Entry

func readSnap(t *testing.T, name string) []snapEntry {
	return pcaptest.MustJA4Snapshot(t, filepath.Join(pcapDir, name+".ja4.snap"))
}

// TestJA4Snapshots checks SNI and JA4 of every QUIC stream in FoxIO's snapshots.
func TestJA4Snapshots(t *testing.T) {
	total, matched := 0, 0
	for _, name := range []string{"ja4_quic-tls-handshake.pcapng", "ja4_tls-sni.pcapng"} {
		flows := udpFlows(t, name)
		for _, e := range readSnap(t, name) {
			if e.Transport != "udp" || e.JA4 == "" {
				continue
			}
			total++
			client := netip.AddrPortFrom(netip.MustParseAddr(e.Src), e.SrcPort)
			var c *Conn
			for _, f := range flows {
				if f.client == client {
					c = run(f)
				}
			}
			if c == nil || c.Status() != Done || c.Hello.SNI() != e.SNI || c.JA4() != e.JA4 {
				if c != nil {
					t.Errorf("%s %s: %v %q %s, snapshot %q %s", name, client, c.Status(), c.Hello.SNI(), c.JA4(), e.SNI, e.JA4)
				} else {
					t.Errorf("%s %s: flow not found", name, client)
				}
				continue
			}
			matched++
		}
	}
	t.Logf("FoxIO ja4 snapshots (QUIC): %d/%d flows match SNI and JA4", matched, total)
	if total == 0 || matched != total {
		t.Fail()
	}
}

var (
	ndpiQUIC = regexp.MustCompile(`UDP (\S+) <?-> (\S+) .*\[QUIC ver: ([^\]]*)\]`)
	ndpiSNI  = regexp.MustCompile(`\[Hostname/SNI: ([^\]]*)\]`)
	ndpiJA4  = regexp.MustCompile(`\[JA4: ([^\]]*)\]`)
)

// ndpiDifferences are nDPI JA4s the parser deliberately does not reproduce.
// In both, the hashed sections agree; only JA4_a differs, and the wire
// shows nDPI's prefix is wrong:
//   - quic-v2: the only ALPN offered is "h3", so the ALPN field is "h3";
//     nDPI prints "h0".
//   - frags_ch_in_multiple_packets: the hello has no server_name extension
//     (so 'i', and nDPI prints no SNI either) and its first ALPN is
//     "h3-34" (so "h4"); nDPI prints 'd' and "h3".
var ndpiDifferences = map[string]struct{ ndpi, ours string }{
	"ndpi_quic-v2.pcapng": {
		ndpi: "q13d0310h0_55b375c5d22e_0a3b52e28cea",
		ours: "q13d0310h3_55b375c5d22e_0a3b52e28cea",
	},
	"ndpi_quic_frags_ch_in_multiple_packets.pcapng": {
		ndpi: "q00d0307h3_55b375c5d22e_af0a630e9e67",
		ours: "q00i0307h4_55b375c5d22e_af0a630e9e67",
	},
}

// TestNDPIOracle compares version, SNI and JA4 with nDPI for its QUIC
// captures, including the version-negotiation interop runs, where nothing
// can be decrypted and nothing must be reported.
func TestNDPIOracle(t *testing.T) {
	total, matched, deliberate := 0, 0, 0
	for _, name := range []string{"ndpi_quic-v2.pcapng", "ndpi_quic_frags_ch_in_multiple_packets.pcapng", "ndpi_quic_interop_V.pcapng"} {
		raw, err := os.ReadFile(filepath.Join(pcapDir, name+".ndpi.out"))
		if err != nil {
			t.Fatal(err)
		}
		flows := udpFlows(t, name)
		for _, line := range strings.Split(string(raw), "\n") {
			q := ndpiQUIC.FindStringSubmatch(line)
			if q == nil {
				continue
			}
			total++
			var sni, ja4 string
			if m := ndpiSNI.FindStringSubmatch(line); m != nil {
				sni = m[1]
			}
			if m := ndpiJA4.FindStringSubmatch(line); m != nil {
				ja4 = m[1]
			}
			if d, ok := ndpiDifferences[name]; ok && d.ndpi == ja4 {
				ja4 = d.ours
				deliberate++
			}
			m := []string{q[0], q[1], q[2], sni, q[3], ja4}
			var f *udpFlow
			for _, g := range flows {
				if g.client.String() == m[1] && g.server.String() == m[2] || g.client.String() == m[2] && g.server.String() == m[1] {
					f = g
				}
			}
			if f == nil {
				t.Errorf("%s: flow %s not found", name, m[1])
				continue
			}
			c := run(f)
			ok := false
			switch m[4] {
			case "Ver-Negotiation":
				// The client offered a version nobody knows to force
				// negotiation: no keys exist, nothing is reported.
				ok = c.Status() == Unsupported && c.Hello.SNI() == ""
			default:
				ok = c.Status() == Done && c.Hello.SNI() == m[3] && c.JA4() == m[5] &&
					(m[4] == "V-1" && c.Version == Version1 || m[4] == "V-2" && c.Version == Version2)
			}
			if !ok {
				t.Errorf("%s %s: %v %q %s, nDPI %q %q %q", name, m[1], c.Status(), c.Hello.SNI(), c.JA4(), m[4], m[3], m[5])
				continue
			}
			matched++
		}
	}
	t.Logf("nDPI QUIC oracle: %d/%d flows match (%d with a deliberate JA4_a difference)", matched, total, deliberate)
	if total == 0 || deliberate != len(ndpiDifferences) {
		t.Fatalf("no oracle lines, or deliberate differences not all met (%d)", deliberate)
	}
}

// TestArkimeOracle checks the single VLAN+IPv6 Initial of arkime_quicietf.
func TestArkimeOracle(t *testing.T) {
	sessions, err := pcaptest.ArkimeSessions(filepath.Join(pcapDir, "arkime_quicietf.pcap.arkime.test.json"))
	if err != nil || len(sessions) == 0 {
		t.Fatalf("Arkime oracle: %v", err)
	}
	want := sessions[0]
	flows := udpFlows(t, "arkime_quicietf.pcap")
	c := run(flows[0])
	if c.Status() != Done || c.Hello.SNI() != want.Hosts[0] || c.JA4() != want.JA4[0] {
		t.Errorf("got %v %q %s, Arkime %q %s", c.Status(), c.Hello.SNI(), c.JA4(), want.Hosts[0], want.JA4[0])
	}
}

// TestReassemblyCaptures covers CRYPTO data spread over several Initial
// packets and datagrams, out of order, where the MANIFEST names the SNI.
func TestReassemblyCaptures(t *testing.T) {
	tests := []struct {
		name, sni  string
		minInitial int
	}{
		{"sv_quic-frag-unordered.pcap", "mastodon.social", 2},
		{"zeek_quic_quic-multiple-initial-fragmented-crypto.pcap", "googleads.g.doubleclick.net", 2},
	}
	for _, tc := range tests {
		flows := udpFlows(t, tc.name)
		c := run(flows[0])
		if c.Status() != Done || c.Hello.SNI() != tc.sni || c.Stats.Initials < tc.minInitial {
			t.Errorf("%s: %v %q stats %+v", tc.name, c.Status(), c.Hello.SNI(), c.Stats)
		}
	}
}
