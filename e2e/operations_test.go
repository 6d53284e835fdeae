package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunOperations runs the sensor the way an operator does — interfaces
// and metrics from the configuration file — and checks the endpoints under
// real traffic: /healthz, /readyz, a /metrics scrape whose counters moved,
// SIGHUP reloading the configuration (and refusing a broken one), and a
// clean exit on the signal.
func TestRunOperations(t *testing.T) {
	requireNetns(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfgPath := filepath.Join(t.TempDir(), "tapdlp.yaml")
	good := "capture: {interfaces: [lo], status_interval: 0s}\nmetrics: {listen: \"" + addr + "\"}\n"
	if err := os.WriteFile(cfgPath, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSensor(t, "-c", cfgPath)
	get := func(path string) (int, string) {
		var resp *http.Response
		var err error
		for range 50 {
			if resp, err = http.Get("http://" + addr + path); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz: %d %q", code, body)
	}
	// Traffic on loopback: the scrapes themselves are TCP flows.
	for range 5 {
		get("/metrics")
	}
	time.Sleep(300 * time.Millisecond)
	_, metrics := get("/metrics")
	for _, want := range []string{"tapdlp_capture_packets_total ", `tapdlp_capture_kernel_drops_total{interface="lo"} 0`,
		`tapdlp_capture_interface_packets_total{interface="lo"} `, `tapdlp_capture_interface_bytes_total{interface="lo"} `, "# TYPE tapdlp_flows_created_total counter"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(metrics, "tapdlp_capture_packets_total 0\n") {
		t.Error("no packets counted under traffic")
	}
	// A broken configuration is refused on SIGHUP, and the sensor keeps going.
	os.WriteFile(cfgPath, []byte(good+"rules: [{id: x, when: {dst.category: [nope]}}]\n"), 0o644)
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, s, "configuration not reloaded")
	os.WriteFile(cfgPath, []byte(good), 0o644)
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, s, "SIGHUP: configuration reloaded")
	if code, _ := get("/healthz"); code != 200 {
		t.Error("not healthy after reloads")
	}
	flows, drops := s.stop(t)
	if len(flows) == 0 || drops != 0 {
		t.Errorf("%d flows, %d kernel drops", len(flows), drops)
	}
}

func waitLog(t *testing.T, s *sensor, want string) {
	t.Helper()
	for range 100 {
		if b, _ := os.ReadFile(s.errLog); strings.Contains(string(b), want) {
			if want == "configuration not reloaded" && !strings.Contains(string(b), ".yaml:3") {
				t.Errorf("the refused reload does not say where:\n%s", b)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(s.errLog)
	t.Fatalf("stderr never said %q:\n%s", want, b)
}
