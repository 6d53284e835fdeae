package demux

import (
	"net/netip"
	"sync/atomic"

	"github.com/tapdlp/tapdlp/appproto/grpc"
	httpparse "github.com/tapdlp/tapdlp/appproto/http"
	"github.com/tapdlp/tapdlp/appproto/http2"
	"github.com/tapdlp/tapdlp/appproto/sse"
	apptls "github.com/tapdlp/tapdlp/appproto/tls"
	"github.com/tapdlp/tapdlp/appproto/tlsdecrypt"
	"github.com/tapdlp/tapdlp/appproto/websocket"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
)

// Dir is a flow direction (reassembly's: Out is from the initiator).
type Dir = reassembly.Dir

// Directions.
const (
	Out = reassembly.DirOut
	In  = reassembly.DirIn
)

// Proto is the application protocol a flow was recognised as.
type Proto uint8

// Protocols.
const (
	Unknown Proto = iota // not decided yet
	TLS
	HTTP
	DNS
	QUIC
	Other // payload of no recognised protocol (scanned raw)
	HTTP2
	WebSocket
	numProtos
)

var protoNames = [numProtos]string{"unknown", "tls", "http", "dns", "quic", "other", "http2", "websocket"}

// String returns the protocol's identifier.
func (p Proto) String() string {
	if p < numProtos {
		return protoNames[p]
	}
	return "unknown"
}

// RecordApp is the record's "app" value: empty when no protocol was
// recognised.
func (p Proto) RecordApp() string {
	switch {
	case p == Unknown || p == Other || p >= numProtos:
		return ""
	case p == HTTP2:
		return "http" // the version is in http.version
	}
	return protoNames[p]
}

// NameSource says where a flow's destination name came from.
type NameSource uint8

// Name sources, in the order they can appear; the record spells them as
// String returns.
const (
	NoName      NameSource = iota
	FromSNI                // TLS ClientHello server_name
	FromQUIC               // the ClientHello inside a QUIC Initial
	FromHTTP               // HTTP/1 Host (or absolute-form target)
	FromConnect            // HTTP/1 CONNECT authority
	numSources
)

var sourceNames = [numSources]string{"", "sni", "quic", "http", "connect"}

// String returns the record's name_source value ("" for NoName).
func (s NameSource) String() string {
	if s < numSources {
		return sourceNames[s]
	}
	return ""
}

// Sink receives what a flow's parsers find, for the content scanner and the
// flow's rules. It is declared here, by its caller; the pipeline implements
// it. Calls for one Flow come from the goroutine that feeds the Flow. Every
// byte slice is only valid during the call: copy what you keep.
type Sink interface {
	// Changed says the Result gained a fact rules may act on (a destination
	// name): evaluate the flow now rather than at its end.
	Changed()
	// Redact returns text taken from traffic (an HTTP path) with every
	// sensitive value masked, for the Result.
	Redact(b []byte) string
	// URL delivers a request target's path and query (query may be empty),
	// still percent-encoded; each is a value of its own.
	URL(dir Dir, path, query []byte)
	// MessageStart begins a message on dir whose body has this media type
	// (lowercased, no parameters; empty when unknown) and multipart boundary.
	MessageStart(dir Dir, contentType, boundary []byte)
	// Header delivers one header (or trailer) field of dir's current message.
	Header(dir Dir, name, value []byte)
	// Body delivers the next decoded entity bytes of dir's current message.
	Body(dir Dir, data []byte)
	// MessageEnd ends dir's current message: a boundary no value crosses.
	MessageEnd(dir Dir)
	// Raw delivers plaintext of no known framing. It returns whether more
	// of dir is wanted.
	Raw(dir Dir, b []byte) (more bool)
	// Truncated says the inspection of dir stopped early, or went on
	// degraded (raw instead of decoded), for reason r.
	Truncated(dir Dir, r Truncation)
}

// Truncation is why a flow's content inspection stopped early or fell back
// to scanning raw bytes. The record lists them (inspected.truncated_reasons)
// and each has a counter.
type Truncation uint8

// Truncation reasons. The parsers report those about decoding and framing;
// the content scanner and the pipeline add the others.
const (
	TruncNone Truncation = iota
	// TruncInspectBytes: the direction's scan reached inspection.inspect_bytes.
	TruncInspectBytes
	// TruncDecodeBudget: a coded body decoded to more than the decoding
	// budget (inspect_bytes per message); the rest was not decoded.
	TruncDecodeBudget
	// TruncBomb: as TruncDecodeBudget, at a ratio no real content has
	// (a decompression bomb).
	TruncBomb
	// TruncNesting: more codings stacked than the decoder undoes; the
	// body was scanned raw.
	TruncNesting
	// TruncUndecodable: an unknown content or transfer coding; the body
	// was scanned raw.
	TruncUndecodable
	// TruncDecodeError: a coded body was corrupt, cut, or not coded at
	// all; it was scanned raw from there.
	TruncDecodeError
	// TruncParserStopped: the protocol parser gave up on the stream
	// (malformed or over a limit); the rest was scanned raw.
	TruncParserStopped
	// TruncGap: bytes were lost in capture.
	TruncGap
	// TruncEncrypted: the content is encrypted (TLS, QUIC, an opaque
	// tunnel) and was not decrypted.
	TruncEncrypted
	// TruncSampling: the flow was not sampled for inspection.
	TruncSampling
	NumTruncations
)

var truncNames = [NumTruncations]string{"", "inspect_bytes", "decode_budget", "decompression_bomb",
	"nesting_depth", "undecodable_coding", "decode_error", "parser_stopped", "capture_gap", "encrypted", "sampling"}

// String returns the reason's stable identifier (record value and metric
// label).
func (t Truncation) String() string {
	if t < NumTruncations {
		return truncNames[t]
	}
	return "unknown"
}

// RequestSink is implemented by a Sink that follows each HTTP request of a
// flow on its own (the pipeline describes AI API calls with it). Unlike
// MessageStart/MessageEnd, which the HTTP/2 adapter also calls to switch
// between interleaved streams, these report each request once, with its
// own method and target: HTTP/1 requests one after the other on stream 0,
// HTTP/2 requests by stream id, their bodies interleaved as the streams
// are. A request may get no RequestEnd (a reset stream, a flow cut short).
// Every []byte is only valid during the call.
type RequestSink interface {
	// RequestStart begins a request: method, host (Host or :authority,
	// lowercased, without port), path (percent-encoded, without the
	// query) and body media type (lowercased, no parameters).
	RequestStart(stream uint32, method, host, path, contentType []byte)
	// RequestBody delivers the next decoded bytes of the request's body.
	RequestBody(stream uint32, data []byte)
	// RequestEnd ends the request.
	RequestEnd(stream uint32)
}

// Parser is one flow's application-layer parser, the narrow interface
// every protocol implements (HTTP/1, TLS, DNS, QUIC and raw plaintext
// today; HTTP/2, WebSocket, gRPC and decrypted TLS plug in the same way:
// an adapter in this package turns the standalone parser's events into
// Result facts and Sink calls). Recognition chooses it; it lives inside
// the Flow and is recycled with it.
type Parser interface {
	// Feed delivers the next bytes of dir: a TCP direction's next
	// contiguous stream bytes, or one UDP datagram's payload. b is only
	// valid during the call: copy what you keep. It returns whether more of
	// dir is wanted.
	Feed(dir Dir, b []byte) (more bool)
	// Gap reports n bytes of dir lost for good; the next Feed continues
	// after them.
	Gap(dir Dir, n int)
	// Close says the flow ended: flush partial messages into the Sink.
	Close()
}

// HandoffKind is why a parser passes its flow on.
type HandoffKind uint8

// Hand-off kinds.
const (
	// Upgrade: an HTTP/1 101 Switching Protocols; Hint is the Upgrade token
	// ("websocket", "h2c"), lowercased.
	Upgrade HandoffKind = iota + 1
	// Connect: a CONNECT answered 2xx; Hint is empty. The bytes that follow
	// are whatever the client tunnels (usually TLS).
	Connect
	// Decrypted: a decrypting layer turned a TLS flow into plaintext; Hint
	// is the negotiated ALPN ("h2", "http/1.1"; empty when none).
	Decrypted
)

// Handoff is a parser's request that the bytes after a point belong to
// another protocol. Flow.handoff routes it: to a parser registered for
// the kind and hint, or to recognition with the hint as a preference, or
// (today, for Upgrade and Connect) nowhere — the flow stays opaque, as a
// tunnel the sensor cannot read.
type Handoff struct {
	Kind HandoffKind
	Hint string
}

// Result is what a flow's payload told: read it between Feed calls or at
// the flow's end; the pointers it holds are the Flow's until the next
// Reset (copy them into the record, do not modify them).
type Result struct {
	Name    string // destination name from the payload (SNI, QUIC, Host)
	TLS     *record.TLS
	HTTP    *record.HTTP
	DNS     *record.DNS
	GRPC    *record.GRPC // the first gRPC call (HTTP/2)
	Handoff Handoff      // the last hand-off (zero: none)

	App        Proto
	NameSource NameSource
	Encrypted  bool // TLS, QUIC or an opaque tunnel: the content is not readable
	// Decrypt is the TLS decryption outcome when the flow was given to a
	// decryptor (ReasonNone otherwise: no keys configured, or not TLS).
	Decrypt tlsdecrypt.Reason
}

// Stats count recognition's bounded decisions. The pipeline shares one
// among its workers.
type Stats struct {
	// DecidedByBound counts TCP directions whose protocol was decided on a
	// best guess when the undecided prefix reached MaxUndecided bytes.
	DecidedByBound atomic.Uint64
	// DecidedAtEnd counts directions decided on a short prefix because the
	// flow ended or lost bytes before a sniffer could tell.
	DecidedAtEnd atomic.Uint64
	// NamesEvicted counts names (SNI, Host, User-Agent, DNS) and JA4
	// fingerprints the workers' name caches and JA4 memos replaced with
	// another: a high rate says the traffic's names do not repeat and each
	// costs an allocation.
	NamesEvicted atomic.Uint64
}

// Each calls fn for every counter, with its stable name.
func (s *Stats) Each(fn func(name string, v uint64)) {
	fn("decided_by_bound", s.DecidedByBound.Load())
	fn("decided_at_end", s.DecidedAtEnd.Load())
	fn("names_evicted", s.NamesEvicted.Load())
}

// HTTPStats are the HTTP/1 parsers' counters (the http package's).
type HTTPStats = httpparse.Stats

// ParserStats gathers the counters of the parsers behind the HTTP/1
// hand-offs (HTTP/2, WebSocket, gRPC, server-sent events), so the pipeline
// can share one set among its workers and expose it.
type ParserStats struct {
	HTTP2     http2.Stats
	WebSocket websocket.Stats
	GRPC      grpc.Stats
	SSE       sse.Stats
}

// DNSAnswers is the consumer of DNS answers a Flow learns (the
// destinations DNS cache implements it): client asked for name and got
// addrs, valid for ttl seconds from packet time ts. addrs is only valid
// during the call.
type DNSAnswers interface {
	Add(client netip.Addr, name string, addrs []netip.Addr, ttl uint32, ts int64)
}

// MaxUndecided bounds the bytes of one direction buffered while no sniffer
// can decide: longer than most request lines worth waiting for, short
// enough to cost little per flow. Bytes alone bound the state, not chunks:
// a chunk carries at least one byte, so a direction costs at most
// MaxUndecided sniffs of at most MaxUndecided bytes, and the decision
// depends only on the first MaxUndecided bytes, never on how they were
// segmented.
const MaxUndecided = 512

// Config is what every Flow of one Demux shares.
type Config struct {
	HTTPStats *HTTPStats // nil: not counted
	// MaxDecoded is the decoding budget: the decoded bytes one coded HTTP
	// body may deliver (0: the parsers' default). The pipeline sets it to
	// inspection.inspect_bytes, what a direction's scan can use.
	MaxDecoded int64
	Stats      *Stats     // nil: not counted
	Answers    DNSAnswers // nil: DNS answers are not learned by flows

	// The HTTP/2, WebSocket, gRPC and server-sent-events parsers'
	// counters (nil: not counted).
	HTTP2Stats     *http2.Stats
	WebSocketStats *websocket.Stats
	GRPCStats      *grpc.Stats
	SSEStats       *sse.Stats
	// Keys, when set, decrypts TLS flows whose secrets it holds (see
	// tlsParser). A TLS flow tries decryption when KeysConfigured is set or
	// the source already holds keys (Generation > 0: a pcapng Decryption
	// Secrets Block was read); otherwise it is recorded as before.
	Keys           tlsdecrypt.KeySource
	KeysConfigured bool
	// PendingBudget bounds the ciphertext all flows buffer while waiting
	// for keys (nil: only the per-flow bound).
	PendingBudget *tlsdecrypt.PendingBudget
}

// Demux holds one worker's shared parser scratch and configuration. It is
// not safe for concurrent use: one per worker, like the flows it serves.
type Demux struct {
	cfg   Config
	http  httpparse.Config
	dnsm  dnsScratch
	stats *Stats
	tlsc  tlsdecrypt.Config // with the worker's shared plaintext scratch
	tlss  tlsdecrypt.Scratch
	pool  parserPool
	names nameCache
	ja4   apptls.JA4Memo
}

// New returns a Demux for one worker.
func New(cfg Config) *Demux {
	d := &Demux{cfg: cfg, http: httpparse.Config{Stats: cfg.HTTPStats, MaxDecoded: cfg.MaxDecoded}, stats: cfg.Stats}
	if d.stats == nil {
		d.stats = new(Stats)
	}
	d.names.init(&d.stats.NamesEvicted)
	d.ja4.Init(&d.stats.NamesEvicted)
	d.tlsc.Scratch = &d.tlss
	d.tlsc.Budget = cfg.PendingBudget
	return d
}
