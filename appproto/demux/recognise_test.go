package demux

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
)

// recSink records what a Flow reports, in a form that does not depend on
// how the bytes were chunked (bodies and raw bytes concatenated).
type recSink struct {
	changed  int
	urls     []string
	headers  []string
	body     [2]strings.Builder
	raw      [2]strings.Builder
	messages [2]int
	trunc    [2][]Truncation
}

func (s *recSink) Truncated(dir Dir, r Truncation) { s.trunc[dir] = append(s.trunc[dir], r) }

func (s *recSink) Changed()               { s.changed++ }
func (s *recSink) Redact(b []byte) string { return string(b) }
func (s *recSink) URL(dir Dir, path, query []byte) {
	s.urls = append(s.urls, fmt.Sprintf("%s %s?%s", dir, path, query))
}
func (s *recSink) MessageStart(dir Dir, ct, bnd []byte) { s.messages[dir]++ }
func (s *recSink) Header(dir Dir, name, value []byte) {
	s.headers = append(s.headers, fmt.Sprintf("%s %s: %s", dir, name, value))
}
func (s *recSink) Body(dir Dir, data []byte)         { s.body[dir].Write(data) }
func (s *recSink) MessageEnd(Dir)                    {}
func (s *recSink) Raw(dir Dir, b []byte) (more bool) { s.raw[dir].Write(b); return true }

// outcome is what must not depend on segmentation.
type outcome struct {
	Result  Result
	TLS     record.TLS
	HTTP    record.HTTP
	DNS     string
	Changed int
	URLs    string
	Headers string
	Body    [2]string
	Raw     [2]string
}

func (s *recSink) outcome(r *Result) outcome {
	o := outcome{Result: *r, Changed: s.changed, URLs: strings.Join(s.urls, "|"), Headers: strings.Join(s.headers, "|")}
	if r.TLS != nil {
		o.TLS = *r.TLS
	}
	if r.HTTP != nil {
		o.HTTP = *r.HTTP
	}
	if r.DNS != nil {
		o.DNS = fmt.Sprint(*r.DNS)
	}
	o.Result.TLS, o.Result.HTTP, o.Result.DNS = nil, nil, nil
	for d := range 2 {
		o.Body[d], o.Raw[d] = s.body[d].String(), s.raw[d].String()
	}
	return o
}

// conv is a TCP conversation: the client's bytes, then the server's.
type conv struct {
	name       string
	port       uint16
	out, in    []byte
	app        Proto
	nameWant   string
	sourceWant NameSource
	byBound    uint64 // directions the bound must decide
}

func dnsTCP(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

func convs() []conv {
	longTarget := "/track?" + strings.Repeat("rid=f84f54bf&", 50)
	ans := scenarios.DNSAnswer{Name: "files.example.com", Addr: netip.MustParseAddr("192.0.2.7"), TTL: 60}
	return []conv{
		{name: "http", port: 80, app: HTTP, nameWant: "api.example.com", sourceWant: FromHTTP,
			out: scenarios.HTTPRequest("POST", "/v1/upload?x=1", "api.example.com", []string{"Content-Type: application/json"}, []byte(`{"card":"4111 1111 1111 1111"}`)),
			in:  scenarios.HTTPResponse(200, "text/plain", []byte("ok"))},
		{name: "http-any-port", port: 5000, app: HTTP, nameWant: "api.example.com", sourceWant: FromHTTP,
			out: scenarios.HTTPRequest("GET", "/", "api.example.com", nil, nil),
			in:  scenarios.HTTPResponse(404, "text/plain", nil)},
		{name: "http-short", port: 80, app: HTTP,
			out: []byte("GET / HTTP/1.0\r\n\r\n"), in: []byte("HTTP/1.0 200 OK\r\n\r\nhi")},
		{name: "http-long-target", port: 8080, app: HTTP, nameWant: "adx.example.net", sourceWant: FromHTTP, byBound: 1,
			out: scenarios.HTTPRequest("GET", longTarget, "adx.example.net", nil, nil),
			in:  scenarios.HTTPResponse(204, "", nil)},
		{name: "connect", port: 3128, app: HTTP, nameWant: "vault.example.org", sourceWant: FromConnect,
			out: []byte("CONNECT vault.example.org:443 HTTP/1.1\r\nHost: vault.example.org:443\r\n\r\n"),
			in:  []byte("HTTP/1.1 200 Connection established\r\n\r\n")},
		{name: "tls", port: 443, app: TLS, nameWant: "chat.example.ai", sourceWant: FromSNI,
			out: scenarios.ClientHello("chat.example.ai", "h2", "http/1.1"), in: scenarios.TLSRecords(22, 300)},
		{name: "tls-any-port", port: 9443, app: TLS, nameWant: "chat.example.ai", sourceWant: FromSNI,
			out: scenarios.ClientHello("chat.example.ai")},
		{name: "dns-tcp", port: 53, app: DNS,
			out: dnsTCP(scenarios.DNSQuery(7, "files.example.com", 1)),
			in:  dnsTCP(scenarios.DNSResponse(7, "files.example.com", 1, ans))},
		{name: "ssh", port: 22, app: Other,
			out: []byte("SSH-2.0-OpenSSH_9.6\r\n"), in: []byte("SSH-2.0-OpenSSH_9.3\r\n")},
		{name: "smtp-verbs", port: 25, app: Other,
			out: []byte("EHLO ws\r\nMAIL FROM:<a@b>\r\n"), in: []byte("220 mx ESMTP\r\n")},
		{name: "uppercase-noise", port: 7000, app: Other,
			out: []byte(strings.Repeat("ABCDEFGH", 100))},
	}
}

// chunkings returns ways to cut n bytes: whole, 1-byte pieces, split at
// every byte in two, and random sizes.
func chunkings(n int, rng *rand.Rand) [][]int {
	var out [][]int
	out = append(out, []int{n})
	ones := make([]int, n)
	for i := range ones {
		ones[i] = 1
	}
	out = append(out, ones)
	for i := 1; i < n; i++ {
		out = append(out, []int{i, n - i})
	}
	for range 20 {
		var cut []int
		for left := n; left > 0; {
			k := min(left, 1+rng.Intn(40))
			cut = append(cut, k)
			left -= k
		}
		out = append(out, cut)
	}
	return out
}

func run(t *testing.T, c conv, outCut, inCut []int) (outcome, *Stats) {
	t.Helper()
	st := new(Stats)
	d := New(Config{Stats: st})
	f := &reassembly.Flow{Proto: capture.ProtoTCP, SrcPort: 40000, DstPort: c.port,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("192.0.2.1")}
	var fl Flow
	sink := new(recSink)
	fl.Reset(d, f, sink)
	feed := func(dir Dir, b []byte, cut []int) {
		for _, k := range cut {
			if !fl.Data(dir, b[:k], 1) {
				return
			}
			b = b[k:]
		}
	}
	feed(Out, c.out, outCut)
	feed(In, c.in, inCut)
	fl.Close()
	return sink.outcome(fl.Result()), st
}

// Recognition must not depend on how the first bytes were segmented: every
// conversation gives the same Result and the same Sink calls whether its
// bytes come whole, one byte at a time, split at any byte or in random
// pieces.
func TestRecognitionIgnoresSegmentation(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, c := range convs() {
		t.Run(c.name, func(t *testing.T) {
			want, st := run(t, c, []int{len(c.out)}, []int{len(c.in)})
			if want.Result.App != c.app || want.Result.Name != c.nameWant || want.Result.NameSource != c.sourceWant {
				t.Fatalf("whole: app %s name %q (%s), want %s %q (%s)", want.Result.App, want.Result.Name,
					want.Result.NameSource, c.app, c.nameWant, c.sourceWant)
			}
			if got := st.DecidedByBound.Load(); got != c.byBound {
				t.Errorf("whole: decided by bound %d, want %d", got, c.byBound)
			}
			inCuts := chunkings(len(c.in), rng)
			for i, cut := range chunkings(len(c.out), rng) {
				got, st := run(t, c, cut, inCuts[i%len(inCuts)])
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("chunking %d (%d pieces):\n got %+v\nwant %+v", i, len(cut), got, want)
				}
				if st.DecidedByBound.Load() != c.byBound {
					t.Fatalf("chunking %d: decided by bound %d, want %d", i, st.DecidedByBound.Load(), c.byBound)
				}
			}
		})
	}
}

// The undecided buffer is bounded: a direction that never decides (a
// request line longer than the bound) holds at most MaxUndecided bytes and
// is decided, on a best guess, when it gets there.
func TestUndecidedIsBounded(t *testing.T) {
	st := new(Stats)
	d := New(Config{Stats: st})
	f := &reassembly.Flow{Proto: capture.ProtoTCP, SrcPort: 40000, DstPort: 7000}
	var fl Flow
	fl.Reset(d, f, new(recSink))
	line := []byte("GET /" + strings.Repeat("a", 2*MaxUndecided))
	for i := 0; i < MaxUndecided-1; i++ {
		fl.Data(Out, line[i:i+1], 1)
		if fl.Result().App != Unknown {
			t.Fatalf("decided after %d bytes", i+1)
		}
	}
	fl.Data(Out, line[MaxUndecided-1:MaxUndecided+3], 1)
	if fl.Result().App != HTTP || st.DecidedByBound.Load() != 1 || len(fl.pend[Out]) != 0 || cap(fl.pend[Out]) > MaxUndecided {
		t.Fatalf("app %s, by bound %d, buffer %d/%d", fl.Result().App, st.DecidedByBound.Load(), len(fl.pend[Out]), cap(fl.pend[Out]))
	}
}

// A flow that ends (or loses bytes) while undecided is decided on what it
// sent, and counted.
func TestDecidedAtEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    string
		gap  bool
		want Proto
	}{
		{"request line cut by the end", "GET /a", false, HTTP},
		{"method only", "GET", false, Other},
		{"tls first byte", "\x16", false, Other},
		{"gap after a prefix", "POST /u", true, HTTP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := new(Stats)
			var fl Flow
			fl.Reset(New(Config{Stats: st}), &reassembly.Flow{Proto: capture.ProtoTCP, DstPort: 80}, new(recSink))
			fl.Data(Out, []byte(tc.b), 1)
			if tc.gap {
				fl.Gap(Out, 100)
			} else {
				fl.Close()
			}
			if fl.Result().App != tc.want || st.DecidedAtEnd.Load() != 1 {
				t.Fatalf("app %s, decided at end %d; want %s, 1", fl.Result().App, st.DecidedAtEnd.Load(), tc.want)
			}
		})
	}
}

type answers struct{ n int }

func (a *answers) Add(netip.Addr, string, []netip.Addr, uint32, int64) { a.n++ }

// The dispatcher and the flows learn DNS answers on complementary sets:
// every response with addresses is learned exactly once.
func TestDNSLearnedExactlyOnce(t *testing.T) {
	resp := scenarios.DNSResponse(9, "a.example", 1, scenarios.DNSAnswer{Name: "a.example", Addr: netip.MustParseAddr("192.0.2.9"), TTL: 30})
	for _, tc := range []struct {
		proto            uint8
		srcPort, dstPort uint16 // the flow's (initiator-oriented) ports
		dir              Dir    // direction the response travels
	}{
		{capture.ProtoUDP, 40000, 53, In}, {capture.ProtoUDP, 40000, 5353, In}, {capture.ProtoUDP, 5353, 5353, Out},
		{capture.ProtoUDP, 53, 40000, Out}, {capture.ProtoUDP, 53, 40000, In}, {capture.ProtoUDP, 40000, 5300, In},
		{capture.ProtoTCP, 40000, 53, In},
	} {
		var disp, flows answers
		pktSrc := tc.srcPort
		if tc.dir == In {
			pktSrc = tc.dstPort
		}
		payload := resp
		if tc.proto == capture.ProtoTCP {
			payload = dnsTCP(resp)
		}
		if tc.proto == capture.ProtoUDP {
			NewLearner(&disp).Packet(tc.proto, pktSrc, netip.MustParseAddr("10.0.0.1"), resp, 1)
		}
		var fl Flow
		fl.Reset(New(Config{Answers: &flows}), &reassembly.Flow{Proto: tc.proto, SrcPort: tc.srcPort, DstPort: tc.dstPort}, new(recSink))
		fl.Data(tc.dir, payload, 1)
		if fl.Result().App != DNS || disp.n+flows.n != 1 {
			t.Errorf("%+v: app %s, learned by dispatcher %d, by flow %d; want once", tc, fl.Result().App, disp.n, flows.n)
		}
	}
}

// The record's spelling of protocols and name sources.
func TestNames(t *testing.T) {
	if HTTP.RecordApp() != "http" || Other.RecordApp() != "" || Unknown.RecordApp() != "" || QUIC.String() != "quic" {
		t.Error("protocol names")
	}
	if FromConnect.String() != "connect" || NoName.String() != "" || FromQUIC.String() != "quic" {
		t.Error("name source names")
	}
}

// Hand-offs: an Upgrade or CONNECT names the switch and leaves the flow
// opaque (no parser reads what follows yet); decrypted plaintext re-enters
// recognition with the ALPN as the protocol.
func TestHandoff(t *testing.T) {
	newFlow := func(port uint16) (*Flow, *recSink) {
		fl, sink := new(Flow), new(recSink)
		fl.Reset(New(Config{}), &reassembly.Flow{Proto: capture.ProtoTCP, SrcPort: 40000, DstPort: port}, sink)
		return fl, sink
	}
	t.Run("websocket upgrade", func(t *testing.T) {
		fl, sink := newFlow(80)
		fl.Data(Out, []byte("GET /chat HTTP/1.1\r\nHost: ws.example\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n"), 1)
		more := fl.Data(In, []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"), 2)
		r := fl.Result()
		if !more || r.Handoff != (Handoff{Kind: Upgrade, Hint: "websocket"}) || r.Encrypted || r.App != WebSocket || sink.body[In].String() != "hello" {
			t.Fatalf("more %v, handoff %+v, encrypted %v, app %s, body %q", more, r.Handoff, r.Encrypted, r.App, sink.body[In].String())
		}
		// A client frame is masked: masking is not encryption.
		mask, msg := []byte("mask"), []byte("4111 1111 1111 1111")
		frame := append([]byte{0x81, 0x80 | byte(len(msg))}, mask...)
		for i, c := range msg {
			frame = append(frame, c^mask[i%4])
		}
		if !fl.Data(Out, frame, 3) || sink.body[Out].String() != string(msg) {
			t.Fatalf("client message %q", sink.body[Out].String())
		}
		if r.App.RecordApp() != "websocket" {
			t.Fatalf("record app %q", r.App.RecordApp())
		}
	})
	t.Run("unknown upgrade", func(t *testing.T) {
		fl, sink := newFlow(80)
		fl.Data(Out, []byte("GET /x HTTP/1.1\r\nHost: u.example\r\nUpgrade: foo/1\r\nConnection: Upgrade\r\n\r\n"), 1)
		more := fl.Data(In, []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/1\r\n\r\nopaque"), 2)
		r := fl.Result()
		if more || r.Handoff != (Handoff{Kind: Upgrade, Hint: "foo/1"}) || !r.Encrypted || sink.raw[In].Len() != 0 {
			t.Fatalf("more %v, handoff %+v, encrypted %v, raw %q", more, r.Handoff, r.Encrypted, sink.raw[In].String())
		}
	})
	t.Run("connect", func(t *testing.T) {
		fl, _ := newFlow(3128)
		fl.Data(Out, []byte("CONNECT vault.example:443 HTTP/1.1\r\nHost: vault.example:443\r\n\r\n"), 1)
		fl.Data(In, []byte("HTTP/1.1 200 Connection established\r\n\r\n"), 2)
		r := fl.Result()
		if r.Handoff != (Handoff{Kind: Connect}) || !r.Encrypted || r.NameSource != FromConnect {
			t.Fatalf("handoff %+v, encrypted %v, source %s", r.Handoff, r.Encrypted, r.NameSource)
		}
	})
	for _, alpn := range []string{"http/1.1", "h2", ""} {
		t.Run("decrypted "+alpn, func(t *testing.T) {
			fl, sink := newFlow(443)
			fl.Data(Out, scenarios.ClientHello("api.example.ai", "http/1.1"), 1)
			req := scenarios.HTTPRequest("POST", "/v1/messages", "api.example.ai", []string{"Content-Type: application/json"}, []byte(`{"k":1}`))
			// The first plaintext chunk arrives with the switch, the rest after.
			fl.switchTo(Handoff{Kind: Decrypted, Hint: alpn}, Out, req[:3])
			fl.Data(Out, req[3:], 2)
			r := fl.Result()
			if r.App != HTTP || r.HTTP == nil || r.HTTP.URI != "/v1/messages" || r.NameSource != FromSNI || sink.body[Out].String() != `{"k":1}` {
				t.Fatalf("app %s, http %+v, source %s, body %q", r.App, r.HTTP, r.NameSource, sink.body[Out].String())
			}
		})
	}
}
