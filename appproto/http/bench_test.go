package http

import (
	"bytes"
	"testing"
)

func benchMessages(b *testing.B, p *Parser, msg []byte, chunk int) {
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for m := msg; len(m) > 0; {
			n := min(len(m), chunk)
			p.Feed(m[:n])
			m = m[n:]
		}
	}
	if p.Stopped() {
		b.Fatal("parser stopped")
	}
}

// BenchmarkRequestJSON: a keep-alive POST with a JSON body, fed in
// MSS-sized chunks (identity body: must be 0 allocs/op).
func BenchmarkRequestJSON(b *testing.B) {
	body := bytes.Repeat(jsonBody, 16)
	msg := cat([]byte("POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nUser-Agent: python-requests/2.31\r\nAuthorization: Bearer sk-test\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\nContent-Length: "+itoa(len(body))+"\r\n\r\n"), body)
	for _, chunk := range []int{1448, 64 << 10} {
		b.Run("chunk"+itoa(chunk), func(b *testing.B) {
			benchMessages(b, NewParser(Request, Config{}, nil, &nopHandler{}), msg, chunk)
		})
	}
}

// BenchmarkRequestHeadersOnly: small GETs, the head path alone.
func BenchmarkRequestHeadersOnly(b *testing.B) {
	msg := []byte("GET /search?q=x HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\nCookie: a=b; c=d\r\n\r\n")
	benchMessages(b, NewParser(Request, Config{}, nil, &nopHandler{}), msg, 1448)
}

// BenchmarkResponseCoded: a 64 KiB coded response per coding; MB/s is of
// wire bytes, decoded-MB/s of entity bytes. Allocations are per message
// (the decoder coroutine), none per chunk.
func BenchmarkResponseCoded(b *testing.B) {
	var text bytes.Buffer
	x := uint32(7)
	for text.Len() < 64<<10 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		text.WriteString(`{"id":` + itoa(int(x%100000)) + `,"email":"user` + itoa(int(x%977)) + `@example.com"}` + "\n")
	}
	for _, tc := range []struct {
		name string
		body []byte
	}{{"gzip", gzipped(text.Bytes())}, {"deflate", zlibbed(text.Bytes())}, {"zstd", zstded(text.Bytes())}, {"br", brotlied(text.Bytes())}} {
		b.Run(tc.name, func(b *testing.B) {
			msg := cat([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: "+tc.name+"\r\nContent-Length: "+itoa(len(tc.body))+"\r\n\r\n"), tc.body)
			h := &nopHandler{}
			benchMessages(b, NewParser(Response, Config{}, nil, h), msg, 1448)
			if h.n != b.N*text.Len() {
				b.Fatalf("decoded %d bytes, want %d", h.n, b.N*text.Len())
			}
			b.ReportMetric(float64(h.n)/b.Elapsed().Seconds()/1e6, "decoded-MB/s")
		})
	}
}

// BenchmarkPerFlow: one short connection per iteration, as the short-flow
// mix has them: a recycled Parser pair is Reset and reads a POST with a
// small JSON body and its response (the parsers' own cost per flow; must
// be 0 allocs/op).
func BenchmarkPerFlow(b *testing.B) {
	body := jsonBody
	req := cat([]byte("POST /v1/records HTTP/1.1\r\nHost: ingest.example-saas.com\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\nContent-Type: application/json\r\nContent-Length: "+itoa(len(body))+"\r\n\r\n"), body)
	resp := []byte("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\nDate: Fri, 04 Dec 2026 00:00:00 GMT\r\n\r\n{\"ok\":true}")
	var pair Pairing
	h := &nopHandler{}
	var rq, rs Parser
	b.SetBytes(int64(len(req) + len(resp)))
	b.ReportAllocs()
	for b.Loop() {
		pair.Reset()
		rq.Reset(Request, Config{}, &pair, h)
		rs.Reset(Response, Config{}, &pair, h)
		rq.Feed(req)
		rs.Feed(resp)
		if rq.Stopped() || rs.Stopped() || rs.Messages() != 1 {
			b.Fatal("not parsed")
		}
	}
}
