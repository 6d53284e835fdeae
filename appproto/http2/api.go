package http2

import "github.com/tapdlp/tapdlp/internal/bodydec"

// Side says which direction of the connection bytes travel.
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

// Reason says why a direction stopped being parsed for good.
type Reason uint8

// Stop reasons. Each has its own counter in Stats.
const (
	ReasonNone               Reason = iota
	ReasonNotHTTP2                  // the client did not start with the connection preface
	ReasonBadFrame                  // a frame violates RFC 9113 framing (padding, sizes, CONTINUATION order)
	ReasonHPACK                     // the header block does not decode: the HPACK state is lost
	ReasonHeaderBlockTooLong        // an encoded header block beyond Config.MaxHeaderBlock
	ReasonGap                       // bytes lost outside a DATA payload
	numReasons
)

var reasonNames = [numReasons]string{"none", "not_http2", "bad_frame", "hpack", "header_block_too_long", "gap"}

// String returns the reason's stable identifier (used as a metric label).
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Flags describe how a message was delivered.
type Flags uint16

// Message flags, set as they happen; End reports the final set.
const (
	FlagTruncated   Flags = 1 << iota // decoded body reached Config.MaxDecoded
	FlagBomb                          // decoded/compressed ratio beyond Config.MaxRatio
	FlagUndecoded                     // unknown or too many codings: Body carried coded bytes
	FlagDecodeError                   // the coded body was corrupt or cut
	FlagGap                           // body bytes were lost in capture
	FlagIncomplete                    // the connection (or this direction) ended first
	FlagReset                         // RST_STREAM ended the stream
	FlagEvicted                       // the stream table was full: this stream was dropped
	FlagHeadersCut                    // the header list passed Config.MaxHeaderList: fields were dropped
	FlagFieldCut                      // a pseudo-header or content header was longer than its buffer
)

// Has reports whether all of f2 are set.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

// Message is one direction of one stream: a request (Side == Request) or a
// response. It is owned by the Conn and reused: it and every slice it holds
// are valid only during a Handler call; copy what you keep.
type Message struct {
	Side     Side
	StreamID uint32
	// Pushed: the request was promised by the server (PUSH_PROMISE).
	Pushed bool

	// Request pseudo-headers, as sent (bounded copies; FlagFieldCut when cut).
	Method    []byte
	Scheme    []byte
	Authority []byte // :authority, or Host when it is absent
	Path      []byte // :path with its query
	Protocol  []byte // :protocol of an extended CONNECT (RFC 8441), e.g. "websocket"

	// Host is Authority's host: lowercased, without userinfo, port, IPv6
	// brackets or trailing dot; Port is the explicit port or 0.
	Host []byte
	Port uint16

	// Status is the response's :status (a response's Request fields are
	// copied from its stream's request when the request was seen).
	Status int

	// ContentType is the media type, lowercased, without parameters.
	ContentType []byte
	// ContentEncoding is the raw content-encoding value (bounded).
	ContentEncoding []byte
	Codings         [bodydec.MaxCodings]bodydec.Coding
	NCodings        int

	InTrailer bool // Header calls carry trailer fields

	RawBytes     int64 // DATA payload bytes seen (padding excluded)
	DecodedBytes int64 // bytes delivered through Body
	Flags        Flags
}

// ExtendedConnect reports whether m is (the response to) an RFC 8441
// extended CONNECT: the stream's DATA then carry the Protocol's bytes (for
// "websocket", RFC 6455 frames for appproto/websocket).
func (m *Message) ExtendedConnect() bool {
	return len(m.Protocol) > 0 && string(m.Method) == "CONNECT"
}

// Handler receives a Conn's events. All calls come from the goroutine that
// calls Feed, Gap or Close. Data is only valid during the call: copy what
// you keep.
type Handler interface {
	// Start is called when a message's header block is complete.
	Start(m *Message)
	// Header is called for every header field of m after Start, in order
	// (pseudo-headers included), and for trailer fields (m.InTrailer).
	Header(m *Message, name, value []byte)
	// Body delivers the next decoded bytes of m (coded bytes when m.Flags
	// has FlagUndecoded; raw DATA for an extended CONNECT).
	Body(m *Message, data []byte)
	// End is called once per started message: END_STREAM, RST_STREAM,
	// eviction or the end of the connection (see m.Flags).
	End(m *Message)
	// Stop is called at most once per side, when the Conn gives up on that
	// direction; it ignores that side's input afterwards.
	Stop(side Side, reason Reason)
}
