package capture

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/internal/tapconn"
)

// updateDSB is its own flag: the fixture changes on every regeneration (fresh
// keys), so -update for the golden files must not rewrite it.
var updateDSB = flag.Bool("update-dsb", false, "regenerate testdata/editcap_dsb.{pcapng,keylog} (needs editcap)")

// writeDSBFixture regenerates the pcapng with an embedded key log that
// TestEditcapSecrets (and the decryption tests of pipeline and cmd) read: a
// TLS 1.3 HTTP/1.1 POST carrying a test card between Go's crypto/tls client
// and server, the client's NSS key log injected by Wireshark's editcap.
// Keys and randoms differ on every run, so the files are committed and
// only rewritten with -update.
func writeDSBFixture(t *testing.T) {
	t.Helper()
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Fatal("-update needs editcap (apt-get install wireshark-common)")
	}
	cert, pool := selfSigned(t, "dsb.example")
	var keylog bytes.Buffer
	var rec tapconn.Recorder
	a, b := net.Pipe()
	done := make(chan error, 1)
	go func() {
		srv := tls.Server(b, &tls.Config{Certificates: []tls.Certificate{cert}})
		buf := make([]byte, 4096)
		if _, err := srv.Read(buf); err != nil {
			done <- err
			return
		}
		_, err := srv.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		srv.Close()
		done <- err
	}()
	cli := tls.Client(rec.Wrap(a), &tls.Config{ServerName: "dsb.example", RootCAs: pool, KeyLogWriter: &keylog,
		NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS13})
	if _, err := cli.Write([]byte("POST /upload HTTP/1.1\r\nHost: dsb.example\r\nContent-Length: 16\r\n\r\n4111111111111111")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(cli); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "tls.pcap")
	if err := tapconn.WritePcap(tmp, rec.Conns(), 443, 1460); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join("testdata", "editcap_dsb.keylog")
	if err := os.WriteFile(keys, keylog.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(editcap, "--inject-secrets", "tls,"+keys, tmp, filepath.Join("testdata", "editcap_dsb.pcapng")).CombinedOutput()
	if err != nil {
		t.Fatalf("editcap: %v: %s", err, out)
	}
}

// selfSigned returns a certificate for name and a pool that trusts it.
func selfSigned(t *testing.T, name string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
