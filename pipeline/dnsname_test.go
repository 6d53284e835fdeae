package pipeline

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
)

// A flow with nothing in its payload that names it is named by the DNS
// answer its client acted on; when the SNI names it differently (a CDN),
// the SNI wins and the DNS name is kept in dst.dns_name. Another client's
// answer is only a fallback.
func TestDNSNaming(t *testing.T) {
	var buf bytes.Buffer
	w, _ := pcapgen.NewWriter(&buf, pcapgen.LinkEthernet)
	dns := func(client netip.AddrPort, name string, addr string) {
		w.WriteIP(pcapgen.IPUDP(client, ap("10.0.0.53:53"), scenarios.DNSQuery(1, name, 1)))
		w.WriteIP(pcapgen.IPUDP(ap("10.0.0.53:53"), client, scenarios.DNSResponse(1, name, 1,
			scenarios.DNSAnswer{Name: name, Addr: netip.MustParseAddr(addr), TTL: 300})))
	}
	conv := func(client, server string, first []byte) {
		c := pcapgen.NewTCPConn(ap(client), ap(server), 5, 6)
		segs := append(c.Handshake(), c.Send(true, first)...)
		segs = append(segs, c.Close(true)...)
		for _, s := range segs {
			w.WriteIP(c.Packet(s))
		}
	}
	// Client A resolves an SFTP host, then speaks SSH to it (nothing in the
	// payload names it).
	dns(ap("10.0.0.5:40000"), "sftp.partner-files.example", "198.51.100.50")
	conv("10.0.0.5:40001", "198.51.100.50:22", []byte("SSH-2.0-OpenSSH_9.6\r\n"))
	// Client A resolves a CDN name; the TLS SNI names the real service.
	dns(ap("10.0.0.5:40002"), "edge-7.cdn.example.net", "198.51.100.60")
	conv("10.0.0.5:40003", "198.51.100.60:443", scenarios.ClientHello("api.openai.com", "h2"))
	// Client B never resolved the SFTP host: it gets client A's answer as
	// the fallback.
	conv("10.0.0.6:40004", "198.51.100.50:22", []byte("SSH-2.0-OpenSSH_9.6\r\n"))
	path := filepath.Join(t.TempDir(), "dns.pcap")
	os.WriteFile(path, buf.Bytes(), 0o644)

	type dst struct {
		Name, NameSource, DNSName, Category string
	}
	got := map[uint16]dst{}
	for _, l := range replayRecords(t, "", 1, path) {
		var r struct {
			Src struct{ Port uint16 }
			Dst struct {
				Name       string
				NameSource string `json:"name_source"`
				DNSName    string `json:"dns_name"`
				Category   string
			}
		}
		json.Unmarshal([]byte(l), &r)
		got[r.Src.Port] = dst{r.Dst.Name, r.Dst.NameSource, r.Dst.DNSName, r.Dst.Category}
	}
	want := map[uint16]dst{
		40001: {"sftp.partner-files.example", "dns", "", "unknown"},
		40003: {"api.openai.com", "sni", "edge-7.cdn.example.net", "ai_ml"},
		40004: {"sftp.partner-files.example", "dns", "", "unknown"},
	}
	for port, w := range want {
		if got[port] != w {
			t.Errorf("client port %d: got %+v, want %+v", port, got[port], w)
		}
	}
}
