// Package grpc reads gRPC traffic (gRPC over HTTP/2) passively: a Reader
// splits one stream direction's DATA bytes (delivered by appproto/http2)
// into length-prefixed messages, however they were cut across frames,
// decompresses them per grpc-encoding (gzip, deflate, snappy) under a
// budget of decoded bytes (the ratio only names a cut message a bomb), and
// hands each message to a Handler; WalkText walks
// a protobuf message without its schema and yields every length-delimited
// field that is text, recursing into nested messages to a bounded depth,
// without allocating; ParsePath splits :path into service and method.
//
// It must not know about flows, destinations or PII: it finds text, the
// caller scans it.
package grpc
