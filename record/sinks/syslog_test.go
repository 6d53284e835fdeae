package sinks

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/record"
)

var fixedTime = time.Date(2026, 11, 22, 15, 4, 5, 123456000, time.UTC)

func TestFormatSyslog(t *testing.T) {
	tests := []struct {
		name              string
		facility          int
		host, app, procid string
		rec               string
		sev               record.Severity
		want              string
	}{
		{"critical alert is critical", 16, "s", "tapdlp", "1", `{"type":"alert"}`, record.SevCritical,
			`<130>1 2026-11-22T15:04:05.123456Z s tapdlp 1 alert - {"type":"alert"}`},
		{"high alert is error", 16, "s", "tapdlp", "1", `{"type":"alert"}`, record.SevHigh,
			`<131>1 2026-11-22T15:04:05.123456Z s tapdlp 1 alert - {"type":"alert"}`},
		{"medium alert is warning", 16, "s", "tapdlp", "1", `{"type":"alert"}`, record.SevMedium,
			`<132>1 2026-11-22T15:04:05.123456Z s tapdlp 1 alert - {"type":"alert"}`},
		{"low alert is notice", 3, "s", "tapdlp", "1", `{"type":"alert"}`, record.SevLow,
			`<29>1 2026-11-22T15:04:05.123456Z s tapdlp 1 alert - {"type":"alert"}`},
		{"flow stays info whatever the severity", 16, "s", "tapdlp", "1", `{"type":"flow"}`, record.SevCritical,
			`<134>1 2026-11-22T15:04:05.123456Z s tapdlp 1 flow - {"type":"flow"}`},
		{"flow info local0", 16, "sensor1", "tapdlp", "42", `{"type":"flow","a":1}`, 0,
			`<134>1 2026-11-22T15:04:05.123456Z sensor1 tapdlp 42 flow - {"type":"flow","a":1}`},
		{"alert of unknown severity is warning", 16, "sensor1", "tapdlp", "42", `{"type":"alert"}`, 0,
			`<132>1 2026-11-22T15:04:05.123456Z sensor1 tapdlp 42 alert - {"type":"alert"}`},
		{"daemon facility volume", 3, "h", "tapdlp", "1", `{"type":"volume"}`, 0,
			`<30>1 2026-11-22T15:04:05.123456Z h tapdlp 1 volume - {"type":"volume"}`},
		{"nil values", 16, "", "tapdlp", "", `{"type":"flow"}`, 0,
			`<134>1 2026-11-22T15:04:05.123456Z - tapdlp - flow - {"type":"flow"}`},
		{"no type: NILVALUE msgid", 16, "h", "tapdlp", "1", `{"x":1}`, 0,
			`<134>1 2026-11-22T15:04:05.123456Z h tapdlp 1 - - {"x":1}`},
		{"hostile header values sanitized", 16, "a b\nc", "tap dlp", "1", `{"type":"flow"}`, 0,
			`<134>1 2026-11-22T15:04:05.123456Z a_b_c tap_dlp 1 flow - {"type":"flow"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := enc([]byte(tt.rec))
			got := string(formatSyslog(nil, tt.facility, fixedTime, tt.host, tt.app, tt.procid, e.Kind, tt.sev, e.JSON))
			if got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestOctetCounting(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"abc", "3 abc"},
		{"", "0 "},
		{"héllo", "6 héllo"}, // octets, not characters
		{strings.Repeat("a", 1000), "1000 " + strings.Repeat("a", 1000)},
	}
	for _, tt := range tests {
		if got := string(appendOctetCounted(nil, []byte(tt.msg))); got != tt.want {
			t.Errorf("appendOctetCounted(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
	// Round trip through the receiver's parser.
	var b []byte
	for _, m := range []string{"a", "bb b", "ccc\nc"} {
		b = appendOctetCounted(b, []byte(m))
	}
	r := bufio.NewReader(strings.NewReader(string(b)))
	for _, want := range []string{"a", "bb b", "ccc\nc"} {
		got, err := readOctetFrame(r)
		if err != nil || got != want {
			t.Fatalf("frame %q, %v; want %q", got, err, want)
		}
	}
}

// readOctetFrame parses one RFC 6587 octet-counted frame.
func readOctetFrame(r *bufio.Reader) (string, error) {
	ls, err := r.ReadString(' ')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(ls, " "))
	if err != nil || n < 0 || n > 1<<24 {
		return "", fmt.Errorf("bad frame length %q", ls)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// receiver is an in-test syslog server (TCP, TLS or UDP) that records the
// MSG part of each message.
type receiver struct {
	t       *testing.T
	network string
	addr    string
	tls     *tls.Config
	mu      sync.Mutex
	msgs    []string
	headers []string
	ln      net.Listener
	pc      net.PacketConn
	conns   []net.Conn
	wg      sync.WaitGroup
}

func newReceiver(t *testing.T, network string, tc *tls.Config) *receiver {
	r := &receiver{t: t, network: network, addr: "127.0.0.1:0", tls: tc}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *receiver) add(m string) {
	hdr, msg, ok := strings.Cut(m, " - ")
	if !ok {
		r.t.Errorf("message without NILVALUE structured data: %q", m)
		return
	}
	r.mu.Lock()
	r.msgs = append(r.msgs, msg)
	r.headers = append(r.headers, hdr)
	r.mu.Unlock()
}

func (r *receiver) start() {
	var err error
	if r.network == "udp" {
		r.pc, err = net.ListenPacket("udp", r.addr)
		if err != nil {
			r.t.Fatal(err)
		}
		r.addr = r.pc.LocalAddr().String()
		r.wg.Go(func() {
			buf := make([]byte, 65536)
			for {
				n, _, err := r.pc.ReadFrom(buf)
				if err != nil {
					return
				}
				r.add(string(buf[:n]))
			}
		})
		return
	}
	for i := 0; ; i++ {
		r.ln, err = net.Listen("tcp", r.addr)
		if err == nil || i > 50 {
			break
		}
		time.Sleep(20 * time.Millisecond) // the port of a stopped receiver
	}
	if err != nil {
		r.t.Fatal(err)
	}
	if r.tls != nil {
		r.ln = tls.NewListener(r.ln, r.tls)
	}
	r.addr = r.ln.Addr().String()
	ln := r.ln
	r.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.mu.Unlock()
			r.wg.Go(func() {
				br := bufio.NewReader(c)
				for {
					m, err := readOctetFrame(br)
					if err != nil {
						return
					}
					r.add(m)
				}
			})
		}
	})
}

func (r *receiver) stop() {
	if r.pc != nil {
		_ = r.pc.Close()
	}
	if r.ln != nil {
		_ = r.ln.Close()
	}
	r.mu.Lock()
	for _, c := range r.conns {
		_ = c.Close()
	}
	r.conns = nil
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *receiver) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

func (r *receiver) waitFor(n int, d time.Duration) []string {
	r.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if g := r.got(); len(g) >= n {
			return g
		}
		time.Sleep(5 * time.Millisecond)
	}
	g := r.got()
	r.t.Fatalf("receiver got %d messages, want %d", len(g), n)
	return nil
}

// selfSigned returns a server TLS config for 127.0.0.1 and the CA file a
// client needs to trust it.
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tapdlp test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, ca
}

func syslogOutput(name, network, addr string, q QueueConfig) OutputConfig {
	return OutputConfig{Name: name, Type: "syslog", Types: []string{"flow", "alert"},
		Syslog: SyslogConfig{Network: network, Address: addr, Hostname: "sensor1"}, Queue: q}
}

func testEnv() buildEnv {
	return buildEnv{stdout: io.Discard, now: func() time.Time { return fixedTime }, hostname: "h"}
}

func TestSyslogTransports(t *testing.T) {
	srvTLS, caFile := selfSigned(t)
	tests := []struct {
		network string
		srvTLS  *tls.Config
		tls     TLSConfig
	}{
		{"tcp", nil, TLSConfig{}},
		{"tls", srvTLS, TLSConfig{CAFile: caFile}},
		{"udp", nil, TLSConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.network, func(t *testing.T) {
			rcv := newReceiver(t, tt.network, tt.srvTLS)
			o := syslogOutput("siem", tt.network, rcv.addr, QueueConfig{})
			o.Syslog.TLS = tt.tls
			r, err := build(OutputsConfig{StateDir: t.TempDir(), Sinks: []OutputConfig{o}}, testEnv())
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := range 50 {
				rec := recN(i)
				if i%10 == 0 {
					rec = fmt.Appendf(nil, `{"type":"alert","n":%d}`, i)
				}
				want = append(want, string(rec))
				if err := r.Write(enc(rec)); err != nil {
					t.Fatal(err)
				}
				if tt.network == "udp" {
					time.Sleep(time.Millisecond) // no flow control on loopback UDP
				}
			}
			got := rcv.waitFor(len(want), 10*time.Second)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("message %d: %q, want %q", i, got[i], want[i])
				}
			}
			rcv.mu.Lock()
			h := rcv.headers[0]
			rcv.mu.Unlock()
			if wantH := fmt.Sprintf("<132>1 2026-11-22T15:04:05.123456Z sensor1 tapdlp %d alert", os.Getpid()); h != wantH {
				t.Fatalf("header %q, want %q", h, wantH)
			}
			if s := r.Stats("siem"); s.Written.Load() != 50 {
				t.Fatalf("written %d", s.Written.Load())
			}
		})
	}
}

func TestSyslogTLSRejectsUntrustedServer(t *testing.T) {
	srvTLS, _ := selfSigned(t)
	_, otherCA := selfSigned(t)
	rcv := newReceiver(t, "tcp", srvTLS)
	o := syslogOutput("siem", "tls", rcv.addr, QueueConfig{ShutdownTimeout: config.Duration(200 * time.Millisecond)})
	o.Syslog.TLS = TLSConfig{CAFile: otherCA}
	r, err := build(OutputsConfig{StateDir: t.TempDir(), Sinks: []OutputConfig{o}}, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Write(enc(recN(1)))
	time.Sleep(300 * time.Millisecond)
	_ = r.Close()
	s := r.Stats("siem")
	if s.Written.Load() != 0 || s.Failed.Load() == 0 || len(rcv.got()) != 0 {
		t.Fatalf("written %d failed %d received %d: an untrusted server got data", s.Written.Load(), s.Failed.Load(), len(rcv.got()))
	}
	if s.Spooled.Load() != 1 {
		t.Fatalf("spooled %d, want the undelivered record kept", s.Spooled.Load())
	}
}

func TestSyslogUDPDropsOversize(t *testing.T) {
	rcv := newReceiver(t, "udp", nil)
	o := syslogOutput("siem", "udp", rcv.addr, QueueConfig{})
	o.Syslog.MaxMessageSize = 1000
	r, err := build(OutputsConfig{StateDir: t.TempDir(), Sinks: []OutputConfig{o}}, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	big := fmt.Appendf(nil, `{"type":"flow","pad":%q}`, strings.Repeat("x", 1000))
	if err := r.Write(enc(big)); err == nil {
		t.Fatal("oversize record accepted for UDP")
	}
	_ = r.Write(enc(recN(1)))
	got := rcv.waitFor(1, 5*time.Second)
	_ = r.Close()
	if got[0] != string(recN(1)) || r.Stats("siem").Dropped(DropTooLarge) != 1 {
		t.Fatalf("got %q, too_large %d", got, r.Stats("siem").Dropped(DropTooLarge))
	}
}

// BenchmarkSyslogTCP measures end-to-end delivery, acknowledgement wait
// included, to a local receiver.
func BenchmarkSyslogTCP(b *testing.B) {
	t := &testing.T{}
	rcv := newReceiver(t, "tcp", nil)
	defer rcv.stop()
	r, err := build(OutputsConfig{StateDir: b.TempDir(), Sinks: []OutputConfig{syslogOutput("siem", "tcp", rcv.addr, QueueConfig{})}}, testEnv())
	if err != nil {
		b.Fatal(err)
	}
	rec := kafkaRec("flow", 1)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		_ = r.Write(enc(rec))
		n++
	}
	s := r.Stats("siem")
	dropped := func() uint64 { return s.Dropped(DropQueueFull) + s.Dropped(DropSpoolFull) }
	for deadline := time.Now().Add(time.Minute); s.Written.Load()+dropped() < uint64(n) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	_ = r.Close()
	b.ReportMetric(float64(dropped()), "dropped")
	b.ReportMetric(float64(s.Spooled.Load()), "spooled")
}
