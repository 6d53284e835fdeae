package dns

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcaptest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

const pcapDir = "../../testdata/pcap"

// dnsCaptures are the public captures the DNS tests replay.
var dnsCaptures = []string{
	"ndpi_dns.pcap",
	"ndpi_dns_ambiguous_names.pcap",
	"ndpi_dns-invalid-chars.pcap",
	"ndpi_malformed_dns.pcap",
	"ndpi_dns_long_domainname.pcap",
	"ndpi_dns_fragmented.pcap",
	"arkime_dns-tcp.pcap",
	"tcpdump_dns_tcp.pcap",
	"sv_20250224-dns-additionals-with-cname.pcap",
}

// capturedMessage is one DNS message pulled out of a capture.
type capturedMessage struct {
	frame    int
	src, dst netip.AddrPort
	tcp      bool
	payload  []byte
}

// messages returns every DNS message of a capture: UDP datagrams to or from
// port 53 whole, and TCP streams on port 53 cut by a TCPFramer fed with the
// segments exactly as captured.
func messages(t testing.TB, name string) []capturedMessage {
	t.Helper()
	pkts, err := pcaptest.Load(filepath.Join(pcapDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var out []capturedMessage
	for _, p := range pkts {
		if p.UDP && (p.Src.Port() == 53 || p.Dst.Port() == 53) {
			out = append(out, capturedMessage{frame: p.Index, src: p.Src, dst: p.Dst, payload: p.Payload})
		}
	}
	for _, s := range pcaptest.TCPStreams(pkts) {
		if s.Server.Port() != 53 {
			continue
		}
		for _, dir := range []struct {
			chunks   [][]byte
			src, dst netip.AddrPort
		}{{s.ClientChunks, s.Client, s.Server}, {s.ServerChunks, s.Server, s.Client}} {
			var f TCPFramer
			for _, c := range dir.chunks {
				f.Feed(c)
				for msg, ok := f.Next(); ok; msg, ok = f.Next() {
					out = append(out, capturedMessage{src: dir.src, dst: dir.dst, tcp: true, payload: append([]byte(nil), msg...)})
				}
			}
		}
	}
	return out
}

// summary renders a parsed message in one line for golden files.
func summary(m *Message, payload []byte, err error) string {
	var b strings.Builder
	kind := "query"
	if m.Response() {
		kind = "response"
	}
	fmt.Fprintf(&b, "%s id=%d q=%q %s rcode=%s", kind, m.ID, m.QName(), TypeString(m.QType), RCodeString(m.RCode()))
	if m.QNameFlags&NameInvalidChars != 0 {
		b.WriteString(" invalid-chars")
	}
	if err != nil {
		fmt.Fprintf(&b, " err=%q@%d", err, m.ErrOffset)
		return b.String()
	}
	if m.ChainLen() > 1 {
		b.WriteString(" chain=")
		for i := 0; i < m.ChainLen(); i++ {
			if i > 0 {
				b.WriteString(">")
			}
			b.Write(m.ChainName(i))
		}
	}
	for _, a := range m.AppendAnswers(nil) {
		fmt.Fprintf(&b, " %s=%s/%d", TypeString(a.Type), a.Addr, a.TTL)
	}
	if m.DroppedRRs > 0 {
		fmt.Fprintf(&b, " dropped=%d", m.DroppedRRs)
	}
	fmt.Fprintf(&b, " looks=%v", LooksLikeDNS(payload))
	return b.String()
}

func TestGoldenCaptures(t *testing.T) {
	var m Message
	for _, name := range dnsCaptures {
		t.Run(name, func(t *testing.T) {
			var lines []string
			for _, c := range messages(t, name) {
				err := m.Parse(c.payload)
				proto := "udp"
				if c.tcp {
					proto = "tcp"
				}
				lines = append(lines, fmt.Sprintf("%s %s>%s %s", proto, c.src, c.dst, summary(&m, c.payload, err)))
			}
			if len(lines) == 0 {
				t.Fatal("no DNS messages found")
			}
			checkGolden(t, filepath.Join("testdata", "golden", name+".txt"), strings.Join(lines, "\n")+"\n")
		})
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// ndpiFlow is what an nDPI .ndpi.out line says about one DNS flow.
type ndpiFlow struct {
	a, b     netip.AddrPort
	hostname string
	addr     netip.Addr // first answer address; invalid when nDPI printed 0.0.0.0
}

var ndpiLine = regexp.MustCompile(`^\s*\d+\s+UDP ([^ ]+) <-> ([^ ]+) .*\[Hostname/SNI: ([^\]]*)\]\[([0-9a-f.:]+)\]`)

func readNDPI(t *testing.T, path string) []ndpiFlow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var flows []ndpiFlow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := ndpiLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		a, err1 := netip.ParseAddrPort(m[1])
		b, err2 := netip.ParseAddrPort(m[2])
		if err1 != nil || err2 != nil {
			continue // IPv6 endpoints are printed as [addr]:port
		}
		fl := ndpiFlow{a: a, b: b, hostname: m[3]}
		if ip, err := netip.ParseAddr(m[4]); err == nil && !ip.IsUnspecified() {
			fl.addr = ip
		}
		flows = append(flows, fl)
	}
	return flows
}

// TestNDPIOracle compares the question name and the first answer address of
// each DNS flow with what nDPI printed for it.
func TestNDPIOracle(t *testing.T) {
	files := []string{
		"ndpi_dns.pcap",
		"ndpi_dns_ambiguous_names.pcap",
		"ndpi_dns-invalid-chars.pcap",
		"ndpi_malformed_dns.pcap",
		"ndpi_dns_long_domainname.pcap",
	}
	var m Message
	total, matched := 0, 0
	for _, name := range files {
		flows := readNDPI(t, filepath.Join(pcapDir, name+".ndpi.out"))
		if len(flows) == 0 {
			t.Fatalf("%s: no flows in oracle", name)
		}
		msgs := messages(t, name)
		for _, fl := range flows {
			total++
			var gotName string
			var gotAddr netip.Addr
			sawResponse := false
			for _, c := range msgs {
				if !(c.src == fl.a && c.dst == fl.b || c.src == fl.b && c.dst == fl.a) {
					continue
				}
				err := m.Parse(c.payload)
				// nDPI reports the first response's question, which can
				// differ from the query's (ndpi_dns-invalid-chars does that).
				if gotName == "" || (m.Response() && !sawResponse) {
					gotName = string(m.QName())
				}
				sawResponse = sawResponse || m.Response()
				if err == nil && m.Response() && m.NumAddrs() > 0 && !gotAddr.IsValid() {
					gotAddr, _, _, _ = m.Addr(0)
				}
			}
			if d, ok := ndpiDifferences[name+" "+fl.hostname]; ok {
				if gotName != d.name || gotAddr != d.addr {
					t.Errorf("%s %s: got %q %v, want deliberate %q %v", name, fl.hostname, gotName, gotAddr, d.name, d.addr)
				}
				continue
			}
			// nDPI prints '?' for bytes it finds unprintable; the parser keeps
			// them (and flags the name), so compare the printable rendering.
			if ndpiPrintable(gotName) != fl.hostname || gotAddr != fl.addr {
				t.Errorf("%s %s<->%s: got name %q addr %v, nDPI says %q %v", name, fl.a, fl.b, gotName, gotAddr, fl.hostname, fl.addr)
				continue
			}
			matched++
		}
	}
	t.Logf("nDPI DNS oracle: %d/%d flows match, %d deliberate differences", matched, total, len(ndpiDifferences))
	if matched+len(ndpiDifferences) != total {
		t.Errorf("matched %d + deliberate %d != %d flows", matched, len(ndpiDifferences), total)
	}
}

// ndpiDifferences lists where the parser deliberately disagrees with nDPI,
// keyed by capture and nDPI hostname, with what the parser reports instead.
var ndpiDifferences = map[string]struct {
	name string
	addr netip.Addr
}{
	// nDPI rewrites '*' in a name to '_'; the wildcard query is what went
	// on the wire, so it is kept.
	"ndpi_dns_ambiguous_names.pcap _.teams.microsoft.com": {name: "*.teams.microsoft.com"},
	// The response claims two questions, the second a 300-byte name (an
	// overflow probe). The parser rejects the whole message rather than
	// trust records behind a bogus question; nDPI's lenient walk found an A.
	"ndpi_malformed_dns.pcap www.xt.com": {name: "www.xt.com"},
}

func ndpiPrintable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// TestArkimeOracle compares every A/AAAA answer (name, address, TTL) of the
// DNS-over-TCP capture with Arkime's expected session documents.
func TestArkimeOracle(t *testing.T) {
	const name = "arkime_dns-tcp.pcap"
	raw, err := os.ReadFile(filepath.Join(pcapDir, name+".arkime.test.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Sessions3 []struct {
			Body struct {
				DNS []struct {
					Answers []struct {
						IP, Name, Type string
						TTL            uint32
					}
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	var m Message
	asked := map[string]bool{}
	for _, c := range messages(t, name) {
		if err := m.Parse(c.payload); err != nil {
			t.Fatalf("parse: %v", err)
		}
		asked[string(m.QName())] = true
		for _, a := range m.AppendAnswers(nil) {
			got = append(got, fmt.Sprintf("%s %s %d", a.Target, a.Addr, a.TTL))
		}
	}
	// Arkime also lists the additional section's glue (the name servers'
	// addresses). The parser deliberately keeps only the answer chain of
	// the question: glue is not what the client will connect to, and
	// trusting out-of-chain records invites cache poisoning.
	var want []string
	glue := 0
	for _, s := range doc.Sessions3 {
		for _, d := range s.Body.DNS {
			for _, a := range d.Answers {
				if a.Type != "A" && a.Type != "AAAA" {
					continue
				}
				if !asked[a.Name] {
					glue++
					continue
				}
				want = append(want, fmt.Sprintf("%s %s %d", a.Name, a.IP, a.TTL))
			}
		}
	}
	if glue != 8 {
		t.Errorf("expected 8 glue records in the oracle, found %d", glue)
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("answers differ from Arkime:\n got %q\nwant %q", got, want)
	}
	t.Logf("Arkime DNS oracle: %d/%d answer-section addresses match; %d additional-section glue records deliberately not reported", len(got), len(want), glue)
}
