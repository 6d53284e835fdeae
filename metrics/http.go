package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
)

// DefaultAddr is where /metrics listens unless configured otherwise:
// loopback only, because the exposition tells anyone who can read it how
// much traffic the sensor sees and drops.
const DefaultAddr = "127.0.0.1:9740"

// contentType is the Prometheus text exposition format.
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// maxReason bounds the /readyz body: one line an operator reads.
const maxReason = 200

// Handler serves /metrics (this Registry), /healthz (200 "ok" while the
// process serves at all) and /readyz: 200 "ok" when ready returns nil,
// else 503 with the error as one line. ready is the sensor's check (capture
// open, every sink reachable or spooling); nil means always ready.
func (r *Registry) Handler(ready func() error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-store")
		if req.Method == http.MethodHead {
			return // a probe: no need to read every stage
		}
		r.WritePrometheus(w)
		// The standard go_* (runtime, GC, memory) and process_* (CPU,
		// resident memory, open file descriptors, start time) families
		// that every Go exporter serves and dashboards expect.
		vm.WriteProcessMetrics(w)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready != nil {
			if err := ready(); err != nil {
				plain(w, http.StatusServiceUnavailable, oneLine(err.Error()))
				return
			}
		}
		plain(w, http.StatusOK, "ok")
	})
	return mux
}

func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body + "\n"))
}

// oneLine folds a readiness error into one bounded line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "not ready"
	}
	if len(s) > maxReason {
		s = s[:maxReason] + "…"
	}
	return s
}

// shutdownGrace bounds how long Serve waits for in-flight scrapes.
const shutdownGrace = 5 * time.Second

// Serve listens on addr (DefaultAddr if empty) and serves h until ctx is
// done, then shuts down gracefully and returns nil. It returns an error if
// it cannot listen or the server fails.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	if addr == "" {
		addr = DefaultAddr
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	return serve(ctx, ln, h)
}

// serve is Serve on an open listener, which it closes.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler: h,
		// A scraper is a trusted local client, but a stuck or hostile
		// connection must still not hold a goroutine forever.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("metrics: shutdown: %w", err), srv.Close())
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), serr)
	}
	return err
}
