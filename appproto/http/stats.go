package http

import "sync/atomic"

// Stats are the parser's counters, shared by every Parser of a sensor and
// safe for concurrent use. They are plain atomics so counting costs one
// atomic add and this package needs no metrics registry; the pipeline
// exposes them with Each (names follow tapdlp_http_*_total).
type Stats struct {
	Requests     atomic.Uint64 // request heads parsed
	Responses    atomic.Uint64 // response heads parsed (1xx included)
	Stops        [numReasons]atomic.Uint64
	Truncated    atomic.Uint64 // bodies whose decoded output hit MaxDecoded
	Bombs        atomic.Uint64 // truncated bodies beyond MaxRatio (decompression bombs)
	Undecoded    atomic.Uint64 // bodies delivered raw (unknown coding)
	DecodeErrors atomic.Uint64 // corrupt or cut coded bodies
	PairDropped  atomic.Uint64 // requests forgotten by a full Pairing
}

// Each calls fn with every counter's Prometheus name and value. The names
// are constants built once; stop reasons become a bounded label.
func (s *Stats) Each(fn func(name string, v uint64)) {
	fn("tapdlp_http_requests_total", s.Requests.Load())
	fn("tapdlp_http_responses_total", s.Responses.Load())
	for r := ReasonNone + 1; r < numReasons; r++ {
		fn(stopNames[r], s.Stops[r].Load())
	}
	fn("tapdlp_http_bodies_truncated_total", s.Truncated.Load())
	fn("tapdlp_http_decompression_bombs_total", s.Bombs.Load())
	fn("tapdlp_http_bodies_undecoded_total", s.Undecoded.Load())
	fn("tapdlp_http_decode_errors_total", s.DecodeErrors.Load())
	fn("tapdlp_http_pairing_dropped_total", s.PairDropped.Load())
}

var stopNames = func() (n [numReasons]string) {
	for r := range n {
		n[r] = `tapdlp_http_stops_total{reason="` + Reason(r).String() + `"}`
	}
	return n
}()

// Config holds a Parser's limits. Zero fields mean the default.
type Config struct {
	// MaxHeaderBytes bounds a header block or trailer section, start line
	// included (default 32 KiB).
	MaxHeaderBytes int
	// MaxHeaders bounds the fields in one header block (default 128).
	MaxHeaders int
	// MaxDecoded bounds the decoded bytes delivered per coded message
	// (default 1 MiB): the decoding budget, whatever the compression ratio.
	// Identity bodies are not capped here: the reassembly inspect depth
	// bounds them.
	MaxDecoded int64
	// MaxRatio is the decoded/coded ratio beyond which a body that reached
	// MaxDecoded is reported as a decompression bomb (FlagBomb; default
	// 100). It does not stop decoding earlier.
	MaxRatio int64
	// Stats receives the counters; nil counts nothing.
	Stats *Stats
}

const (
	defaultMaxHeaderBytes = 32 << 10
	defaultMaxHeaders     = 128
	defaultMaxDecoded     = 1 << 20
	defaultMaxRatio       = 100
	maxStartLine          = 8 << 10 // request targets beyond 8 KiB are refused by servers too
)

func (c Config) withDefaults() Config {
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	if c.MaxHeaders <= 0 {
		c.MaxHeaders = defaultMaxHeaders
	}
	if c.MaxDecoded <= 0 {
		c.MaxDecoded = defaultMaxDecoded
	}
	if c.MaxRatio <= 0 {
		c.MaxRatio = defaultMaxRatio
	}
	return c
}
