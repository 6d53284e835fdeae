// Package bodydec undoes content codings (gzip, deflate, raw deflate, br,
// zstd, snappy) on bytes that are pushed in arbitrary chunks, as the
// app-layer parsers (HTTP/2 bodies, gRPC messages, WebSocket
// permessage-deflate) and the content scanner (a .gz, .zst or .zip file
// inside a multipart/form-data part) receive them. It started as a copy of
// appproto/http's body decoder with the API exported so the parsers behind
// the demux share one implementation; it lives under internal/ so that
// classify, which may not import appproto, opens files by their magic
// number the same way (Sniff) under the same budget.
//
// It must not know about flows, protocols or content scanning: caps and
// ratio limits are the Sink's decision.
package bodydec

import "bytes"

// Coding is a content coding the Decoder can undo.
type Coding uint8

// Codings. CodingUnknown is never decoded.
const (
	CodingNone Coding = iota
	CodingGzip
	CodingDeflate // zlib-wrapped, raw deflate accepted (servers send both)
	CodingZstd
	CodingBrotli
	CodingRawDeflate // RFC 1951 without a zlib header (WebSocket)
	CodingSnappy     // the snappy framing format (gRPC "snappy")
	// CodingZip is a zip archive read front to back (never a content
	// coding: a body recognised by its magic number); its stored and
	// deflated entries are delivered one after the other, each followed
	// by a line break.
	CodingZip
	CodingUnknown
)

var codingNames = [...]string{"identity", "gzip", "deflate", "zstd", "br", "raw-deflate", "snappy", "zip", "unknown"}

// String returns the coding's token.
func (c Coding) String() string {
	if int(c) < len(codingNames) {
		return codingNames[c]
	}
	return "unknown"
}

// MaxCodings bounds stacked codings; a longer list is not decoded.
const MaxCodings = 2

// ParseCoding maps one content-coding token (case-insensitive, trimmed) to
// a Coding: CodingNone for identity or empty, CodingUnknown for anything it
// cannot undo. It does not allocate.
func ParseCoding(tok []byte) Coding {
	tok = bytes.TrimSpace(tok)
	var buf [16]byte
	if len(tok) > len(buf) {
		return CodingUnknown
	}
	n := copy(buf[:], tok)
	for i := range n {
		if c := buf[i]; 'A' <= c && c <= 'Z' {
			buf[i] = c + 'a' - 'A'
		}
	}
	switch string(buf[:n]) {
	case "", "identity":
		return CodingNone
	case "gzip", "x-gzip":
		return CodingGzip
	case "deflate":
		return CodingDeflate
	case "zstd":
		return CodingZstd
	case "br":
		return CodingBrotli
	case "snappy":
		return CodingSnappy
	}
	return CodingUnknown
}

// ParseCodings parses a Content-Encoding list into dst (in the order the
// codings were applied), skipping identity. It returns the number stored
// and ok=false when a coding is unknown or there are more than len(dst).
func ParseCodings(v []byte, dst []Coding) (n int, ok bool) {
	ok = true
	for len(v) > 0 {
		tok := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		c := ParseCoding(tok)
		switch {
		case c == CodingNone:
			continue
		case c == CodingUnknown || n == len(dst):
			ok = false
			continue
		}
		dst[n] = c
		n++
	}
	return n, ok
}

// SniffLen is how many first bytes Sniff needs.
const SniffLen = 4

// Sniff recognises a file the Decoder can open by its first SniffLen
// bytes: gzip (RFC 1952, deflate method), a zstd frame or a zip archive
// (a local file header). Anything else, or fewer bytes, is CodingNone.
// It is the one test of "is this a compressed file" that the HTTP parser
// (a body without a coding) and the content scanner (a multipart file
// part) share.
func Sniff(m []byte) Coding {
	if len(m) < SniffLen {
		return CodingNone
	}
	switch {
	case m[0] == 0x1f && m[1] == 0x8b && m[2] == 8:
		return CodingGzip
	case m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd:
		return CodingZstd
	case m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4:
		return CodingZip
	}
	return CodingNone
}
