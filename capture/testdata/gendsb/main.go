// Command gendsb writes the TLS capture and key log behind
// capture/testdata/editcap_dsb.pcapng (see testdata/README.md): a TLS 1.3
// HTTP/1.1 exchange between Go's crypto/tls client and server, with the
// client's NSS key log. Run from the repository root:
//
//	go run ./capture/testdata/gendsb /tmp/tls.pcap capture/testdata/editcap_dsb.keylog
//	editcap --inject-secrets tls,capture/testdata/editcap_dsb.keylog /tmp/tls.pcap capture/testdata/editcap_dsb.pcapng
//
// The key log is not deterministic (fresh randoms and keys each run).
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

type chunk struct {
	fromClient bool
	data       []byte
}

type recorder struct {
	mu     sync.Mutex
	chunks []chunk
}

type recConn struct {
	net.Conn
	r          *recorder
	fromClient bool
}

func (c recConn) Write(p []byte) (int, error) {
	c.r.mu.Lock()
	c.r.chunks = append(c.r.chunks, chunk{c.fromClient, bytes.Clone(p)})
	c.r.mu.Unlock()
	return c.Conn.Write(p)
}

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: gendsb OUT.pcap OUT.keylog")
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dsb.example"},
		DNSNames: []string{"dsb.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	pool := x509.NewCertPool()
	c0, _ := x509.ParseCertificate(der)
	pool.AddCert(c0)
	var keylog bytes.Buffer
	rec := &recorder{}
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv := tls.Server(recConn{b, rec, false}, &tls.Config{Certificates: []tls.Certificate{cert}})
		buf := make([]byte, 4096)
		n, _ := srv.Read(buf)
		_ = n
		srv.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		srv.Close()
	}()
	cli := tls.Client(recConn{a, rec, true}, &tls.Config{ServerName: "dsb.example", RootCAs: pool, KeyLogWriter: &keylog, NextProtos: []string{"http/1.1"}})
	if _, err := cli.Write([]byte("POST /upload HTTP/1.1\r\nHost: dsb.example\r\nContent-Length: 16\r\n\r\n4111111111111111")); err != nil {
		log.Fatal(err)
	}
	io.ReadAll(cli)
	cli.Close()
	<-done

	conn := pcapgen.NewTCPConn(netip.MustParseAddrPort("192.0.2.10:50000"), netip.MustParseAddrPort("198.51.100.20:443"), 1000, 5000)
	segs := conn.Handshake()
	for _, c := range rec.chunks {
		segs = append(segs, conn.Send(c.fromClient, c.data)...)
	}
	segs = append(segs, conn.Close(true)...)
	var out bytes.Buffer
	w, err := pcapgen.NewWriter(&out, pcapgen.LinkEthernet)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range conn.Packets(segs) {
		if err := w.WriteFrame(pcapgen.EthernetIP(p)); err != nil {
			log.Fatal(err)
		}
	}
	w.Flush()
	if err := os.WriteFile(os.Args[1], out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(os.Args[2], keylog.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
