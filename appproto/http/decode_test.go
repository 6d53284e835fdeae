package http

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// bombGzip is 1 GiB of zeros as 1024 concatenated gzip members (RFC 1952
// allows members back to back), about 1 MB on the wire.
func bombGzip() []byte {
	member := gzipped(make([]byte, 1<<20))
	return bytes.Repeat(member, 1024)
}

func bombZstd() []byte {
	frame := zstded(make([]byte, 1<<20))
	return bytes.Repeat(frame, 1024)
}

// TestBomb: a decompression bomb stops at the ratio/cap quickly, decodes at
// most MaxDecoded bytes, and allocates little, while framing goes on to the
// next message.
func TestBomb(t *testing.T) {
	for _, tc := range []struct {
		name, coding string
		body         []byte
		bomb         bool // beyond MaxRatio: reported as a bomb, not only truncated
	}{
		{"gzip", "gzip", bombGzip(), true},
		{"zstd", "zstd", bombZstd(), true},
		{"brotli", "br", brotlied(make([]byte, 64<<20)), true},
		{"stacked", "gzip, gzip", gzipped(bombGzip()), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := []byte("HTTP/1.1 200 OK\r\nContent-Encoding: " + tc.coding + "\r\nContent-Length: " + itoa(len(tc.body)) + "\r\n\r\n")
			next := []byte("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")
			st := &Stats{}
			r := &recorder{}
			p := NewParser(Response, Config{Stats: st}, nil, r)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			p.Feed(head)
			for b := tc.body; len(b) > 0; {
				n := min(len(b), 1460)
				p.Feed(b[:n])
				b = b[n:]
			}
			p.Feed(next)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			p.Close()
			if elapsed > 3*time.Second {
				t.Errorf("bomb took %v", elapsed)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 24<<20 {
				t.Errorf("bomb allocated %d bytes", alloc)
			}
			log := r.String()
			// The budget stopped it; the ratio names it a bomb.
			want := "flags=1\n"
			if tc.bomb {
				want = "flags=11\n"
			}
			if !strings.Contains(log, want) {
				t.Errorf("want %q:\n%s", want, log)
			}
			if len(r.bodies) != 2 || len(r.bodies[0]) > defaultMaxDecoded || r.bodies[1] != "next" {
				t.Errorf("bodies: %d, first %d bytes", len(r.bodies), len(r.bodies[0]))
			}
			if st.Truncated.Load() != 1 || (st.Bombs.Load() == 1) != tc.bomb {
				t.Errorf("bombs %d truncated %d", st.Bombs.Load(), st.Truncated.Load())
			}
			t.Logf("%s: %d coded bytes, stopped after %d decoded in %v", tc.name, len(tc.body), len(r.bodies[0]), elapsed)
		})
	}
}

// TestDecodedCap: a body that compresses only moderately stops at the
// configured cap, flagged truncated, not bomb.
func TestDecodedCap(t *testing.T) {
	var text strings.Builder
	for i := 0; text.Len() < 200<<10; i++ {
		text.WriteString("line " + itoa(i) + " of a long log file with varying numbers\n")
	}
	body := gzipped([]byte(text.String()))
	in := cat([]byte("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "+itoa(len(body))+"\r\n\r\n"), body)
	r := parse(Response, Config{MaxDecoded: 64 << 10}, nil, in)
	if len(r.bodies) != 1 || len(r.bodies[0]) != 64<<10 || r.bodies[0] != text.String()[:64<<10] {
		t.Fatalf("got %d bodies, %d bytes", len(r.bodies), len(r.bodies[0]))
	}
	if log := r.String(); !strings.HasSuffix(log, "flags=1") {
		t.Fatalf("not flagged truncated:\n%s", log)
	}
}

// TestCloseReleasesDecoder: a flow that ends inside a coded body must not
// leave its decoder coroutine behind.
func TestCloseReleasesDecoder(t *testing.T) {
	body := gzipped(bytes.Repeat([]byte("abcdefgh"), 10000))
	before := runtime.NumGoroutine()
	for range 100 {
		p := NewParser(Response, Config{}, nil, &nopHandler{})
		p.Feed([]byte("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n"))
		p.Feed(body[:len(body)/2])
		p.Close()
	}
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Fatalf("goroutines %d -> %d", before, after)
	}
}

// TestDecodeAllocsPerChunk: once a coded message is under way, feeding
// more chunks does not allocate.
func TestDecodeAllocsPerChunk(t *testing.T) {
	// Pseudo-random digits compress about 2:1, so a few hundred KiB give
	// enough coded chunks to measure.
	var text strings.Builder
	x := uint32(1)
	for text.Len() < 512<<10 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		text.WriteString("record " + itoa(int(x%1000003)) + "\n")
	}
	for _, tc := range []struct {
		name, coding string
		body         []byte
	}{
		{"gzip", "gzip", gzipped([]byte(text.String()))},
		{"deflate", "deflate", zlibbed([]byte(text.String()))},
		{"zstd", "zstd", zstded([]byte(text.String()))},
		{"brotli", "br", brotlied([]byte(text.String()))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &nopHandler{}
			p := NewParser(Response, Config{MaxDecoded: 1 << 40}, nil, h)
			p.Feed([]byte("HTTP/1.1 200 OK\r\nContent-Encoding: " + tc.coding + "\r\nContent-Length: " + itoa(len(tc.body)) + "\r\n\r\n"))
			b := tc.body
			feed := func() {
				n := min(len(b), 1400)
				p.Feed(b[:n])
				b = b[n:]
			}
			for range 20 { // warm up decoder tables and windows
				feed()
			}
			if allocs := testing.AllocsPerRun(50, feed); allocs != 0 {
				t.Errorf("%v allocations per chunk", allocs)
			}
			if h.n < 70*1400 || p.Stopped() {
				t.Errorf("decoded only %d bytes (stopped %v)", h.n, p.Stopped())
			}
			p.Close()
		})
	}
}
