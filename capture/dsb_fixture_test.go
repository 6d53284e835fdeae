package capture

import (
	"bytes"
	"crypto/tls"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

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
	cert, pool, err := tapconn.SelfSigned("dsb.example")
	if err != nil {
		t.Fatal(err)
	}
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
