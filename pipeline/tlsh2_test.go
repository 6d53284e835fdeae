package pipeline

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/http2"
)

// realTLSH2Exchange runs a real HTTP/2 POST over TLS 1.3 (ALPN h2) between
// x/net/http2's client and server, recording the client's bytes both ways
// and the key log.
func realTLSH2Exchange(t testing.TB, host, path, body string) ([]tlsChunk, []byte) {
	t.Helper()
	cc, sc := net.Pipe()
	var mu sync.Mutex
	var chunks []tlsChunk
	var keylog bytes.Buffer
	srv := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{tlsTestCert(t)}, NextProtos: []string{"h2"}})
	got := make(chan string, 1)
	go func() {
		if err := srv.Handshake(); err != nil {
			got <- "handshake: " + err.Error()
			return
		}
		//lint:ignore SA1019 serving one already-handshaken net.Conn is what this test needs; net/http has no such call
		(&http2.Server{}).ServeConn(srv, &http2.ServeConnOpts{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- string(b)
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("ok"))
		})})
	}()
	cl := tls.Client(tlsRecConn{cc, &mu, &chunks}, &tls.Config{ServerName: host, InsecureSkipVerify: true,
		NextProtos: []string{"h2"}, KeyLogWriter: &keylog})
	if err := cl.Handshake(); err != nil {
		t.Fatal(err)
	}
	if p := cl.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN %q, want h2", p)
	}
	//lint:ignore SA1019 a client on one recorded net.Conn, as above
	tr := &http2.Transport{}
	h2c, err := tr.NewClientConn(cl) //lint:ignore SA1019 as above
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(context.Background(), "POST", "https://"+host+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := h2c.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if b := <-got; b != body {
		t.Fatalf("server got %q", b)
	}
	_ = h2c.Close()
	cl.Close()
	mu.Lock()
	defer mu.Unlock()
	return chunks, keylog.Bytes()
}

// Decrypted h2: the plaintext of a TLS flow whose ALPN is h2 goes to the
// HTTP/2 parser, so the request is named by :authority, typed as HTTP/2,
// and its body scanned, exactly as in cleartext h2c.
func TestReplayDecryptsH2(t *testing.T) {
	dir := t.TempDir()
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"card 4111 1111 1111 1111, SSN ` + tlsTestSSN + `"}]}`
	chunks, kl := realTLSH2Exchange(t, "api.openai.com", "/v1/chat/completions", body)
	pcap := filepath.Join(dir, "h2.pcap")
	writeChunksPcap(t, pcap, "10.0.0.5:52000", "203.0.113.80:443", chunks)
	klPath := filepath.Join(dir, "keys.log")
	if err := os.WriteFile(klPath, kl, 0o600); err != nil {
		t.Fatal(err)
	}
	lines, logText := replayWithKeys(t, "", []string{klPath}, pcap)
	flows := flowRecords(lines)
	if len(flows) != 1 {
		t.Fatalf("%d flow records, want 1:\n%s", len(flows), strings.Join(lines, "\n"))
	}
	for _, want := range []string{`"decrypted":true`, `"version":"2"`, `"uri":"/v1/chat/completions"`,
		`"type":"credit_card"`, `"direction":"out"`, `"type":"us_ssn"`, `"name":"api.openai.com"`} {
		if !strings.Contains(flows[0], want) {
			t.Errorf("record lacks %s:\n%s", want, flows[0])
		}
	}
	assertNoKeyMaterial(t, kl, strings.Join(lines, "\n"), logText)
}
