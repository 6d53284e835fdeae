package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/internal/testenv"
	"github.com/tapdlp/tapdlp/record"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	seq       atomic.Uint32
)

// requireNetns skips the test unless slow tests were asked for
// (TAPDLP_SLOW=1: each namespace test takes seconds) and it can create
// network namespaces.
func requireNetns(t *testing.T) {
	t.Helper()
	testenv.Slow(t)
	if os.Geteuid() != 0 {
		t.Skip("e2e: needs root for network namespaces and AF_PACKET (CI runs it as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("e2e: `ip` (iproute2) not installed")
	}
	probe := "tdprobe" + uniq()
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		t.Skipf("e2e: `ip netns` unavailable: %v: %s", err, bytes.TrimSpace(out))
	}
	_ = exec.Command("ip", "netns", "del", probe).Run()
}

func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("e2e: %s not installed (apt-get install -y tcpreplay)", name)
	}
}

// tapdlpBinary builds the sensor once per test process, statically.
func tapdlpBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "tapdlp-e2e-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, "tapdlp"), "github.com/tapdlp/tapdlp/cmd/tapdlp")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "tapdlp")
}

// uniq returns a short suffix unique to this process and call, so parallel
// CI jobs and leftovers of a crashed run never collide (names <= 15 bytes).
func uniq() string {
	return fmt.Sprintf("%04x%02x", os.Getpid()&0xffff, seq.Add(1)&0xff)
}

// sh runs a command and fails the test with its output on error.
func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func addNetns(t *testing.T, name string) {
	t.Helper()
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
}

// addVeth creates a veth pair in the host namespace with IPv6 off on both
// ends (no router solicitations or MLD reports in the capture), segmentation
// and receive offloads off (see noOffloads) and the given MTU; deleting one
// end deletes the pair.
func addVeth(t *testing.T, a, b string, mtu int) {
	t.Helper()
	sh(t, "ip", "link", "add", a, "mtu", strconv.Itoa(mtu), "type", "veth", "peer", "name", b, "mtu", strconv.Itoa(mtu))
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", a).Run() })
	noIPv6(t, "", a)
	noIPv6(t, "", b)
	noOffloads(t, "", a)
	noOffloads(t, "", b)
}

// raiseBacklog makes the per-CPU receive backlog deep enough that no frame
// of a test transfer can be dropped there while the test runs. Veths have
// no queue of their own: a sender bursting faster than the receiving
// softirq drains overflows net.core.netdev_max_backlog (1000 by default)
// after the sensor saw the frame on the first hop, and the retransmission
// is then counted twice, which made packet and byte checks depend on load.
// The old value is restored when the test ends.
func raiseBacklog(t *testing.T, depth int) {
	t.Helper()
	const knob = "/proc/sys/net/core/netdev_max_backlog"
	old, err := os.ReadFile(knob)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(string(old))); err == nil && n >= depth {
		return
	}
	if err := os.WriteFile(knob, []byte(strconv.Itoa(depth)), 0o644); err != nil {
		t.Fatalf("e2e: cannot raise %s to %d, so the test's packet counts would depend on timing: %v", knob, depth, err)
	}
	t.Cleanup(func() { _ = os.WriteFile(knob, old, 0o644) })
}

// offloads are the features that let the kernel hand AF_PACKET one
// super-packet for many wire segments (GRO merging received segments,
// TSO/GSO sending unsegmented ones). With any of them on, a record counts
// fewer, larger packets than the wire carried, depending on timing, which
// is what made TestLiveNamespaces fail intermittently on a loaded machine.
var offloads = []struct{ short, long string }{
	{"gro", "generic-receive-offload"},
	{"gso", "generic-segmentation-offload"},
	{"tso", "tcp-segmentation-offload"},
}

// noOffloads turns GRO, GSO and TSO off on iface in namespace ns ("" for
// the host) with ethtool, and fails the test if any of them is still on,
// so the packet counts the tests check are the wire's.
func noOffloads(t *testing.T, ns, iface string) {
	t.Helper()
	if _, err := exec.LookPath("ethtool"); err != nil {
		t.Fatalf("e2e: ethtool is needed to turn GRO/GSO/TSO off on the test veths (apt-get install -y ethtool): %v", err)
	}
	run := func(args ...string) (string, error) {
		if ns != "" {
			args = append([]string{"netns", "exec", ns, "ethtool"}, args...)
			out, err := exec.Command("ip", args...).CombinedOutput()
			return string(out), err
		}
		out, err := exec.Command("ethtool", args...).CombinedOutput()
		return string(out), err
	}
	args := []string{"-K", iface}
	for _, o := range offloads {
		args = append(args, o.short, "off")
	}
	// ethtool exits non-zero when a fixed feature cannot change; the state
	// read back below is what counts.
	setOut, _ := run(args...)
	state, err := run("-k", iface)
	if err != nil {
		t.Fatalf("ethtool -k %s: %v\n%s", iface, err, state)
	}
	for _, o := range offloads {
		on := false
		for _, line := range strings.Split(state, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), o.long+": "); ok {
				on = strings.HasPrefix(v, "on")
			}
		}
		if on {
			t.Fatalf("e2e: cannot turn %s off on %s: the test's packet counts would depend on timing\n%s", o.long, iface, setOut)
		}
	}
}

// noIPv6 disables IPv6 on an interface, in namespace ns ("" for the host).
func noIPv6(t *testing.T, ns, iface string) {
	t.Helper()
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		return // no IPv6 in this kernel: nothing will chatter
	}
	cmd := "echo 1 > /proc/sys/net/ipv6/conf/" + iface + "/disable_ipv6"
	if ns == "" {
		sh(t, "sh", "-c", cmd)
		return
	}
	sh(t, "ip", "netns", "exec", ns, "sh", "-c", cmd)
}

func linkUp(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		sh(t, "ip", "link", "set", n, "up")
	}
	for _, n := range names {
		waitUp(t, n)
	}
}

// waitUp waits until the host interface is operationally up, so frames
// sent right after are not lost to carrier detection.
func waitUp(t *testing.T, iface string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile("/sys/class/net/" + iface + "/operstate")
		if s := strings.TrimSpace(string(b)); s == "up" || s == "unknown" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s did not come up", iface)
}

// sensor is a running `tapdlp run`.
type sensor struct {
	cmd    *exec.Cmd
	out    string
	errLog string
	done   chan error
}

// startSensor runs `tapdlp run -o FILE ARGS...` and returns once it
// captures.
func startSensor(t *testing.T, args ...string) *sensor {
	t.Helper()
	dir := t.TempDir()
	s := &sensor{out: filepath.Join(dir, "records.jsonl"), errLog: filepath.Join(dir, "stderr.log"), done: make(chan error, 1)}
	stderr, err := os.Create(s.errLog)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	s.cmd = exec.Command(tapdlpBinary(t), append([]string{"run", "-o", s.out, "-status", "0"}, args...)...)
	s.cmd.Stderr = stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { _ = s.cmd.Process.Kill() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(s.errLog)
		if bytes.Contains(b, []byte("msg=capturing")) {
			return s
		}
		select {
		case err := <-s.done:
			t.Fatalf("tapdlp run exited before capturing: %v\n%s", err, b)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tapdlp run did not start capturing:\n%s", b)
		}
	}
}

var kernelDropsRE = regexp.MustCompile(`kernel drops (\d+)`)

// stop sends SIGINT, checks the exit status and returns the flow records
// and the kernel drop count from the summary line.
func (s *sensor) stop(t *testing.T) ([]record.Flow, uint64) {
	t.Helper()
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("tapdlp run did not stop within 30s of SIGINT")
	}
	log, _ := os.ReadFile(s.errLog)
	if err != nil {
		t.Fatalf("tapdlp run: %v\n%s", err, log)
	}
	m := kernelDropsRE.FindSubmatch(log)
	if m == nil {
		t.Fatalf("no summary line on stderr:\n%s", log)
	}
	drops, _ := strconv.ParseUint(string(m[1]), 10, 64)
	t.Logf("tapdlp run: %s", lastLine(log))
	return readFlows(t, s.out), drops
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

func readFlows(t *testing.T, path string) []record.Flow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var flows []record.Flow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var probe struct{ Type string }
		if err := json.Unmarshal(sc.Bytes(), &probe); err != nil {
			t.Fatalf("%s: %v: %s", path, err, sc.Bytes())
		}
		if probe.Type != "flow" {
			continue
		}
		var r record.Flow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v: %s", path, err, sc.Bytes())
		}
		flows = append(flows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return flows
}

// comparable returns the records as JSON lines without the fields that
// depend on when the packets were seen (times, and flow_id, which hashes
// the start time) or on what the sensor saw before (dst.first_seen: other
// files, and across workers whichever flow was classified first), sorted.
func comparable(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, k := range []string{"ts", "start", "end", "duration", "flow_id"} {
			delete(m, k)
		}
		if dst, ok := m["dst"].(map[string]any); ok {
			delete(dst, "first_seen")
		}
		c, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(c))
	}
	sort.Strings(out)
	return out
}

// diffLines reports the lines only in a and only in b.
func diffLines(a, b []string) (onlyA, onlyB []string) {
	count := map[string]int{}
	for _, l := range a {
		count[l]++
	}
	for _, l := range b {
		count[l]--
	}
	for _, l := range a {
		if count[l] > 0 {
			onlyA = append(onlyA, l)
			count[l]--
		}
	}
	for _, l := range b {
		if count[l] < 0 {
			onlyB = append(onlyB, l)
			count[l]++
		}
	}
	return onlyA, onlyB
}

// replayRecords runs `tapdlp replay` on the files and returns the path of
// its records.
func replayRecords(t *testing.T, files ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "replay.jsonl")
	sh(t, tapdlpBinary(t), append([]string{"replay", "-q", "-o", out}, files...)...)
	return out
}

// testdata returns the path of a capture in the repository's testdata.
func testdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "testdata", "pcap", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			t.Fatalf("testdata capture %s missing", name)
		}
		t.Fatal(err)
	}
	return p
}
