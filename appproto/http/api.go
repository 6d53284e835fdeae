package http

// Side says which direction of the connection a Parser reads.
type Side uint8

// Sides. Request is client→server, Response is server→client.
const (
	Request Side = iota
	Response
)

// String returns "request" or "response".
func (s Side) String() string {
	if s == Request {
		return "request"
	}
	return "response"
}

// Reason says why a Parser stopped parsing its side for good.
type Reason uint8

// Stop reasons. Each has its own counter in Stats.
const (
	ReasonNone              Reason = iota
	ReasonNotHTTP                  // the first bytes are not an HTTP start line
	ReasonBadStartLine             // a later message's start line is malformed
	ReasonHeaderTooLong            // header block (or trailer) beyond Config.MaxHeaderBytes
	ReasonTooManyHeaders           // more than Config.MaxHeaders fields
	ReasonBadLength                // invalid, negative, huge or conflicting Content-Length
	ReasonBadChunk                 // malformed chunk-size line or chunk framing
	ReasonBadTransferCoding        // request Transfer-Encoding that does not end in chunked
	ReasonGap                      // bytes lost where framing cannot skip them
	ReasonTunnel                   // CONNECT 2xx or 101 upgrade: the rest is opaque
	numReasons
)

var reasonNames = [numReasons]string{
	"none", "not_http", "bad_start_line", "header_too_long", "too_many_headers",
	"bad_length", "bad_chunk", "bad_transfer_coding", "gap", "tunnel",
}

// String returns the reason's stable identifier (used as a metric label).
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Flags describe how a message's body was delivered.
type Flags uint16

// Body flags, set on Message.Flags as they happen; End reports the final set.
const (
	// FlagTruncated: decoded output reached Config.MaxDecoded; the rest of the
	// body was framed but not decoded.
	FlagTruncated Flags = 1 << iota
	// FlagBomb: with FlagTruncated, the decoded/coded ratio exceeded
	// Config.MaxRatio when the cap was reached (a decompression bomb).
	FlagBomb
	// FlagUndecoded: an unknown or too deeply stacked coding, or a coded
	// body that failed to decode; Body carried (from then on) the raw,
	// still encoded bytes.
	FlagUndecoded
	// FlagDecodeError: the coded stream was corrupt or ended early; the
	// bytes were delivered raw from there (FlagUndecoded).
	FlagDecodeError
	// FlagGap: body bytes were lost in capture.
	FlagGap
	// FlagIncomplete: the stream ended (Close) before the message did.
	FlagIncomplete
	// FlagHostTooLong: the Host was longer than a DNS name and left empty.
	FlagHostTooLong
	// FlagNested: more than MaxCodings codings were stacked (with
	// FlagUndecoded).
	FlagNested
	// FlagSniffed: the body had no coding but opened with a gzip, zstd or
	// zip magic number (an uploaded .gz, .zst or .zip file): it was decoded
	// as such, Codings naming the format.
	FlagSniffed
)

// Has reports whether all of f2 are set.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

// Coding is a content or transfer coding the parser knows how to decode.
type Coding uint8

// Codings. CodingUnknown makes the body undecodable (FlagUndecoded).
const (
	CodingNone Coding = iota
	CodingGzip
	CodingDeflate
	CodingZstd
	CodingBrotli
	CodingUnknown
	// CodingZip is never a header's coding: a body without one that opens
	// with a zip local file header is read as an archive (FlagSniffed).
	CodingZip
)

// MaxCodings bounds stacked codings (Content-Encoding plus non-chunked
// Transfer-Encoding); more than this is delivered raw with FlagUndecoded.
const MaxCodings = 2

// Message is the parser's view of the message in progress. It is owned by
// the Parser and reused: it and every slice it holds are valid only during
// a Handler call; copy what you keep. Target, Path, Query, UserAgent and
// StatusReason alias the input and are set only during Start and Header;
// the other fields (Method, Host and ContentType included) last until End.
type Message struct {
	Side Side
	Seq  int // 1-based index of this message on its side

	// Request line (Side == Request).
	Method []byte // as sent, e.g. "GET"
	Target []byte // raw request-target
	Path   []byte // path of origin- or absolute-form ("*" for asterisk-form), empty for CONNECT
	Query  []byte // after '?', without any '#fragment'

	// Status line (Side == Response).
	Status       int
	StatusReason []byte
	// ReqMethod is the method of the request this response answers, when
	// the request side saw it (see Pairing).
	ReqMethod MethodKind

	Major, Minor uint8 // HTTP version

	// Host is the destination name: the authority of an absolute-form or
	// CONNECT target, else the Host header; lowercased, userinfo, port,
	// IPv6 brackets and a trailing dot removed. Port is the explicit port
	// (0 when none was given).
	Host      []byte
	Port      uint16
	UserAgent []byte

	// ContentType is the media type, lowercased, without parameters;
	// Boundary is the multipart boundary parameter (unquoted). Both are
	// copied into parser-owned space (at most 128 bytes each).
	ContentType []byte
	Boundary    []byte

	ContentLength int64 // -1 when absent
	Chunked       bool
	UntilClose    bool // response body delimited by connection close
	Codings       [MaxCodings]Coding
	NCodings      int // codings to undo, outermost last; CodingUnknown if unsupported

	InTrailer bool // Header calls carry chunked trailer fields

	RawBytes     int64 // framed body bytes seen (after de-chunking)
	DecodedBytes int64 // bytes delivered through Body
	Flags        Flags
}

// Handler receives a Parser's events. All calls for one Parser come from the
// goroutine that calls Feed, Gap or Close. Data is only valid during the
// call: copy what you keep.
type Handler interface {
	// Start is called when a message head (start line and header block) is
	// complete.
	Start(m *Message)
	// Header is called for every header field of m after Start, in order,
	// and for every trailer field (m.InTrailer) before End. The value is
	// trimmed; obsolete line folding is left inside it.
	Header(m *Message, name, value []byte)
	// Body delivers the next decoded entity bytes of m (raw bytes when
	// m.Flags has FlagUndecoded).
	Body(m *Message, data []byte)
	// End is called once per started message, when it is complete or the
	// stream ends under it (FlagIncomplete).
	End(m *Message)
	// Stop is called at most once per Parser, when it gives up on the
	// stream (reason says why); after it, the Parser ignores its input.
	Stop(side Side, reason Reason)
}
