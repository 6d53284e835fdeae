package http2

import "sync/atomic"

// Stats are the parser's counters, shared by every Conn of a sensor and
// safe for concurrent use (names follow tapdlp_http2_*_total).
type Stats struct {
	Frames         atomic.Uint64 // frame headers parsed
	Streams        atomic.Uint64 // streams opened (requests and pushes)
	StreamsEvicted atomic.Uint64 // streams dropped because Config.MaxStreams were tracked
	StreamsUnknown atomic.Uint64 // frames for streams not tracked (evicted, closed or never opened)
	HeaderListsCut atomic.Uint64 // header blocks whose decoded list passed Config.MaxHeaderList (HPACK bombs)
	TableCapped    atomic.Uint64 // SETTINGS_HEADER_TABLE_SIZE above Config.MaxTableSize
	Resets         atomic.Uint64 // RST_STREAM frames
	GoAways        atomic.Uint64 // GOAWAY frames
	Pushes         atomic.Uint64 // PUSH_PROMISE frames
	Stops          [numReasons]atomic.Uint64
	Truncated      atomic.Uint64 // bodies whose decoded output hit MaxDecoded
	Bombs          atomic.Uint64 // truncated bodies beyond MaxRatio (decompression bombs)
	Undecoded      atomic.Uint64 // bodies delivered coded (unknown coding)
	DecodeErrors   atomic.Uint64 // corrupt or cut coded bodies
	Gaps           atomic.Uint64 // holes skipped inside DATA payloads
}

// Each calls fn with every counter's Prometheus name and value.
func (s *Stats) Each(fn func(name string, v uint64)) {
	fn("tapdlp_http2_frames_total", s.Frames.Load())
	fn("tapdlp_http2_streams_total", s.Streams.Load())
	fn("tapdlp_http2_streams_evicted_total", s.StreamsEvicted.Load())
	fn("tapdlp_http2_frames_unknown_stream_total", s.StreamsUnknown.Load())
	fn("tapdlp_http2_header_lists_cut_total", s.HeaderListsCut.Load())
	fn("tapdlp_http2_table_size_capped_total", s.TableCapped.Load())
	fn("tapdlp_http2_resets_total", s.Resets.Load())
	fn("tapdlp_http2_goaways_total", s.GoAways.Load())
	fn("tapdlp_http2_pushes_total", s.Pushes.Load())
	for r := ReasonNone + 1; r < numReasons; r++ {
		fn(stopNames[r], s.Stops[r].Load())
	}
	fn("tapdlp_http2_bodies_truncated_total", s.Truncated.Load())
	fn("tapdlp_http2_decompression_bombs_total", s.Bombs.Load())
	fn("tapdlp_http2_bodies_undecoded_total", s.Undecoded.Load())
	fn("tapdlp_http2_decode_errors_total", s.DecodeErrors.Load())
	fn("tapdlp_http2_gaps_total", s.Gaps.Load())
}

var stopNames = func() (n [numReasons]string) {
	for r := range n {
		n[r] = `tapdlp_http2_stops_total{reason="` + Reason(r).String() + `"}`
	}
	return n
}()

// Config holds a Conn's limits. Zero fields mean the default.
type Config struct {
	// MaxStreams bounds the streams tracked at once (default 128); the
	// least recently active is evicted (FlagEvicted) to make room.
	MaxStreams int
	// MaxTableSize caps the HPACK dynamic table of each direction, whatever
	// SETTINGS_HEADER_TABLE_SIZE says (default 64 KiB).
	MaxTableSize uint32
	// MaxHeaderList bounds one decoded header list, counted as RFC 9113's
	// SETTINGS_MAX_HEADER_LIST_SIZE (name + value + 32 per field; default
	// 64 KiB). Fields that do not fit are decoded (to keep HPACK in step)
	// but dropped (FlagHeadersCut); later ones that fit are kept.
	MaxHeaderList int
	// MaxHeaderBlock bounds one encoded header block, HEADERS plus its
	// CONTINUATIONs (default 256 KiB); beyond it the direction stops.
	MaxHeaderBlock int
	// MaxDecoded bounds the decoded bytes delivered per coded body
	// (default 1 MiB).
	MaxDecoded int64
	// MaxRatio is the decoded/compressed ratio beyond which a body that
	// reached MaxDecoded is reported as a bomb (FlagBomb; default 100); it
	// does not stop decoding earlier.
	MaxRatio int64
	// Stats receives the counters; nil counts nothing.
	Stats *Stats
}

const (
	defaultMaxStreams     = 128
	defaultMaxTableSize   = 64 << 10
	defaultMaxHeaderList  = 64 << 10
	defaultMaxHeaderBlock = 256 << 10
	defaultMaxDecoded     = 1 << 20
	defaultMaxRatio       = 100
	initialTableSize      = 4096 // RFC 9113 §6.5.2
)

func (c Config) withDefaults() Config {
	if c.MaxStreams <= 0 {
		c.MaxStreams = defaultMaxStreams
	}
	if c.MaxTableSize == 0 {
		c.MaxTableSize = defaultMaxTableSize
	}
	if c.MaxHeaderList <= 0 {
		c.MaxHeaderList = defaultMaxHeaderList
	}
	if c.MaxHeaderBlock <= 0 {
		c.MaxHeaderBlock = defaultMaxHeaderBlock
	}
	if c.MaxDecoded <= 0 {
		c.MaxDecoded = defaultMaxDecoded
	}
	if c.MaxRatio <= 0 {
		c.MaxRatio = defaultMaxRatio
	}
	return c
}
