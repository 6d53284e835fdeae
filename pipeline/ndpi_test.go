package pipeline

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// ndpiFlow is one flow line of an nDPI expected-output file.
type ndpiFlow struct {
	proto string // TCP or UDP
	a, b  netip.AddrPort
	name  string // [Hostname/SNI: …]
	app   string // proto field, e.g. TLS.Google, DNS, HTTP
}

var ndpiLine = regexp.MustCompile(`^\s*\d+\s+(TCP|UDP)\s+(\S+)\s+<->\s+(\S+)\s+.*?\[proto: [\d.]+/([^\]]+)\]`)
var ndpiHost = regexp.MustCompile(`\[Hostname/SNI: ([^\]]*)\]`)

func parseNDPI(t *testing.T, path string) []ndpiFlow {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []ndpiFlow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := ndpiLine.FindStringSubmatch(sc.Text())
		h := ndpiHost.FindStringSubmatch(sc.Text())
		if m == nil || h == nil {
			continue
		}
		a, err1 := netip.ParseAddrPort(m[2])
		b, err2 := netip.ParseAddrPort(m[3])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, ndpiFlow{proto: m[1], a: a, b: b, name: strings.ToLower(h[1]), app: m[4]})
	}
	return out
}

// TestNamesMatchNDPI replays every capture that has nDPI's expected output
// beside it and compares the name tapdlp extracts for each flow — TLS SNI,
// QUIC SNI, HTTP Host, or the DNS question for DNS flows — with nDPI's
// Hostname/SNI. Differences are listed; the match rate must stay at or
// above the floor measured when this test was written.
func TestNamesMatchNDPI(t *testing.T) {
	oracles, _ := filepath.Glob(filepath.Join(pcapDir, "*.ndpi.out"))
	if len(oracles) == 0 {
		t.Fatal("no .ndpi.out oracles in testdata/pcap")
	}
	total, matched := 0, 0
	var diffs []string
	for _, oracle := range oracles {
		capFile := strings.TrimSuffix(oracle, ".ndpi.out")
		want := parseNDPI(t, oracle)
		if len(want) == 0 {
			continue
		}
		got := map[[2]netip.AddrPort]string{}
		for _, l := range replayRecords(t, "", 2, capFile) {
			var r struct {
				Type, Proto string
				Src, Dst    struct {
					IP         string
					Port       uint16
					Name       string
					NameSource string `json:"name_source"`
				}
				DNS *struct{ Query string }
			}
			if json.Unmarshal([]byte(l), &r) != nil || r.Type != "flow" {
				continue
			}
			name := ""
			if r.Dst.NameSource != "dns" {
				name = r.Dst.Name
			}
			if r.DNS != nil && r.DNS.Query != "" {
				name = r.DNS.Query
			}
			s := netip.AddrPortFrom(netip.MustParseAddr(r.Src.IP), r.Src.Port)
			d := netip.AddrPortFrom(netip.MustParseAddr(r.Dst.IP), r.Dst.Port)
			if name != "" {
				got[[2]netip.AddrPort{s, d}] = name
				got[[2]netip.AddrPort{d, s}] = name
			}
		}
		for _, w := range want {
			total++
			g := got[[2]netip.AddrPort{w.a, w.b}]
			if g == w.name || (strings.Contains(w.name, "?") && len(g) == len(w.name)) {
				matched++ // nDPI prints non-printable name bytes as '?'
				continue
			}
			diffs = append(diffs, filepath.Base(capFile)+": "+w.proto+" "+w.a.String()+" <-> "+w.b.String()+
				" ("+w.app+"): nDPI "+quote(w.name)+", tapdlp "+quote(g))
		}
	}
	sort.Strings(diffs)
	t.Logf("names matching nDPI: %d of %d flows (%.1f%%)", matched, total, 100*float64(matched)/float64(total))
	for _, d := range diffs {
		t.Log("  differs: " + d)
	}
	if rate := float64(matched) / float64(total); rate < ndpiFloor {
		t.Errorf("match rate %.3f fell below %.3f", rate, ndpiFloor)
	}
}

// ndpiFloor is the match rate measured when the test was written; the
// differences it allows are each explained in the README.
const ndpiFloor = 0.945

func quote(s string) string { return `"` + s + `"` }
