// Package http is tapdlp's passive, incremental HTTP/1.x parser. It is
// fed the reassembled bytes of one TCP direction in arbitrary chunks (a
// request-side Parser for client→server bytes, a response-side Parser for
// server→client bytes, paired by a Pairing so responses to HEAD and CONNECT
// are framed correctly) and reports what it sees through a Handler: message
// heads (method, target, Host, status), header fields, decoded entity bytes
// (Content-Length, chunked or until-close framing; gzip, deflate, zstd and br
// content codings, decompressed incrementally under a byte cap and a ratio
// limit), message ends and a one-time stop (not HTTP, tunnel, malformed).
//
// The input is hostile: the parser never panics, every buffer has a hard
// bound, every loop is bounded by the input, and the steady state (heads
// within one chunk, identity bodies) allocates nothing.
//
// It must not know about flows, destinations or content scanning: it names
// nothing and scans nothing; the Handler (appproto/demux's adapter) does.
// The directory is appproto/http; the package is named httpparse so it never
// shadows net/http.
package http
