package filter

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"

	"github.com/tapdlp/tapdlp/internal/testenv"
)

var update = flag.Bool("update", false, "regenerate testdata/tcpdump.golden by running tcpdump")

const goldenPath = "testdata/tcpdump.golden"

// realCaptures are public Ethernet, SLL and raw-IP captures (VLAN, QinQ,
// MPLS, IPv4 and IPv6 fragments) shared by the repository's tests.
var realCaptures = []string{
	"zeek_http-vlan-0.pcap",
	"zeek_http-qinq-0.pcap",
	"tcpdump_802.1ad_QinQ.pcap",
	"zeek_ipv4_fragmented-4.pcap",
	"zeek_ipv6-http-atomic-frag.pcap",
	"sv_defrag_frag-eth-vlan-ipv6-tcp.pcap",
	"zeek_mixed-vlan-mpls.pcap",
	"ndpi_dns_fragmented.pcap",
	"sv_quic-frag-unordered.pcap",     // raw IP
	"tcpdump_tcp-handshake-nano.pcap", // Linux SLL, nanosecond timestamps
}

type capture struct {
	name   string
	data   []byte
	lt     LinkType
	frames []frame
}

func loadCaptures(t testing.TB) []capture {
	t.Helper()
	eth := mixedEthernet(t)
	caps := []capture{
		{name: "gen_ether.pcap", data: writePcap(t, layers.LinkTypeEthernet, eth)},
		{name: "gen_sll.pcap", data: writePcap(t, layers.LinkTypeLinuxSLL, toSLL(eth))},
		{name: "gen_raw.pcap", data: writePcap(t, layers.LinkType(LinkRaw), toRaw(eth))},
	}
	for _, name := range realCaptures {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "pcap", name))
		if err != nil {
			t.Fatalf("capture fixture: %v", err)
		}
		caps = append(caps, capture{name: name, data: data})
	}
	for i := range caps {
		caps[i].lt, caps[i].frames = readPcap(t, caps[i].data)
	}
	return caps
}

func loadExprs(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile("testdata/exprs.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// selection is the sorted indices of accepted packets, or nil with
// rejected set when the expression does not compile for the capture.
type selection struct {
	idx      []int
	rejected bool
}

func (s selection) String() string {
	if s.rejected {
		return "ERR"
	}
	if len(s.idx) == 0 {
		return "-"
	}
	parts := make([]string, len(s.idx))
	for i, v := range s.idx {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

func parseSelection(s string) (selection, error) {
	switch s {
	case "ERR":
		return selection{rejected: true}, nil
	case "-":
		return selection{idx: []int{}}, nil
	}
	var sel selection
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.Atoi(p)
		if err != nil {
			return sel, err
		}
		sel.idx = append(sel.idx, v)
	}
	return sel, nil
}

// ourSelection runs expr over every frame with the Matcher, and with
// bpf.NewVM as an independent interpreter of the same program; both must
// agree.
func ourSelection(t *testing.T, expr string, c capture) selection {
	t.Helper()
	prog, err := Compile(expr, c.lt, 0)
	if err != nil {
		return selection{rejected: true}
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("%q on %s: bpf.NewVM rejects the program: %v", expr, c.name, err)
	}
	m, err := NewMatcher(expr, c.lt)
	if err != nil {
		t.Fatalf("%q: NewMatcher: %v", expr, err)
	}
	usesLen := strings.Contains(expr, "less") || strings.Contains(expr, "greater") || strings.Contains(expr, "len")
	sel := selection{idx: []int{}}
	for i, f := range c.frames {
		ok := m.MatchLen(f.data, f.wire)
		// bpf.VM only knows the captured length, which "less", "greater"
		// and "len" would read instead of the wire length on snapped
		// packets.
		if !usesLen || len(f.data) == f.wire {
			n, err := vm.Run(f.data)
			if err != nil {
				t.Fatalf("%q on %s packet %d: vm: %v", expr, c.name, i, err)
			}
			if (n > 0) != ok {
				t.Errorf("%q on %s packet %d: Matcher says %v, bpf.VM says %v", expr, c.name, i, ok, n > 0)
			}
		}
		if ok {
			sel.idx = append(sel.idx, i)
		}
	}
	return sel
}

// tcpdumpSelection runs tcpdump -r file -w out EXPR and maps the packets it
// wrote back to indices of the input.
func tcpdumpSelection(t *testing.T, bin, dir string, c capture, expr string) selection {
	t.Helper()
	in := filepath.Join(dir, c.name)
	if _, err := os.Stat(in); err != nil {
		if err := os.WriteFile(in, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "selected.pcap")
	_ = os.Remove(out)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-n", "-r", in, "-w", out, expr)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(stderr.String(), "expression rejects all packets") {
			return selection{idx: []int{}}
		}
		return selection{rejected: true}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("tcpdump %q on %s: %v", expr, c.name, err)
	}
	_, got := readPcap(t, data)
	sel := selection{idx: []int{}}
	j := 0
	for i, f := range c.frames {
		if j < len(got) && got[j].wire == f.wire && bytes.Equal(got[j].data, f.data) {
			sel.idx = append(sel.idx, i)
			j++
		}
	}
	if j != len(got) {
		t.Fatalf("tcpdump %q on %s: %d written packets not found in the input", expr, c.name, len(got)-j)
	}
	return sel
}

type goldenFile struct {
	digests map[string]string    // capture name -> digest
	sel     map[string]selection // capture + "\t" + expr -> selection
}

func readGolden(t *testing.T) goldenFile {
	t.Helper()
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatalf("%v (run go test -run TestTcpdump -update with tcpdump installed)", err)
	}
	defer f.Close()
	g := goldenFile{digests: map[string]string{}, sel: map[string]selection{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if name, ok := strings.CutPrefix(line, "capture "); ok {
			name, dg, _ := strings.Cut(name, " ")
			g.digests[name] = dg
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 {
			t.Fatalf("%s:%d: malformed line", goldenPath, n)
		}
		s, err := parseSelection(parts[2])
		if err != nil {
			t.Fatalf("%s:%d: %v", goldenPath, n, err)
		}
		g.sel[parts[0]+"\t"+parts[1]] = s
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return g
}

func writeGolden(t *testing.T, bin string, caps []capture, exprs []string) {
	t.Helper()
	version, _ := exec.Command(bin, "--version").CombinedOutput()
	var b strings.Builder
	fmt.Fprintf(&b, "# Packets tcpdump selects for each expression of exprs.txt on each capture\n")
	fmt.Fprintf(&b, "# (indices from 0; \"-\" none; ERR: tcpdump rejects the expression).\n")
	fmt.Fprintf(&b, "# Generated by: go test -run TestTcpdump -update, with %s\n", strings.SplitN(string(version), "\n", 2)[0])
	for _, c := range caps {
		fmt.Fprintf(&b, "capture %s %s\n", c.name, digest(c.data))
	}
	dir := t.TempDir()
	for _, c := range caps {
		for _, e := range exprs {
			fmt.Fprintf(&b, "%s\t%s\t%s\n", c.name, e, tcpdumpSelection(t, bin, dir, c, e))
		}
	}
	if err := os.WriteFile(goldenPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTcpdumpGolden compares the packets each expression selects with
// tcpdump's selections recorded in the golden file.
func TestTcpdumpGolden(t *testing.T) {
	caps := loadCaptures(t)
	exprs := loadExprs(t)
	if *update {
		bin, err := exec.LookPath("tcpdump")
		if err != nil {
			t.Fatalf("-update needs tcpdump on PATH: %v", err)
		}
		writeGolden(t, bin, caps, exprs)
	}
	g := readGolden(t)
	var pairs, packets, errs int
	for _, c := range caps {
		if dg := g.digests[c.name]; dg != digest(c.data) {
			t.Fatalf("capture %s changed (digest %s, golden has %q): rerun with -update", c.name, digest(c.data), dg)
		}
		for _, e := range exprs {
			want, ok := g.sel[c.name+"\t"+e]
			if !ok {
				t.Fatalf("golden has no entry for %q on %s: rerun with -update", e, c.name)
			}
			got := ourSelection(t, e, c)
			if got.rejected != want.rejected || !slices.Equal(got.idx, want.idx) {
				_, err := Compile(e, c.lt, 0)
				t.Errorf("%q on %s (%s):\n got %s (err %v)\nwant %s", e, c.name, c.lt, got, err, want)
			}
			pairs++
			packets += len(c.frames)
			if want.rejected {
				errs++
			}
		}
	}
	t.Logf("%d expressions x %d captures: %d pairs (%d rejected by both), %d packet verdicts compared", len(exprs), len(caps), pairs, errs, packets)
}

// TestTcpdumpLive runs tcpdump itself on the same corpus and checks that
// the recorded golden selections are still what this tcpdump selects.
// TestTcpdumpGolden already compares our selections with the golden, so
// together they compare us with tcpdump without repeating that work.
// Slow (one tcpdump run per expression and capture): TAPDLP_SLOW=1.
func TestTcpdumpLive(t *testing.T) {
	testenv.Slow(t)
	bin, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed: only the golden comparison ran")
	}
	caps := loadCaptures(t)
	exprs := loadExprs(t)
	g := readGolden(t)
	dir := t.TempDir()
	for _, c := range caps {
		for _, e := range exprs {
			got := tcpdumpSelection(t, bin, dir, c, e)
			want, ok := g.sel[c.name+"\t"+e]
			if !ok {
				t.Fatalf("golden has no entry for %q on %s: rerun with -update", e, c.name)
			}
			if got.rejected != want.rejected || !slices.Equal(got.idx, want.idx) {
				t.Errorf("%q on %s: tcpdump now selects %s, golden has %s (ours: %s)", e, c.name, got, want, ourSelection(t, e, c))
			}
		}
	}
}
