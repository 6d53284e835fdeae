package tlsdecrypt

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tsharkCheck decrypts the capture with tshark, once with the key log file
// and once from a pcapng whose secrets editcap injected, and compares the
// requests tshark sees (method, host, path, body length) with what the
// server received.
func tsharkCheck(t *testing.T, tc exchangeCase, pcap string, keylog []byte, seen []seenReq) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	dir := filepath.Dir(pcap)
	kl := filepath.Join(dir, "keys.log")
	if err := os.WriteFile(kl, keylog, 0o600); err != nil {
		t.Fatal(err)
	}
	want := make([]string, len(seen))
	for i, s := range seen {
		want[i] = strings.Join([]string{s.method, s.host, s.path, strconv.Itoa(len(s.body))}, " ")
	}
	run := func(file string, extra ...string) []string {
		args := append([]string{"-r", file, "-2"}, extra...)
		if tc.h2 {
			args = append(args, "-Y", "http2.headers.method", "-T", "fields", "-E", "separator= ",
				"-e", "http2.headers.method", "-e", "http2.headers.authority", "-e", "http2.headers.path", "-e", "http2.headers.content_length")
		} else {
			args = append(args, "-Y", "http.request", "-T", "fields", "-E", "separator= ",
				"-e", "http.request.method", "-e", "http.host", "-e", "http.request.uri", "-e", "http.content_length")
		}
		out, err := exec.Command("tshark", args...).Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", " | "))
	}
	join := func(f []string) string { return strings.Join(f, " ") }
	wantS := strings.Join(want, " | ")
	got := join(run(pcap, "-o", "tls.keylog_file:"+kl))
	t.Logf("tshark: %s", got)
	if got != wantS {
		t.Errorf("tshark with key log: %q, want %q", got, wantS)
	}
	ng := filepath.Join(dir, "x.pcapng")
	if out, err := exec.Command("editcap", "--inject-secrets", "tls,"+kl, pcap, ng).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v: %s", err, out)
	}
	if got := join(run(ng)); got != wantS {
		t.Errorf("tshark with injected secrets: %q, want %q", got, wantS)
	}
}
