package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	notReady := func() error {
		return errors.New("sink syslog:\nqueue full,   not spooling")
	}
	long := func() error { return errors.New(strings.Repeat("x", 1000)) }
	tests := []struct {
		name     string
		method   string
		path     string
		ready    func() error
		code     int
		body     string // exact, or prefix when it ends in "*"
		ctype    string
		contains string
	}{
		{"healthz", "GET", "/healthz", notReady, 200, "ok\n", "text/plain; charset=utf-8", ""},
		{"readyz ready", "GET", "/readyz", func() error { return nil }, 200, "ok\n", "text/plain; charset=utf-8", ""},
		{"readyz nil check", "GET", "/readyz", nil, 200, "ok\n", "text/plain; charset=utf-8", ""},
		{"readyz not ready, one line", "GET", "/readyz", notReady, 503, "sink syslog: queue full, not spooling\n", "text/plain; charset=utf-8", ""},
		{"readyz reason bounded", "GET", "/readyz", long, 503, strings.Repeat("x", maxReason) + "…\n", "", ""},
		{"metrics", "GET", "/metrics", nil, 200, "*", contentType, "\ntapdlp_capture_packets_total 1000\n"},
		{"head metrics", "HEAD", "/metrics", nil, 200, "", contentType, ""},
		{"post refused", "POST", "/metrics", nil, 405, "*", "", ""},
		{"unknown path", "GET", "/debug/pprof/", nil, 404, "*", "", ""},
	}
	h := toyRegistry(t, fullToy()).Handler(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hh := h
			if tt.ready != nil {
				hh = toyRegistry(t, fullToy()).Handler(tt.ready)
			}
			rec := httptest.NewRecorder()
			hh.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.code {
				t.Errorf("status %d, want %d", rec.Code, tt.code)
			}
			body := rec.Body.String()
			if tt.body != "*" && body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			if tt.ctype != "" && rec.Header().Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tt.ctype)
			}
			if !strings.Contains(body, tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
			if tt.code == 503 && strings.Count(body, "\n") != 1 {
				t.Errorf("reason is not one line: %q", body)
			}
		})
	}
}

// TestReadyzFollowsTheCheck: readiness is evaluated per request, so a
// sink that comes back makes the sensor ready again without a restart.
func TestReadyzFollowsTheCheck(t *testing.T) {
	var err error = errors.New("capture not open")
	h := New().Handler(func() error { return err })
	code := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code
	}
	if c := code(); c != 503 {
		t.Fatalf("not ready: %d", c)
	}
	err = nil
	if c := code(); c != 200 {
		t.Fatalf("ready again: %d", c)
	}
}

// TestServeOverTCP scrapes a real listener, then cancels: serve returns nil
// and the port is closed.
func TestServeOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	h := toyRegistry(t, fullToy()).Handler(nil)
	go func() { done <- serve(ctx, ln, h) }()

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "tapdlp_capture_packets_total 1000\n") {
		t.Fatalf("scrape: %d %.200q", resp.StatusCode, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after cancel: %v", err)
		}
	case <-time.After(shutdownGrace + time.Second):
		t.Fatal("serve did not return after cancel")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("listener still open after shutdown")
	}
}

func TestServeShutsDownOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, "127.0.0.1:0", New().Handler(nil)) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(shutdownGrace + time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestServeListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	defer ln.Close()
	err = Serve(context.Background(), ln.Addr().String(), http.NotFoundHandler())
	if err == nil || !strings.Contains(err.Error(), "metrics: listen on "+ln.Addr().String()) {
		t.Fatalf("want a listen error naming the address, got %v", err)
	}
}
