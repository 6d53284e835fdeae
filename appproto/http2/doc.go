// Package http2 is tapdlp's passive HTTP/2 parser (RFC 9113). It is fed the
// reassembled bytes of both directions of one connection in arbitrary
// chunks — after the client preface (prior knowledge, or a decrypted h2
// stream), or after an HTTP/1.1 "Upgrade: h2c" exchange, in which case the
// HTTP/1 request is stream 1 — and reports each stream's request and
// response through a Handler modelled on appproto/http's: message heads
// (method, :authority, :path, :scheme, :protocol, status, content-type,
// content-encoding), every header field (HPACK-decoded), decoded body bytes
// (gzip, deflate, br, zstd, under a byte cap and a ratio limit), trailers,
// ends (END_STREAM, RST_STREAM, eviction) and a one-time stop per
// direction. Stream and side say where every byte came from.
//
// The input is hostile: the parser never panics and every structure is
// bounded — tracked streams (least recently used evicted), the HPACK
// dynamic table (our cap, whatever SETTINGS says), the decoded header list
// (an HPACK bomb is cut and counted), the encoded header block. Every drop
// has a counter in Stats. DATA frames are streamed, never buffered, and
// cost no allocation.
//
// It must not know about flows, destinations or PII: it names nothing and
// scans nothing; the Handler (the pipeline, through the app-layer demux)
// does. gRPC messages and WebSocket frames carried in a stream are handed
// on as body bytes: appproto/grpc and appproto/websocket parse them.
package http2
