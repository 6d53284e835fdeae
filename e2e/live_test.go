package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

const (
	clientIP = "10.99.0.1"
	serverIP = "10.99.0.2"
)

// TestLiveNamespaces captures real client/server traffic between two
// namespaces on the client's bridge port, with privileges dropped to
// nobody, and checks every conversation's record against what the client
// sent and received.
func TestLiveNamespaces(t *testing.T) {
	requireNetns(t)
	id := uniq()
	cns, sns := "tdcli"+id, "tdsrv"+id
	br, hostC, hostS, nsC, nsS := "tdbr"+id, "tdhc"+id, "tdhs"+id, "tdnc"+id, "tdns"+id
	addNetns(t, cns)
	addNetns(t, sns)
	sh(t, "ip", "link", "add", br, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", br).Run() })
	noIPv6(t, "", br)
	noOffloads(t, "", br)
	raiseBacklog(t, 1<<16) // far more frames than the largest transfer (6 MB) has
	addVeth(t, hostC, nsC, 1500)
	addVeth(t, hostS, nsS, 1500)
	for _, x := range []struct{ ns, dev, addr, host string }{{cns, nsC, clientIP, hostC}, {sns, nsS, serverIP, hostS}} {
		sh(t, "ip", "link", "set", x.dev, "netns", x.ns)
		noIPv6(t, x.ns, x.dev) // a device moving namespace gets the new namespace's defaults
		noOffloads(t, x.ns, x.dev)
		sh(t, "ip", "-n", x.ns, "addr", "add", x.addr+"/24", "dev", x.dev)
		sh(t, "ip", "-n", x.ns, "link", "set", x.dev, "up")
		sh(t, "ip", "-n", x.ns, "link", "set", "lo", "up")
		sh(t, "ip", "link", "set", x.host, "master", br)
	}
	linkUp(t, br, hostC, hostS)

	s := startSensor(t, "-i", hostC, "-workers", "2", "-user", "nobody")

	self := startServerRole(t, sns, serverIP)

	cli := exec.Command("ip", "netns", "exec", cns, self)
	cli.Env = append(os.Environ(), roleEnv+"=client", serverEnv+"="+serverIP)
	var stderr bytes.Buffer
	cli.Stderr = &stderr
	out, err := cli.Output()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, stderr.Bytes())
	}
	var convs []conversation
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var c conversation
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("client output: %v", err)
		}
		convs = append(convs, c)
	}
	if len(convs) != 6 {
		t.Fatalf("client reported %d conversations, want 6:\n%s", len(convs), out)
	}

	flows, drops := s.stop(t)
	if drops != 0 {
		t.Errorf("kernel drops = %d, want 0", drops)
	}
	raw, err := os.ReadFile(s.out)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{testCard, testEmail} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("records contain the raw value %q: the sensor must never leak", secret)
		}
	}
	for _, c := range convs {
		t.Run(c.Kind+"_"+c.Name, func(t *testing.T) { checkConversation(t, flows, c) })
	}
}

// checkConversation finds the flow of one client conversation and checks
// its byte counts, direction, names, categories and findings.
func checkConversation(t *testing.T, flows []record.Flow, c conversation) {
	proto, dport := "tcp", uint16(80)
	switch c.Kind {
	case "dns":
		proto, dport = "udp", 53
	case "https":
		dport = 443
	}
	var f *record.Flow
	for i := range flows {
		r := &flows[i]
		if r.Proto == proto && r.Src.IP == clientIP && r.Src.Port == uint16(c.Port) && r.Dst.IP == serverIP && r.Dst.Port == dport {
			if f != nil {
				t.Fatalf("two final records for one conversation:\n%+v\n%+v", *f, *r)
			}
			f = r
		}
	}
	if f == nil {
		t.Fatalf("no %s flow %s:%d -> %s:%d among %d records", proto, clientIP, c.Port, serverIP, dport, len(flows))
	}
	defer func() {
		if t.Failed() || os.Getenv("E2E_DEBUG") != "" {
			b, _ := json.Marshal(f)
			t.Logf("record: %s\nclient: %+v", b, c)
		}
	}()
	if proto == "udp" {
		// One query, one answer: IP bytes are payload + 20 (IPv4) + 8 (UDP).
		want := record.Counts{Out: uint64(c.Sent + 28), In: uint64(c.Recv + 28)}
		if f.Bytes != want || f.Packets != (record.Counts{Out: 1, In: 1}) {
			t.Errorf("bytes %+v packets %+v, want bytes %+v in one packet each way", f.Bytes, f.Packets, want)
		}
		if f.DNS == nil || f.DNS.Query != c.Name {
			t.Errorf("dns = %+v, want query %q", f.DNS, c.Name)
		}
		return
	}
	// TCP: IP bytes are the payload plus 40..60 header bytes per packet
	// (IPv4 20, TCP 20 + options: timestamps on every segment, more on SYN).
	// A direction with retransmissions (history T/t: the kernel's backlog
	// overflowed on a loaded machine) carries its resent payload in its IP
	// bytes too, so only the lower bound holds there.
	for _, d := range []struct {
		dir         string
		bytes, pkts uint64
		payload     int64
		retrans     bool
	}{{"out", f.Bytes.Out, f.Packets.Out, c.Sent, strings.Contains(f.History, "T")},
		{"in", f.Bytes.In, f.Packets.In, c.Recv, strings.Contains(f.History, "t")}} {
		hdr := int64(d.bytes) - d.payload
		if d.pkts < 3 || hdr < 40*int64(d.pkts) || (!d.retrans && hdr > 60*int64(d.pkts)) {
			t.Errorf("%s: %d IP bytes in %d packets for %d payload bytes: %d header bytes is not 40..60 per packet",
				d.dir, d.bytes, d.pkts, d.payload, hdr)
		}
	}
	if !strings.HasPrefix(f.History, "Sh") {
		t.Errorf("history %q: want the client's SYN then the server's SYN-ACK first", f.History)
	}
	// Go's TLS server may reset rather than close; either way the end
	// was seen (shutdown: it was, but the linger had not passed).
	if f.State != "closed" && f.State != "reset" && f.State != "shutdown" {
		t.Errorf("state %q, want closed, reset or shutdown", f.State)
	}
	if f.MissedBytes != 0 {
		t.Errorf("missed_bytes = %d, want 0", f.MissedBytes)
	}
	switch c.Kind {
	case "http":
		if f.HTTP == nil || f.HTTP.Host != c.Name {
			t.Errorf("http = %+v, want host %q", f.HTTP, c.Name)
		}
	case "https":
		if f.TLS == nil || f.TLS.SNI != c.Name {
			t.Errorf("tls = %+v, want sni %q", f.TLS, c.Name)
		}
	}
	if f.Dst.Name != c.Name {
		t.Errorf("dst.name = %q, want %q", f.Dst.Name, c.Name)
	}
	wantCat := map[string]string{nameHTTP: "ai_ml", nameTLS: "ai_ml", nameUpload: "cloud_storage"}[c.Name]
	if f.Dst.Category != wantCat {
		t.Errorf("dst.category = %q, want %q", f.Dst.Category, wantCat)
	}
	if c.Name == nameHTTP {
		checkSensitive(t, f)
	}
}

// checkSensitive asserts the findings of the POST with a test card number
// and an e-mail address.
func checkSensitive(t *testing.T, f *record.Flow) {
	var types []string
	for _, s := range f.Sensitive {
		types = append(types, s.Type)
		if s.Type == "credit_card" && (!s.TestNumber || s.Direction != "out" || s.Class != "PCI") {
			t.Errorf("credit_card finding %+v: want class PCI, direction out, test_number", s)
		}
	}
	for _, want := range []string{"credit_card", "email"} {
		if !slices.Contains(types, want) {
			t.Errorf("sensitive types %v: missing %s", types, want)
		}
	}
}

// replayFiles are sent with tcpreplay and must give the records `tapdlp
// replay` gives: plain TCP/UDP/ICMP, 802.1Q (tag stripped by the kernel),
// 802.1ad QinQ (outer tag stripped, inner in the frame), VXLAN, a long HTTP
// upload. Their flows do not share 5-tuples and have no idle gaps
// longer than the flow timeouts.
var replayFiles = []string{
	"demo.pcap",
	"zeek_http-vlan-0.pcap",
	"tcpdump_802.1ad_QinQ.pcap",
	"ndpi_vxlan.pcap",
	"arkime_http-post-upload.pcap",
}

// TestLiveEqualsReplay replays captures onto a veth at a fixed rate and
// checks that the live records equal `tapdlp replay`'s, apart from times.
// It uses the lb fanout mode, where the kernel scatters every flow over
// both sockets, so it also proves the merge puts packets back in order.
func TestLiveEqualsReplay(t *testing.T) {
	requireNetns(t)
	requireTool(t, "tcpreplay")
	id := uniq()
	tx, rx := "tdrt"+id, "tdrr"+id
	addVeth(t, tx, rx, 9000)
	linkUp(t, tx, rx)
	var files, want []string
	for _, f := range replayFiles {
		p := testdata(t, f)
		files = append(files, p)
		// One replay per file: in one run the clock would jump between
		// files and expire the previous file's flows.
		want = append(want, comparable(t, replayRecords(t, p))...)
	}
	slices.Sort(want)

	s := startSensor(t, "-i", rx, "-workers", "2", "-fanout", "lb")
	for _, f := range files {
		sh(t, "tcpreplay", "-q", "--pps", "2000", "-i", tx, f)
	}
	_, drops := s.stop(t)
	if drops != 0 {
		t.Errorf("kernel drops = %d, want 0", drops)
	}
	compareRecords(t, comparable(t, s.out), want)
}

// TestLiveTwoInterfaceTap sends each direction of the demo capture on its
// own veth, as a passive tap does, and checks that both halves of every flow
// meet in one record equal to replay's.
func TestLiveTwoInterfaceTap(t *testing.T) {
	requireNetns(t)
	requireTool(t, "tcpreplay")
	requireTool(t, "tcpprep")
	id := uniq()
	a0, a1, b0, b1 := "tdta"+id, "tdra"+id, "tdtb"+id, "tdrb"+id
	addVeth(t, a0, a1, 9000)
	addVeth(t, b0, b1, 9000)
	linkUp(t, a0, a1, b0, b1)
	pcap := testdata(t, "demo.pcap")
	cache := filepath.Join(t.TempDir(), "demo.cache")
	// The client 10.0.0.5 sends on one port, everyone else on the other.
	sh(t, "tcpprep", "--cidr=10.0.0.5/32", "--pcap="+pcap, "--cachefile="+cache)
	want := comparable(t, replayRecords(t, pcap))

	s := startSensor(t, "-i", a1+","+b1, "-workers", "2")
	sh(t, "tcpreplay", "-q", "--pps", "2000", "--cachefile="+cache, "-i", a0, "-I", b0, pcap)
	_, drops := s.stop(t)
	if drops != 0 {
		t.Errorf("kernel drops = %d, want 0", drops)
	}
	for _, dev := range []string{a1, b1} {
		if n := rxPackets(t, dev); n == 0 {
			t.Fatalf("%s received no packets: the capture was not split over two interfaces", dev)
		}
	}
	compareRecords(t, comparable(t, s.out), want)
}

func rxPackets(t *testing.T, dev string) uint64 {
	t.Helper()
	b, err := os.ReadFile("/sys/class/net/" + dev + "/statistics/rx_packets")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func compareRecords(t *testing.T, got, want []string) {
	t.Helper()
	onlyLive, onlyReplay := diffLines(got, want)
	for _, l := range onlyLive {
		t.Errorf("only live:   %s", l)
	}
	for _, l := range onlyReplay {
		t.Errorf("only replay: %s", l)
	}
	if len(want) == 0 {
		t.Fatal("replay gave no records: the comparison proves nothing")
	}
	t.Logf("%d live records equal replay's", len(got))
}

// startServerRole runs this test binary as the test server in network
// namespace ns, listening on ip, and waits until it says it is ready. It
// returns the binary's path, for starting other roles.
func startServerRole(t *testing.T, ns, ip string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	srv := exec.Command("ip", "netns", "exec", ns, self)
	srv.Env = append(os.Environ(), roleEnv+"=server", serverEnv+"="+ip)
	srv.Stderr = os.Stderr
	srvOut, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(srvOut).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = io.ErrUnexpectedEOF
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("server did not start: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not start within 20s")
	}
	return self
}
