package http2

import (
	"bytes"
	"strconv"
	"testing"

	"golang.org/x/net/http2"

	h1 "github.com/tapdlp/tapdlp/appproto/http"
)

// benchBody is JSON-like text, the kind of body the scanner reads.
func benchBody(n int) []byte {
	var b bytes.Buffer
	x := uint32(7)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteString(`{"id":` + strconv.Itoa(int(x%100000)) + `,"email":"user` + strconv.Itoa(int(x%977)) + `@example.com"}` + "\n")
	}
	return b.Bytes()[:n]
}

type h1Nop struct{ n int64 }

func (h *h1Nop) Start(*h1.Message)                  {}
func (h *h1Nop) Header(*h1.Message, []byte, []byte) {}
func (h *h1Nop) Body(m *h1.Message, b []byte)       { h.n += int64(len(b)) }
func (h *h1Nop) End(*h1.Message)                    {}
func (h *h1Nop) Stop(h1.Side, h1.Reason)            {}

func feedChunks(b []byte, chunk int, f func([]byte)) {
	for len(b) > 0 {
		n := min(len(b), chunk)
		f(b[:n])
		b = b[n:]
	}
}

// BenchmarkBody compares body delivery of the same bodies over HTTP/1.1
// (appproto/http) and HTTP/2 (this package), fed in MSS-sized chunks. MB/s
// counts body bytes delivered; identity bodies must be 0 allocs/op, coded
// ones allocate per message (the decoder coroutine), not per chunk.
func BenchmarkBody(b *testing.B) {
	plain := benchBody(64 << 10)
	for _, coding := range []string{"identity", "gzip"} {
		body := plain
		if coding == "gzip" {
			body = encode(b, "gzip", plain)
		}
		// HTTP/1.1 response with Content-Length.
		hdr := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
		if coding != "identity" {
			hdr += "Content-Encoding: " + coding + "\r\n"
		}
		msg1 := append([]byte(hdr+"\r\n"), body...)
		b.Run("http1/"+coding, func(b *testing.B) {
			h := &h1Nop{}
			p := h1.NewParser(h1.Response, h1.Config{}, nil, h)
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				feedChunks(msg1, 1448, func(c []byte) { p.Feed(c) })
			}
			if h.n != int64(b.N)*int64(len(plain)) {
				b.Fatalf("delivered %d bytes, want %d", h.n, int64(b.N)*int64(len(plain)))
			}
		})
		// HTTP/2: the request (HEADERS, END_STREAM) then the response in
		// 16 KiB DATA frames, on a stream that closes each time.
		// The first blocks fill the HPACK tables (fed once, before the
		// timer); the replayed ones are all indexed, as a long-lived
		// connection's repeated requests are.
		cw, sw := newWire(true), newWire(false)
		reqFields := []string{":method", "GET", ":scheme", "https", ":authority", "api.example.com", ":path", "/v1/items"}
		fields := []string{":status", "200", "content-type", "application/json"}
		if coding != "identity" {
			fields = append(fields, "content-encoding", coding)
		}
		cw.headers(1, true, reqFields...)
		sw.headers(1, true, fields...)
		warmReq, warmResp := bytes.Clone(cw.buf.Bytes()), bytes.Clone(sw.buf.Bytes())
		cw.buf.Reset()
		sw.buf.Reset()
		cw.headers(1, true, reqFields...)
		sw.headers(1, false, fields...)
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 16384)
			sw.fr.WriteData(1, n == len(rest), rest[:n])
			rest = rest[n:]
		}
		reqBytes, respBytes := bytes.Clone(cw.buf.Bytes()), bytes.Clone(sw.buf.Bytes())
		b.Run("http2/"+coding, func(b *testing.B) {
			h := &nopHandler{}
			c := NewConn(Config{}, h)
			c.Feed(Request, warmReq)
			c.Feed(Response, warmResp)
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c.Feed(Request, reqBytes)
				feedChunks(respBytes, 1448, func(p []byte) { c.Feed(Response, p) })
			}
			if h.n != int64(b.N)*int64(len(plain)) || c.Stopped(Response) || c.Stopped(Request) {
				b.Fatalf("delivered %d bytes, want %d", h.n, int64(b.N)*int64(len(plain)))
			}
		})
	}
}

var _ = http2.ClientPreface
