package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// The test binary plays the server and the client inside the namespaces:
// TestMain runs the role named by roleEnv instead of the tests.
const (
	roleEnv   = "TAPDLP_E2E_ROLE"
	serverEnv = "TAPDLP_E2E_SERVER" // the server's address, for the client
)

// Names the client uses: in the destination catalog, so records can be
// checked for names and categories.
const (
	nameHTTP   = "api.openai.com"    // POST with a card number and an e-mail address
	nameUpload = "s3.amazonaws.com"  // the long upload
	nameTLS    = "api.anthropic.com" // SNI of the HTTPS request
	testCard   = "4111111111111111"
	testEmail  = "alice.liddell@example.com"
	uploadSize = 6 << 20
)

// conversation is what the client reports for one connection or query:
// the application bytes it sent and received (TCP or UDP payload).
type conversation struct {
	Kind string `json:"kind"` // dns, http, https
	Name string `json:"name"`
	Port int    `json:"port"` // client's local port
	Sent int64  `json:"sent"`
	Recv int64  `json:"recv"`
}

func runRole(role string) int {
	var err error
	switch role {
	case "server":
		err = serve()
	case "client":
		err = client(os.Getenv(serverEnv), os.Stdout)
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e", role+":", err)
		return 1
	}
	return 0
}

// serve runs HTTP on :80, HTTPS on :443 (self-signed) and a DNS responder
// on :53 that answers every A query with the server's address, until
// killed. It prints "ready" once all three listen.
func serve() error {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "received %d bytes\n", n)
	})
	cert, err := selfSigned(nameTLS)
	if err != nil {
		return err
	}
	l80, err := net.Listen("tcp", ":80")
	if err != nil {
		return err
	}
	l443, err := tls.Listen("tcp", ":443", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return err
	}
	udp, err := net.ListenPacket("udp", ":53")
	if err != nil {
		return err
	}
	errc := make(chan error, 3)
	go func() { errc <- http.Serve(l80, handler) }()
	go func() { errc <- http.Serve(l443, handler) }()
	ip := net.ParseIP(os.Getenv(serverEnv)).To4()
	if ip == nil {
		return fmt.Errorf("%s: %q is not an IPv4 address", serverEnv, os.Getenv(serverEnv))
	}
	go func() { errc <- serveDNS(udp, ip) }()
	fmt.Println("ready")
	return <-errc
}

func serveDNS(c net.PacketConn, ip net.IP) error {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		var q dnsmessage.Message
		if q.Unpack(buf[:n]) != nil || len(q.Questions) != 1 {
			continue
		}
		resp := dnsmessage.Message{
			Header:    dnsmessage.Header{ID: q.ID, Response: true, Authoritative: true},
			Questions: q.Questions,
			Answers: []dnsmessage.Resource{{
				Header: dnsmessage.ResourceHeader{Name: q.Questions[0].Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
				Body:   &dnsmessage.AResource{A: [4]byte(ip)},
			}},
		}
		out, err := resp.Pack()
		if err != nil {
			return err
		}
		if _, err := c.WriteTo(out, from); err != nil {
			return err
		}
	}
}

func selfSigned(name string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// countingConn counts the payload bytes of one connection. The transport
// reads, writes and closes it from its own goroutines; a count is only
// final once no Read or Write is in progress (a writer can be descheduled
// between its bytes reaching the wire and its count), which the mutexes
// held across each call guarantee to counts().
type countingConn struct {
	net.Conn
	rmu, wmu   sync.Mutex
	sent, recv int64
	closeOnce  sync.Once
	closed     chan struct{}
}

func (c *countingConn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	n, err := c.Conn.Read(b)
	c.recv += int64(n)
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n, err := c.Conn.Write(b)
	c.sent += int64(n)
	return n, err
}

func (c *countingConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { close(c.closed) })
	return err
}

// counts returns the bytes sent and received, waiting for calls in
// progress.
func (c *countingConn) counts() (sent, recv int64) {
	c.wmu.Lock()
	sent = c.sent
	c.wmu.Unlock()
	c.rmu.Lock()
	recv = c.recv
	c.rmu.Unlock()
	return sent, recv
}

// client performs the DNS queries and HTTP(S) requests, one connection per
// request, and writes one conversation per line to out.
func client(server string, out io.Writer) error {
	if server == "" {
		return fmt.Errorf("%s not set", serverEnv)
	}
	enc := json.NewEncoder(out)
	for _, name := range []string{nameHTTP, nameUpload, nameTLS} {
		c, err := query(server, name)
		if err != nil {
			return err
		}
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	var mu sync.Mutex
	var conns []*countingConn
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cc := &countingConn{Conn: c, closed: make(chan struct{})}
		mu.Lock()
		conns = append(conns, cc)
		mu.Unlock()
		return cc, nil
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:       dial,
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{ServerName: nameTLS, InsecureSkipVerify: true}, // self-signed test server
	}}
	form := "card=" + testCard + "&email=" + testEmail + "&note=quarterly+numbers"
	upload := bytes.Repeat([]byte("lorem ipsum dolor sit amet, consectetur adipiscing elit. "), uploadSize/57+1)[:uploadSize]
	reqs := []struct {
		kind, name, method, url, ctype string
		body                           []byte
	}{
		{"http", nameHTTP, "POST", "http://" + server + "/v1/submit", "application/x-www-form-urlencoded", []byte(form)},
		{"http", nameUpload, "PUT", "http://" + server + "/bucket/export.bin", "application/octet-stream", upload},
		{"https", nameTLS, "POST", "https://" + server + "/v1/messages", "application/json", []byte(`{"contact":"` + testEmail + `"}`)},
	}
	for _, rq := range reqs {
		req, err := http.NewRequest(rq.method, rq.url, bytes.NewReader(rq.body))
		if err != nil {
			return err
		}
		req.Host = rq.name
		req.Header.Set("Content-Type", rq.ctype)
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", rq.method, rq.url, err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s: %s", rq.method, rq.url, resp.Status)
		}
		mu.Lock()
		cc := conns[len(conns)-1]
		mu.Unlock()
		// Without keep-alive the transport closes the connection once the
		// body is read (a TLS close_notify is written first): then the
		// counts are final.
		select {
		case <-cc.closed:
		case <-time.After(5 * time.Second):
			return fmt.Errorf("%s %s: connection not closed after the response", rq.method, rq.url)
		}
		port := cc.LocalAddr().(*net.TCPAddr).Port
		sent, recv := cc.counts()
		if err := enc.Encode(conversation{Kind: rq.kind, Name: rq.name, Port: port, Sent: sent, Recv: recv}); err != nil {
			return err
		}
	}
	return nil
}

func query(server, name string) (conversation, error) {
	c, err := net.Dial("udp", net.JoinHostPort(server, "53"))
	if err != nil {
		return conversation{}, err
	}
	defer c.Close()
	q := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 0x7a70, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name + "."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
	}
	b, err := q.Pack()
	if err != nil {
		return conversation{}, err
	}
	if _, err := c.Write(b); err != nil {
		return conversation{}, err
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp := make([]byte, 1500)
	n, err := c.Read(resp)
	if err != nil {
		return conversation{}, fmt.Errorf("dns %s: %w", name, err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(resp[:n]); err != nil || len(m.Answers) == 0 {
		return conversation{}, fmt.Errorf("dns %s: bad answer", name)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	return conversation{Kind: "dns", Name: strings.TrimSuffix(name, "."), Port: port, Sent: int64(len(b)), Recv: int64(n)}, nil
}
