package http

import (
	"bytes"
	"strings"
	"testing"
)

// fuzzParse feeds data cut at positions derived from seed and checks the
// invariants every hostile input must keep: no panic, one End per Start,
// at most one Stop, decoded bytes within the cap, and the same events as
// when the data comes in one piece.
func fuzzParse(t *testing.T, side Side, methods []MethodKind, data []byte, seed uint64) {
	cfg := Config{MaxDecoded: 64 << 10, MaxHeaderBytes: 4 << 10, MaxHeaders: 32}
	h := &checkHandler{t: t, max: cfg.MaxDecoded, recorder: recorder{loose: true}}
	var cuts []int
	for off := 0; off < len(data); {
		seed = seed*6364136223846793005 + 1442695040888963407
		off += 1 + int(seed>>33)%64
		if off < len(data) {
			cuts = append(cuts, off)
		}
	}
	whole := parseWith(side, cfg, methods, data, &recorder{loose: true})
	split := parseWith(side, cfg, methods, data, h, cuts...)
	if h.open {
		t.Fatal("message started but never ended")
	}
	if h.stops > 1 {
		t.Fatalf("%d stops", h.stops)
	}
	if w, s := whole.String(), split.String(); w != s {
		t.Fatalf("cut input differs:\n%s\nwhole:\n%s", s, w)
	}
}

// checkHandler asserts the Handler contract and records like recorder.
type checkHandler struct {
	recorder
	t       *testing.T
	open    bool
	stops   int
	decoded int64
	max     int64
}

func (h *checkHandler) Start(m *Message) {
	if h.open {
		h.t.Fatal("Start inside a message")
	}
	h.open, h.decoded = true, 0
	h.recorder.Start(m)
}
func (h *checkHandler) Header(m *Message, name, value []byte) {
	if !h.open {
		h.t.Fatal("Header outside a message")
	}
	h.recorder.Header(m, name, value)
}
func (h *checkHandler) Body(m *Message, b []byte) {
	h.decoded += int64(len(b))
	if m.NCodings > 0 && !m.Flags.Has(FlagUndecoded) && h.decoded > h.max {
		h.t.Fatalf("decoded %d bytes over the cap %d", h.decoded, h.max)
	}
	h.recorder.Body(m, b)
}
func (h *checkHandler) End(m *Message) {
	if !h.open {
		h.t.Fatal("End without Start")
	}
	h.open = false
	h.recorder.End(m)
}

func (h *checkHandler) Stop(s Side, r Reason) {
	h.stops++
	h.recorder.Stop(s, r)
}

func FuzzRequestParser(f *testing.F) {
	for _, tc := range requestCases() {
		f.Add(tc.input, uint64(len(tc.input)))
	}
	// Stops whose remainder must be scanned raw (see TestStopLeavesUnparsed).
	for _, in := range []string{
		manyHeaders(129),
		"GET / HTTP/1.1\r\nX-Long: " + strings.Repeat("a", 5<<10) + "\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n\x00\x01garbage 4111111111111111",
		"POST / HTTP/1.1\r\nTransfer-Encoding: frob\r\n\r\nssn=123-45-6789",
		"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 15\r\n\r\nssn=123-45-6789",
	} {
		f.Add([]byte(in), uint64(len(in)))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		fuzzParse(t, Request, nil, data, seed)
	})
}

func FuzzResponseParser(f *testing.F) {
	for _, tc := range responseCases() {
		f.Add(tc.input, uint64(len(tc.input)), byte(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, method byte) {
		methods := []MethodKind{MethodKind(method % 4), MethodOther, MethodHEAD}
		fuzzParse(t, Response, methods, data, seed)
	})
}

// FuzzContentDecoding feeds arbitrary coded bodies through every coding
// (and a stacked pair) under random chunking.
func FuzzContentDecoding(f *testing.F) {
	text := bytes.Repeat([]byte("secret=4111111111111111&user=alice\n"), 20)
	for i, enc := range [][]byte{gzipped(text), zlibbed(text), rawDeflated(text), zstded(text), brotlied(text), brotlied(gzipped(text))} {
		f.Add(enc, byte(i), uint64(i))
	}
	// Plaintext labelled gzip, a bogus coding, a stack too deep, and files
	// sent without a coding (opened by their magic number).
	f.Add(text, byte(0), uint64(7))
	f.Add(text, byte(7), uint64(8))
	f.Add(gzipped(text), byte(8), uint64(9))
	f.Add(gzipped(text), byte(9), uint64(10))
	f.Add(zstded(text), byte(9), uint64(11))
	f.Add(zipped(text), byte(9), uint64(13))
	f.Add(append(gzipped(text)[:20], text...), byte(9), uint64(12))
	codings := []string{"gzip", "deflate", "deflate", "zstd", "br", "gzip, br", "zstd, deflate", "x-bogus", "gzip, gzip, gzip", "identity"}
	f.Fuzz(func(t *testing.T, body []byte, which byte, seed uint64) {
		ce := codings[int(which)%len(codings)]
		msg := append([]byte("HTTP/1.1 200 OK\r\nContent-Encoding: "+ce+"\r\nContent-Length: "+itoa(len(body))+"\r\n\r\n"), body...)
		msg = append(msg, "HTTP/1.1 204 No Content\r\n\r\n"...)
		fuzzParse(t, Response, nil, msg, seed)
	})
}
