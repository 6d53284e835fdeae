package demux

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
	"github.com/tapdlp/tapdlp/reassembly"
)

// logSink records the Sink calls per direction as a log, so message
// boundaries are visible.
type logSink struct {
	recSink
	log [2][]string
}

func (s *logSink) MessageStart(dir Dir, ct, _ []byte) {
	s.log[dir] = append(s.log[dir], "start "+string(ct))
}
func (s *logSink) Body(dir Dir, b []byte) {
	s.recSink.Body(dir, b)
	s.log[dir] = append(s.log[dir], fmt.Sprintf("body %q", b))
}
func (s *logSink) MessageEnd(dir Dir) { s.log[dir] = append(s.log[dir], "end") }

// h2Frames builds client or server frames with x/net's Framer and HPACK.
type h2Frames struct {
	buf bytes.Buffer
	fr  *http2.Framer
	hb  bytes.Buffer
	enc *hpack.Encoder
}

func newH2Frames(client bool) *h2Frames {
	f := &h2Frames{}
	if client {
		f.buf.WriteString(http2.ClientPreface)
	}
	f.fr = http2.NewFramer(&f.buf, nil)
	f.enc = hpack.NewEncoder(&f.hb)
	f.fr.WriteSettings()
	return f
}

func (f *h2Frames) headers(id uint32, end bool, kv ...string) {
	f.hb.Reset()
	for i := 0; i < len(kv); i += 2 {
		f.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	f.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: f.hb.Bytes(), EndHeaders: true, EndStream: end})
}

func (f *h2Frames) data(id uint32, end bool, b string) { f.fr.WriteData(id, end, []byte(b)) }

func newTCPFlow(port uint16, sink Sink) *Flow {
	fl := new(Flow)
	fl.Reset(New(Config{}), &reassembly.Flow{Proto: capture.ProtoTCP, SrcPort: 40000, DstPort: port}, sink)
	return fl
}

// Prior knowledge on any port, the preface arriving a byte at a time; two
// interleaved request streams never share a Sink message, so a value can
// only be found within one stream.
func TestHTTP2PriorKnowledge(t *testing.T) {
	c := newH2Frames(true)
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":authority", "API.Example.ai:8443", ":path", "/v1/x?card=1", "content-type", "application/json", "user-agent", "ua/1")
	c.headers(3, false, ":method", "PUT", ":scheme", "http", ":authority", "other.example", ":path", "/b", "content-type", "text/csv")
	c.data(1, false, `{"card":"4111 1111`)
	c.data(3, false, `a,b`)
	c.data(1, true, ` 1111 1111"}`)
	c.data(3, true, `c,d`)
	s := newH2Frames(false)
	s.headers(1, false, ":status", "201", "content-type", "text/plain")
	s.data(1, true, "ok")
	s.headers(3, true, ":status", "204")

	sink := new(logSink)
	fl := newTCPFlow(5555, sink)
	cb := c.buf.Bytes()
	for i := range 30 {
		fl.Data(Out, cb[i:i+1], 1)
	}
	fl.Data(Out, cb[30:], 1)
	fl.Data(In, s.buf.Bytes(), 2)
	fl.Close()
	r := fl.Result()
	if r.App != HTTP2 || r.App.RecordApp() != "http" || r.Name != "api.example.ai" || r.NameSource != FromHTTP {
		t.Fatalf("app %s, name %q from %s", r.App, r.Name, r.NameSource)
	}
	h := r.HTTP
	if h == nil || h.Version != "2" || h.Method != "POST" || h.URI != "/v1/x" || h.Status != 201 || h.Requests != 2 || h.Streams != 2 || h.UserAgent != "ua/1" {
		t.Fatalf("http %+v", h)
	}
	if got := strings.Join(sink.urls, "|"); got != "out /v1/x?card=1|out /b?" {
		t.Errorf("urls %q", got)
	}
	want := []string{
		"start application/json", "end", // stream 1's header fields
		"start text/csv", "end", // stream 3's
		"start application/json", `body "{\"card\":\"4111 1111"`, "end",
		"start text/csv", `body "a,b"`, "end",
		"start application/json", `body " 1111 1111\"}"`, "end",
		"start text/csv", `body "c,d"`, "end",
	}
	if got := sink.log[Out]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("out log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sink.body[In].String() != "ok" {
		t.Errorf("in body %q", sink.body[In].String())
	}
	for _, hd := range sink.headers {
		if strings.Contains(hd, ":path") {
			t.Errorf("path delivered as a header: %q", hd)
		}
	}
}

// gRPC messages' text fields are scanned (one per line), the record names
// the first call.
func TestHTTP2GRPC(t *testing.T) {
	// protobuf: field 1 (string) "card 4111111111111111", field 2 varint 7.
	text := "card 4111111111111111"
	pb := append([]byte{0x0a, byte(len(text))}, text...)
	pb = append(pb, 0x10, 0x07)
	msg := append([]byte{0, 0, 0, 0, byte(len(pb))}, pb...)
	c := newH2Frames(true)
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":authority", "vault.example", ":path", "/pkg.Vault/Store", "content-type", "application/grpc+proto")
	c.data(1, false, string(msg[:3]))
	c.data(1, true, string(msg[3:]))
	sink := new(logSink)
	fl := newTCPFlow(50051, sink)
	fl.Data(Out, c.buf.Bytes(), 1)
	fl.Close()
	r := fl.Result()
	if r.GRPC == nil || r.GRPC.Service != "pkg.Vault" || r.GRPC.Method != "Store" {
		t.Fatalf("grpc %+v", r.GRPC)
	}
	if got := sink.body[Out].String(); got != text+"\n" {
		t.Fatalf("scanned %q", got)
	}
}

// Decrypted plaintext with ALPN h2 is parsed as HTTP/2; an h2 hint the
// client contradicts falls back to recognition.
func TestDecryptedH2(t *testing.T) {
	c := newH2Frames(true)
	c.headers(1, true, ":method", "GET", ":scheme", "https", ":authority", "chat.example.ai", ":path", "/")
	sink := new(logSink)
	fl := newTCPFlow(443, sink)
	fl.Data(Out, scenarios.ClientHello("chat.example.ai", "h2"), 1)
	b := c.buf.Bytes()
	fl.switchTo(Handoff{Kind: Decrypted, Hint: "h2"}, Out, b[:5])
	fl.Data(Out, b[5:], 2)
	r := fl.Result()
	if r.App != HTTP2 || r.HTTP == nil || r.HTTP.Version != "2" || r.NameSource != FromSNI || r.Encrypted {
		t.Fatalf("app %s, http %+v, source %s", r.App, r.HTTP, r.NameSource)
	}

	fl = newTCPFlow(443, new(logSink))
	fl.Data(Out, scenarios.ClientHello("chat.example.ai", "h2"), 1)
	fl.switchTo(Handoff{Kind: Decrypted, Hint: "h2"}, Out, []byte("GET / HTTP/1.1\r\nHost: chat.example.ai\r\n\r\n"))
	if r := fl.Result(); r.App != HTTP || r.HTTP == nil || r.HTTP.Version != "" {
		t.Fatalf("fallback: app %s, http %+v", r.App, r.HTTP)
	}
}

// A stream's DATA frames cost no allocation once the stream is open (the
// per-packet path).
func TestHTTP2DataDoesNotAllocate(t *testing.T) {
	c := newH2Frames(true)
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":authority", "a.example", ":path", "/", "content-type", "application/json")
	fl := newTCPFlow(80, nopSink{})
	fl.Data(Out, c.buf.Bytes(), 1)
	d := newH2Frames(false)
	d.buf.Reset()
	d.data(1, false, strings.Repeat("x", 1000))
	frame := d.buf.Bytes()
	if n := testing.AllocsPerRun(200, func() { fl.Data(Out, frame, 2) }); n != 0 {
		t.Fatalf("%.1f allocations per DATA frame", n)
	}
}

// BenchmarkBody: the demux's cost per body byte, HTTP/1 (Content-Length)
// against HTTP/2 (16 KiB DATA frames), one 1 MiB request per flow, before
// any scanning (nopSink).
func BenchmarkBody(b *testing.B) {
	body := strings.Repeat("lorem ipsum dolor sit amet ", 40000)[:1<<20]
	h1 := []byte(fmt.Sprintf("POST /u HTTP/1.1\r\nHost: a.example\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
	c := newH2Frames(true)
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":authority", "a.example", ":path", "/u", "content-type", "text/plain")
	for i := 0; i < len(body); i += 16384 {
		c.data(1, i+16384 >= len(body), body[i:min(len(body), i+16384)])
	}
	h2 := c.buf.Bytes()
	for _, tc := range []struct {
		name string
		b    []byte
	}{{"http1", h1}, {"http2", h2}} {
		b.Run(tc.name, func(b *testing.B) {
			d := New(Config{})
			f := &reassembly.Flow{Proto: capture.ProtoTCP, SrcPort: 40000, DstPort: 80}
			var fl Flow
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for range b.N {
				fl.Reset(d, f, nopSink{})
				for p := tc.b; len(p) > 0; p = p[min(len(p), 1448):] {
					fl.Data(Out, p[:min(len(p), 1448)], 1)
				}
				fl.Close()
			}
		})
	}
}
