package tlsdecrypt

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	_ "unsafe" // linkname: force TLS 1.3 suites

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/tapdlp/tapdlp/internal/tapconn"
)

// crypto/tls picks the TLS 1.3 suite itself (AES-128-GCM first when the
// CPU has AES-GCM instructions) and ignores Config.CipherSuites for 1.3.
// These two variables are its preference lists; crypto/tls keeps them
// reachable by linkname on purpose (quic-go sets them the same way, see
// go.dev/issue/67401). Tests that force a suite set both and restore them;
// such tests must not run in parallel.
//
//go:linkname defaultCipherSuitesTLS13 crypto/tls.defaultCipherSuitesTLS13
var defaultCipherSuitesTLS13 []uint16

//go:linkname defaultCipherSuitesTLS13NoAES crypto/tls.defaultCipherSuitesTLS13NoAES
var defaultCipherSuitesTLS13NoAES []uint16

func force13(t *testing.T, id uint16) {
	if id == 0 {
		return
	}
	a, b := defaultCipherSuitesTLS13, defaultCipherSuitesTLS13NoAES
	defaultCipherSuitesTLS13 = []uint16{id}
	defaultCipherSuitesTLS13NoAES = []uint16{id}
	t.Cleanup(func() { defaultCipherSuitesTLS13, defaultCipherSuitesTLS13NoAES = a, b })
}

// Test values: a card number from the issuers' test range and an SSN of
// valid format (not an advertising number, which detectors reject).
const (
	testCard = "4111111111111111"
	testSSN  = "123-45-6789"
)

var (
	certOnce sync.Once
	ecCert   tls.Certificate
	rsaCert  tls.Certificate
	roots    *x509.CertPool
)

func certs(t *testing.T) {
	certOnce.Do(func() {
		roots = x509.NewCertPool()
		mk := func(pub, priv any) tls.Certificate {
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(1),
				Subject:      pkix.Name{CommonName: "api.example.test"},
				DNSNames:     []string{"api.example.test"},
				IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
				NotBefore:    time.Now().Add(-time.Hour),
				NotAfter:     time.Now().Add(time.Hour),
				KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
				ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				IsCA:         true, BasicConstraintsValid: true,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
			if err != nil {
				panic(err)
			}
			c, _ := x509.ParseCertificate(der)
			roots.AddCert(c)
			return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
		}
		ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ecCert = mk(&ek.PublicKey, ek)
		rk, _ := rsa.GenerateKey(rand.Reader, 2048)
		rsaCert = mk(&rk.PublicKey, rk)
	})
}

type chunk struct {
	fromClient bool
	data       []byte
}

// recorder keeps both directions' bytes as the server sees them, in order.
type recorder struct {
	mu     sync.Mutex
	chunks []chunk
	keylog bytes.Buffer
}

func (r *recorder) add(fromClient bool, b []byte) {
	r.mu.Lock()
	r.chunks = append(r.chunks, chunk{fromClient, bytes.Clone(b)})
	r.mu.Unlock()
}

func (r *recorder) Write(b []byte) (int, error) { // the key log
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keylog.Write(b)
}

func (r *recorder) stream(fromClient bool) []byte {
	var b []byte
	for _, c := range r.chunks {
		if c.fromClient == fromClient {
			b = append(b, c.data...)
		}
	}
	return b
}

type recConn struct {
	net.Conn
	r *recorder
}

func (c recConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.r.add(true, b[:n])
	}
	return n, err
}

func (c recConn) Write(b []byte) (int, error) {
	c.r.add(false, b)
	return c.Conn.Write(b)
}

type recListener struct {
	net.Listener
	r *recorder
}

func (l *recListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return recConn{c, l.r}, nil
}

// exchangeCase is one real TLS connection carrying HTTP requests.
type exchangeCase struct {
	name     string
	max      uint16 // tls.VersionTLS12 / 13
	suite12  uint16 // TLS 1.2 suite forced on the client
	suite13  uint16 // TLS 1.3 suite forced (linkname)
	rsa      bool
	h2       bool
	hrr      bool // server curve the client has no key share for
	wantID   uint16
	requests []string // bodies
	calls    []call   // requests to other hosts and paths, before requests
	// proxy, when set, is started in front of the server; the client
	// dials it.
	proxy func(t *testing.T, target string, rec *recorder) net.Listener
}

// call is one request: Host header (empty: the URL's), path and body.
type call struct{ host, path, body string }

type seenReq struct {
	method, host, path string
	body               []byte
}

// runExchange runs a real crypto/tls server and client on loopback and
// returns what was on the wire, the key log and what the server received.
func runExchange(t *testing.T, tc exchangeCase) (*recorder, []seenReq) {
	t.Helper()
	certs(t)
	force13(t, tc.suite13)
	rec := &recorder{}
	var mu sync.Mutex
	var seen []seenReq
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, seenReq{r.Method, r.Host, r.URL.Path, b})
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "received "+strconv.Itoa(len(b))+" bytes")
	}))
	srv.Listener = &recListener{Listener: srv.Listener, r: rec}
	cert := ecCert
	if tc.rsa {
		cert = rsaCert
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, KeyLogWriter: rec, MaxVersion: tc.max}
	if tc.hrr {
		srv.TLS.CurvePreferences = []tls.CurveID{tls.CurveP384}
	}
	srv.EnableHTTP2 = tc.h2
	srv.StartTLS()
	defer srv.Close()

	ccfg := &tls.Config{RootCAs: roots, ServerName: "api.example.test", MaxVersion: tc.max}
	if tc.suite12 != 0 {
		ccfg.CipherSuites = []uint16{tc.suite12}
	}
	tr := &http.Transport{TLSClientConfig: ccfg, ForceAttemptHTTP2: tc.h2, DisableCompression: true}
	if !tc.h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		ccfg.NextProtos = []string{"http/1.1"}
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := "https://api.example.test:" + strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port) + "/v1/chat/completions"
	dialTo := srv.Listener.Addr().String()
	if tc.proxy != nil {
		ln := tc.proxy(t, dialTo, rec)
		defer ln.Close()
		dialTo = ln.Addr().String()
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", dialTo)
	}
	calls := tc.calls
	for _, body := range tc.requests {
		calls = append(calls, call{path: "/v1/chat/completions", body: body})
	}
	for _, c := range calls {
		u := strings.Replace(url, "/v1/chat/completions", c.path, 1)
		req, _ := http.NewRequest("POST", u, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		if c.host != "" {
			req.Host = c.host
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("post: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.TLS.CipherSuite != tc.wantID {
			t.Fatalf("negotiated suite %#04x, want %#04x", resp.TLS.CipherSuite, tc.wantID)
		}
	}
	tr.CloseIdleConnections()
	srv.Close()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	return rec, seen
}

// collector is a Handler keeping each direction's plaintext.
type collector struct{ out [2][]byte }

func (c *collector) Plaintext(fromClient bool, data []byte) {
	d := 0
	if fromClient {
		d = 1
	}
	c.out[d] = append(c.out[d], data...)
}

// decryptChunks feeds chunks, split further at split bytes (0: as is).
func decryptChunks(ks KeySource, chunks []chunk, split int) (*Flow, *collector) {
	col := &collector{}
	f := NewFlow(ks, col, Config{})
	for _, c := range chunks {
		d := c.data
		for len(d) > 0 {
			n := len(d)
			if split > 0 {
				n = min(n, split)
			}
			f.Feed(c.fromClient, d[:n])
			d = d[n:]
		}
	}
	f.Finish()
	return f, col
}

func bodyOf(n int) string {
	// An AI chat request with test values in the prompt, padded to n bytes.
	s := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"my card is ` + testCard + ` and my SSN is ` + testSSN + `"}],"metadata":{"pad":"`
	return s + strings.Repeat("x", max(0, n-3-len(s))) + `"}}`
}

var exchangeCases = []exchangeCase{
	{name: "tls12-ecdsa-aes128gcm-h1", max: tls.VersionTLS12, suite12: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, wantID: 0xc02b},
	{name: "tls12-rsa-aes128gcm-h2", max: tls.VersionTLS12, rsa: true, h2: true, suite12: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, wantID: 0xc02f},
	{name: "tls12-ecdsa-aes256gcm-h2", max: tls.VersionTLS12, h2: true, suite12: tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, wantID: 0xc02c},
	{name: "tls12-rsa-aes256gcm-h1", max: tls.VersionTLS12, rsa: true, suite12: tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, wantID: 0xc030},
	{name: "tls12-ecdsa-chacha-h1", max: tls.VersionTLS12, suite12: tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, wantID: 0xcca9},
	{name: "tls12-rsa-chacha-h2", max: tls.VersionTLS12, rsa: true, h2: true, suite12: tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, wantID: 0xcca8},
	{name: "tls13-aes128gcm-h1", max: tls.VersionTLS13, suite13: tls.TLS_AES_128_GCM_SHA256, wantID: 0x1301},
	{name: "tls13-aes128gcm-h2", max: tls.VersionTLS13, h2: true, suite13: tls.TLS_AES_128_GCM_SHA256, wantID: 0x1301},
	{name: "tls13-aes256gcm-h2", max: tls.VersionTLS13, h2: true, suite13: tls.TLS_AES_256_GCM_SHA384, wantID: 0x1302},
	{name: "tls13-aes256gcm-h1", max: tls.VersionTLS13, suite13: tls.TLS_AES_256_GCM_SHA384, wantID: 0x1302},
	{name: "tls13-chacha-h1", max: tls.VersionTLS13, suite13: tls.TLS_CHACHA20_POLY1305_SHA256, wantID: 0x1303},
	{name: "tls13-chacha-h2-rsa", max: tls.VersionTLS13, rsa: true, h2: true, suite13: tls.TLS_CHACHA20_POLY1305_SHA256, wantID: 0x1303},
	{name: "tls13-hrr-aes128gcm-h2", max: tls.VersionTLS13, h2: true, hrr: true, suite13: tls.TLS_AES_128_GCM_SHA256, wantID: 0x1301},
	{name: "tls12-hrr-is-not-a-thing-p384-h1", max: tls.VersionTLS12, hrr: true, suite12: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, wantID: 0xc02b},
}

func TestRealTLS(t *testing.T) {
	for _, tc := range exchangeCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.requests = []string{bodyOf(300), bodyOf(40000)}
			rec, seen := runExchange(t, tc)
			if len(seen) != len(tc.requests) {
				t.Fatalf("server saw %d requests, want %d", len(seen), len(tc.requests))
			}
			if tc.hrr && tc.max == tls.VersionTLS13 && !bytes.Contains(rec.stream(false), helloRetryRandom[:]) {
				t.Fatal("no HelloRetryRequest on the wire")
			}
			store := NewStore(0)
			if st := store.AddKeyLog(rec.keylog.Bytes()); st.Bad != 0 || st.Secrets == 0 {
				t.Fatalf("key log stats %+v", st)
			}
			for _, split := range []int{0, 1, 7, 1000} {
				f, col := decryptChunks(store, rec.chunks, split)
				checkPlaintext(t, tc, f, col, seen)
			}
			// The same bytes through a pcap written by pcapgen and read back.
			path := filepath.Join(t.TempDir(), "x.pcap")
			writePcap(t, path, rec.chunks, 1460)
			chunks := readPcap(t, path)
			f, col := decryptChunks(store, chunks, 0)
			checkPlaintext(t, tc, f, col, seen)
			if os.Getenv("TAPDLP_SLOW") == "1" {
				tsharkCheck(t, tc, path, rec.keylog.Bytes(), seen)
			}
		})
	}
}

func checkPlaintext(t *testing.T, tc exchangeCase, f *Flow, col *collector, seen []seenReq) {
	t.Helper()
	if f.Reason() != ReasonDecrypted {
		t.Fatalf("reason %v, stats %+v", f.Reason(), f.Stats())
	}
	if f.CipherSuite() != tc.wantID {
		t.Fatalf("suite %#04x", f.CipherSuite())
	}
	wantALPN := "http/1.1"
	if tc.h2 {
		wantALPN = "h2"
	}
	if f.ALPN() != wantALPN {
		t.Fatalf("ALPN %q, want %q", f.ALPN(), wantALPN)
	}
	var got []seenReq
	if tc.h2 {
		got = parseH2(t, col.out[1])
	} else {
		br := bufio.NewReader(bytes.NewReader(col.out[1]))
		for {
			req, err := http.ReadRequest(br)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("plaintext is not HTTP/1: %v", err)
			}
			b, _ := io.ReadAll(req.Body)
			got = append(got, seenReq{req.Method, req.Host, req.URL.Path, b})
		}
	}
	if len(got) != len(seen) {
		t.Fatalf("decrypted %d requests, server saw %d", len(got), len(seen))
	}
	for i := range got {
		if got[i].method != seen[i].method || got[i].path != seen[i].path || got[i].host != seen[i].host || !bytes.Equal(got[i].body, seen[i].body) {
			t.Fatalf("request %d: decrypted %s %s %s (%d bytes), server saw %s %s %s (%d bytes)", i,
				got[i].method, got[i].host, got[i].path, len(got[i].body), seen[i].method, seen[i].host, seen[i].path, len(seen[i].body))
		}
	}
	for _, s := range seen {
		if !bytes.Contains(col.out[0], []byte("received "+strconv.Itoa(len(s.body))+" bytes")) {
			t.Fatalf("response for %d bytes not in server plaintext", len(s.body))
		}
	}
}

// parseH2 reads the client side of an HTTP/2 connection.
func parseH2(t *testing.T, b []byte) []seenReq {
	t.Helper()
	const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	if !bytes.HasPrefix(b, []byte(preface)) {
		t.Fatalf("no HTTP/2 preface in client plaintext")
	}
	fr := http2.NewFramer(nil, bytes.NewReader(b[len(preface):]))
	fr.ReadMetaHeaders = hpack.NewDecoder(65536, nil)
	fr.MaxHeaderListSize = 1 << 20
	streams := map[uint32]*seenReq{}
	var order []uint32
	for {
		fm, err := fr.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("h2 frame: %v", err)
		}
		switch fm := fm.(type) {
		case *http2.MetaHeadersFrame:
			r := &seenReq{method: fm.PseudoValue("method"), host: fm.PseudoValue("authority"), path: fm.PseudoValue("path")}
			streams[fm.StreamID] = r
			order = append(order, fm.StreamID)
		case *http2.DataFrame:
			if r := streams[fm.StreamID]; r != nil {
				r.body = append(r.body, fm.Data()...)
			}
		}
	}
	var out []seenReq
	for _, id := range order {
		r := *streams[id]
		if r.body == nil {
			r.body = []byte{}
		}
		out = append(out, r)
	}
	return out
}

var (
	cliAddr = netip.MustParseAddrPort("10.0.0.5:51000")
	srvAddr = netip.MustParseAddrPort("10.0.0.80:443")
)

func writePcap(t *testing.T, path string, chunks []chunk, mss int) {
	t.Helper()
	cs := make([]tapconn.Chunk, len(chunks))
	for i, ch := range chunks {
		cs[i] = tapconn.Chunk{FromClient: ch.fromClient, Data: ch.data}
	}
	if err := tapconn.WriteConn(path, cliAddr, srvAddr, cs, mss); err != nil {
		t.Fatal(err)
	}
}

// readPcap returns the TCP payloads of an in-order capture of one
// connection (what pcapgen wrote: no loss, no reordering).
func readPcap(t *testing.T, path string) []chunk {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := pcapgo.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	var out []chunk
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || len(tcp.Payload) == 0 {
			continue
		}
		out = append(out, chunk{fromClient: uint16(tcp.DstPort) == srvAddr.Port(), data: tcp.Payload})
	}
	return out
}
