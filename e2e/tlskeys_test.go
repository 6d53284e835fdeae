package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

// TestLiveTLSKeyLog runs `tapdlp run` with tls.keylog_files on a veth pair:
// a crypto/tls client in the host namespace posts a test card over HTTPS
// to the server role in a namespace, its KeyLogWriter feeding the key log
// the configuration names. The flow whose key is in the file as it runs,
// and the one whose key is appended only after its ciphertext was captured
// (the follower picks it up and the buffered ciphertext is decrypted), are
// decrypted and their card found; the one whose key never comes says
// no_key; the decryption counters on /metrics moved accordingly.
func TestLiveTLSKeyLog(t *testing.T) {
	requireNetns(t)
	requireVeth(t)
	id := uniq()
	ns, hostV, nsV := "tdtk"+id, "tdkh"+id, "tdkn"+id
	const hostIP, nsIP = "10.97.0.1", "10.97.0.2"
	addNetns(t, ns)
	addVeth(t, hostV, nsV, 1500)
	sh(t, "ip", "link", "set", nsV, "netns", ns)
	noIPv6(t, ns, nsV)
	noOffloads(t, ns, nsV)
	sh(t, "ip", "-n", ns, "addr", "add", nsIP+"/24", "dev", nsV)
	sh(t, "ip", "-n", ns, "link", "set", nsV, "up")
	sh(t, "ip", "-n", ns, "link", "set", "lo", "up")
	sh(t, "ip", "addr", "add", hostIP+"/24", "dev", hostV)
	linkUp(t, hostV)

	dir := t.TempDir()
	keylog := filepath.Join(dir, "sslkeys.log")
	if err := os.WriteFile(keylog, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(dir, "tapdlp.yaml")
	conf := fmt.Sprintf("capture: {interfaces: [%s], status_interval: 0s}\nmetrics: {listen: %q}\ntls: {keylog_files: [%q]}\nflows: {tcp_closed_timeout: 1s}\n",
		hostV, metricsAddr, keylog)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSensor(t, "-c", cfg)

	startServerRole(t, ns, nsIP)

	scrape := func() string {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			t.Fatalf("scrape: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	appendKeys := func(b []byte) {
		f, err := os.OpenFile(keylog, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	before := scrape()

	// The key is in the file as the handshake happens.
	live, err := os.OpenFile(keylog, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	portNow := httpsPost(t, nsIP, live, "/v1/now", nil)
	// Its record written, nothing waits for a key any more.
	waitMetric(t, scrape, "tapdlp_tls_flows_decrypted_total", func(v float64) bool { return v >= 1 })
	waitMetric(t, scrape, "tapdlp_tls_pending_bytes", func(v float64) bool { return v == 0 })

	// The key reaches the file only once the flow's ciphertext was
	// captured and is waiting for it; the connection stays open meanwhile.
	var later bytes.Buffer
	portLater := httpsPost(t, nsIP, &later, "/v1/later", func() {
		waitMetric(t, scrape, "tapdlp_tls_pending_bytes", func(v float64) bool { return v > 0 })
		if later.Len() == 0 {
			t.Fatal("the client wrote no key log")
		}
		appendKeys(later.Bytes())
		// The follower has read it (four TLS 1.3 traffic secrets per
		// connection) before the connection ends.
		waitMetric(t, scrape, "tapdlp_tls_keylog_secrets_total", func(v float64) bool { return v >= 8 })
	})

	// The key never comes.
	portNever := httpsPost(t, nsIP, io.Discard, "/v1/never", nil)

	waitMetric(t, scrape, "tapdlp_tls_flows_decrypted_total", func(v float64) bool { return v >= 2 })
	waitMetric(t, scrape, `tapdlp_tls_flows_not_decrypted_total{reason="no_key"}`, func(v float64) bool { return v >= 1 })
	after := scrape()
	flows, _ := s.stop(t)
	raw, err := os.ReadFile(s.out)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(testCard)) || bytes.Contains(raw, []byte(tlsCardSpaced)) {
		t.Error("records contain the raw card")
	}
	keys, _ := os.ReadFile(keylog)
	logText, _ := os.ReadFile(s.errLog)
	n := 0
	for _, line := range strings.Split(string(keys), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n++
		for _, out := range [][]byte{raw, []byte(after), logText} {
			if bytes.Contains(bytes.ToLower(out), []byte(strings.ToLower(f[2][:16]))) {
				t.Errorf("key material (%s) in the records, metrics or log", f[0])
			}
		}
	}
	if n < 8 {
		t.Errorf("the key log has %d lines: the leak check did not run", n)
	}

	byPort := func(port int) *record.Flow {
		for i := range flows {
			if int(flows[i].Src.Port) == port && flows[i].Dst.Port == 443 {
				return &flows[i]
			}
		}
		t.Fatalf("no record of the connection from port %d", port)
		return nil
	}
	for _, c := range []struct {
		name string
		port int
		uri  string
	}{{"key in the file from the start", portNow, "/v1/now"}, {"key appended after the ciphertext", portLater, "/v1/later"}} {
		t.Run(c.name, func(t *testing.T) {
			f := byPort(c.port)
			if f.TLS == nil || !f.TLS.Decrypted || f.TLS.DecryptReason != "" {
				t.Fatalf("not decrypted: tls %+v", f.TLS)
			}
			if f.TLS.SNI != nameTLS {
				t.Errorf("sni %q", f.TLS.SNI)
			}
			if f.HTTP == nil || f.HTTP.Method != "POST" || f.HTTP.Host != nameTLS || f.HTTP.URI != c.uri || f.HTTP.Status != 200 {
				t.Errorf("http %+v, want POST %s%s 200", f.HTTP, nameTLS, c.uri)
			}
			if f.Inspected != nil && f.Inspected.Encrypted {
				t.Error("a decrypted flow says encrypted")
			}
			checkMaskedCard(t, f)
		})
	}
	t.Run("no key", func(t *testing.T) {
		f := byPort(portNever)
		if f.TLS == nil || f.TLS.Decrypted || f.TLS.DecryptReason != "no_key" {
			t.Fatalf("tls %+v, want decrypt_reason no_key", f.TLS)
		}
		if len(f.Sensitive) != 0 || f.HTTP != nil || f.Inspected == nil || !f.Inspected.Encrypted {
			t.Errorf("an undecrypted flow has plaintext facts: http %+v, sensitive %+v, inspected %+v", f.HTTP, f.Sensitive, f.Inspected)
		}
	})

	for _, m := range []struct {
		name string
		min  float64
	}{
		{"tapdlp_tls_flows_decrypted_total", 2},
		{`tapdlp_tls_flows_not_decrypted_total{reason="no_key"}`, 1},
		{"tapdlp_tls_keylog_secrets_total", 8},
		{"tapdlp_tls_keys_held", 2},
	} {
		if d := metricValue(t, after, m.name) - metricValue(t, before, m.name); d < m.min {
			t.Errorf("%s moved by %v, want at least %v", m.name, d, m.min)
		}
	}
	if v := metricValue(t, after, "tapdlp_tls_pending_bytes"); v != 0 {
		t.Errorf("tapdlp_tls_pending_bytes %v after every flow ended", v)
	}
}

// requireVeth skips the test when the kernel cannot make veth pairs (a
// container without the module).
func requireVeth(t *testing.T) {
	t.Helper()
	a, b := "tdvp"+uniq(), "tdvq"+uniq()
	if out, err := exec.Command("ip", "link", "add", a, "type", "veth", "peer", "name", b).CombinedOutput(); err != nil {
		t.Skipf("e2e: veth pairs unavailable: %v: %s", err, bytes.TrimSpace(out))
	}
	_ = exec.Command("ip", "link", "del", a).Run()
}

// tlsCardSpaced is how the client writes the test card in its body.
const tlsCardSpaced = "4111 1111 1111 1111"

// httpsPost posts a card to the server role over TLS (SNI nameTLS), with
// the client's key log going to keylog, and returns the client's port.
// hold, when set, runs after the response was read, before the
// connection is closed.
func httpsPost(t *testing.T, server string, keylog io.Writer, path string, hold func()) int {
	t.Helper()
	raw, err := net.DialTimeout("tcp", net.JoinHostPort(server, "443"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := tls.Client(raw, &tls.Config{ServerName: nameTLS, InsecureSkipVerify: true, KeyLogWriter: keylog,
		NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS13})
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	body := `{"note":"card ` + tlsCardSpaced + ` exp 12/29"}`
	req := "POST " + path + " HTTP/1.1\r\nHost: " + nameTLS + "\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("received %d bytes\n", len(body)); string(b) != want {
		t.Fatalf("server answered %q, want %q", b, want)
	}
	if hold != nil {
		hold()
	}
	return raw.LocalAddr().(*net.TCPAddr).Port
}

// checkMaskedCard checks that the record found the card, in the outgoing
// direction, with masked evidence only.
func checkMaskedCard(t *testing.T, f *record.Flow) {
	t.Helper()
	for _, s := range f.Sensitive {
		if s.Type != "credit_card" {
			continue
		}
		if s.Direction != "out" || len(s.Evidence) == 0 {
			t.Errorf("card finding %+v", s)
		}
		for _, e := range s.Evidence {
			digits := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, e)
			if digits != "1111" || !strings.Contains(e, "*") {
				t.Errorf("evidence %q is not masked to the last four digits", e)
			}
		}
		return
	}
	t.Errorf("no card found: %+v", f.Sensitive)
}

// metricValue returns the value of one series (name with its labels, as
// served) in a scrape; 0 when it is absent.
func metricValue(t *testing.T, scrape, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(scrape)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v
}

// waitMetric scrapes until the series satisfies ok (10 s at most).
func waitMetric(t *testing.T, scrape func() string, series string, ok func(float64) bool) {
	t.Helper()
	var v float64
	for range 200 {
		if v = metricValue(t, scrape(), series); ok(v) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s stayed at %v", series, v)
}
