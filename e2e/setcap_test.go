package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunUnprivilegedWithFileCapabilities runs the static binary the way
// the packaging does: as an unprivileged user (nobody) holding
// CAP_NET_RAW only (the packaging drops CAP_NET_ADMIN) through file capabilities (setcap). It must
// capture real traffic; the same binary without the capabilities must fail
// to open its socket — so the capability, not some leftover privilege, is
// what makes it work.
func TestRunUnprivilegedWithFileCapabilities(t *testing.T) {
	requireNetns(t)
	for _, tool := range []string{"setcap", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install -y libcap2-bin util-linux)", tool)
		}
	}
	dir, err := os.MkdirTemp("", "tapdlp-setcap-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	bin := filepath.Join(dir, "tapdlp")
	src, err := os.ReadFile(tapdlpBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	asNobody := func(args ...string) *exec.Cmd {
		return exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...)
	}
	// Without capabilities: refused.
	out, err := asNobody("run", "-i", "lo", "-o", filepath.Join(dir, "none.jsonl"), "-status", "0", "-metrics", "").CombinedOutput()
	if err == nil || !strings.Contains(strings.ToLower(string(out)), "operation not permitted") {
		t.Fatalf("without capabilities the sensor should fail to open its socket; got err %v:\n%s", err, out)
	}
	// With file capabilities: captures.
	if out, err := exec.Command("setcap", "cap_net_raw+ep", bin).CombinedOutput(); err != nil {
		t.Skipf("setcap not supported on this filesystem: %v %s", err, out)
	}
	records, stderr := filepath.Join(dir, "records.jsonl"), filepath.Join(dir, "stderr.log")
	logf, _ := os.Create(stderr)
	cmd := asNobody("run", "-i", "lo", "-o", records, "-status", "0", "-metrics", "")
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	waitFile(t, stderr, "msg=capturing", done)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(l)
	defer srv.Close()
	for range 3 {
		resp, err := http.Get("http://" + l.Addr().String() + "/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		b, _ := os.ReadFile(stderr)
		if err != nil {
			t.Fatalf("tapdlp run as nobody: %v\n%s", err, b)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not stop on SIGINT")
	}
	b, err := os.ReadFile(records)
	if err != nil || !strings.Contains(string(b), `"app":"http"`) {
		t.Errorf("no HTTP flow recorded as nobody (err %v):\n%.500s", err, b)
	}
}

func waitFile(t *testing.T, path, want string, done chan error) {
	t.Helper()
	for range 300 {
		if b, _ := os.ReadFile(path); strings.Contains(string(b), want) {
			return
		}
		select {
		case err := <-done:
			b, _ := os.ReadFile(path)
			t.Fatalf("exited early: %v\n%s", err, b)
		case <-time.After(50 * time.Millisecond):
		}
	}
	b, _ := os.ReadFile(path)
	t.Fatalf("%s never said %q:\n%s", path, want, b)
}
