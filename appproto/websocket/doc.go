// Package websocket is tapdlp's passive WebSocket parser (RFC 6455). After
// an HTTP/1.1 "101 Switching Protocols" with "Upgrade: websocket", or an
// RFC 8441 extended CONNECT on an HTTP/2 stream, the app-layer demux feeds
// each direction's bytes to a Parser, which reads frames, unmasks client
// frames (masking is not encryption), streams text and binary messages —
// fragmented ones reassembled in order — to a Handler, inflates
// permessage-deflate (RFC 7692) messages with or without context takeover
// as negotiated in the handshake, and reports control frames.
//
// The input is hostile: nothing is buffered but a frame header and a
// control payload (125 bytes), decoded output per message is capped,
// inflation is budgeted by decoded bytes per message (a ratio stops it only beyond the budget), and every drop is counted in Stats.
//
// It must not know about flows, destinations or PII: it names nothing and
// scans nothing; the Handler does.
package websocket
