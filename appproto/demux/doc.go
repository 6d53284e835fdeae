// Package demux is the application-layer demultiplexer: for each flow it
// recognises the protocol from the reassembled bytes (whatever the port),
// chooses the parser, feeds it, and keeps a typed per-flow Result — the
// destination name and where it came from, TLS, HTTP and DNS facts — while
// the parsers report content (URLs, headers, bodies, raw plaintext) to a
// Sink the caller implements. It is the only place that guesses a protocol:
// the table of ports and sniffers (table.go) is the one list of port
// assumptions in tapdlp, including which DNS answers the dispatcher learns
// and which a flow learns.
//
// Recognition treats "need more" as a real state: a direction's first bytes
// are buffered, under a byte and chunk bound, until a sniffer can decide, so
// a request line or TLS record split at any byte is recognised the same as
// one whole segment; flows decided by the bound are counted (Stats).
//
// It must not know about PII, destinations or records' delivery: it names
// nothing beyond what the payload says, scans nothing (the Sink does), and
// holds no cross-flow state besides the DNS answers it hands to a consumer.
package demux
