//lint:file-ignore SA1019 x/net/http2's h2c server and client are deliberate: they are the independent implementation the parser is tested against.

package sse

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	h2 "github.com/tapdlp/tapdlp/appproto/http2"
	"github.com/tapdlp/tapdlp/internal/tapconn"
)

type evRec struct {
	events []string
	cur    strings.Builder
}

func (r *evRec) Data(ev *Event, b []byte) { r.cur.Write(b) }
func (r *evRec) End(ev *Event) {
	r.events = append(r.events, fmt.Sprintf("%d|%s|%s|%d|%q|%x", ev.Seq, ev.Type, ev.ID, ev.Retry, r.cur.String(), ev.Flags))
	r.cur.Reset()
}

func parseAll(in string, cut int) []string {
	r := &evRec{}
	p := NewParser(Config{MaxEvent: 64}, r)
	b := []byte(in)
	for len(b) > 0 {
		n := len(b)
		if cut > 0 {
			n = min(n, cut)
		}
		p.Feed(b[:n])
		b = b[n:]
	}
	p.Close()
	return r.events
}

func TestParser(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"lf", "data: hello\n\n", []string{`1|||-1|"hello"|0`}},
		{"crlf multi-line", "data: a\r\ndata:b\r\n\r\n", []string{`1|||-1|"a\nb"|0`}},
		{"cr", "data: x\rdata:  y\r\r", []string{`1|||-1|"x\n y"|0`}},
		{"fields", "event: delta\nid: 7\nretry: 3000\ndata: {\"t\":1}\n\n", []string{`1|delta|7|3000|"{\"t\":1}"|0`}},
		{"comment and unknown", ": keepalive\nfoo: bar\ndata: z\n\n", []string{`1|||-1|"z"|0`}},
		{"no data, no event", "event: ping\n\ndata: q\n\n", []string{`1|||-1|"q"|0`}},
		{"id persists", "id: 1\ndata: a\n\ndata: b\n\n", []string{`1||1|-1|"a"|0`, `2||1|-1|"b"|0`}},
		{"bad retry ignored", "retry: 12x\ndata: a\n\n", []string{`1|||-1|"a"|0`}},
		{"empty retry ignored", "retry:\nretry\ndata: a\n\n", []string{`1|||-1|"a"|0`}},
		{"no colon", "data\ndata\n\n", []string{`1|||-1|"\n"|0`}},
		{"bom", "\xef\xbb\xbfdata: a\n\n", []string{`1|||-1|"a"|0`}},
		{"unterminated", "data: tail", []string{`1|||-1|"tail"|2`}},
		{"cap", "data: " + strings.Repeat("x", 100) + "\n\n", []string{`1|||-1|"` + strings.Repeat("x", 64) + `"|1`}},
		{"long name skipped", "dataaaaaaaaaa: x\ndata: y\n\n", []string{`1|||-1|"y"|0`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cut := range []int{0, 1, 2, 3} {
				got := parseAll(tc.in, cut)
				if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Errorf("cut %d: got %q want %q", cut, got, tc.want)
				}
			}
		})
	}
}

// sseRoute sends text/event-stream response bodies of an HTTP/2 connection
// to sse Parsers.
type sseRoute struct {
	parsers map[uint32]*Parser
	rec     *evRec
	streams int
}

func (s *sseRoute) Start(m *h2.Message) {
	if m.Side == h2.Response && string(m.ContentType) == "text/event-stream" {
		s.parsers[m.StreamID] = NewParser(Config{}, s.rec)
		s.streams++
	}
}
func (s *sseRoute) Header(*h2.Message, []byte, []byte) {}
func (s *sseRoute) Body(m *h2.Message, b []byte) {
	if p := s.parsers[m.StreamID]; p != nil && m.Side == h2.Response {
		p.Feed(b)
	}
}
func (s *sseRoute) End(m *h2.Message) {
	if p := s.parsers[m.StreamID]; p != nil && m.Side == h2.Response {
		p.Close()
	}
}
func (s *sseRoute) Stop(h2.Side, h2.Reason) {}

// TestRealSSE: an x/net/http2 h2c server streams completions as an AI API
// does (one flush per event, CRLF and LF line ends), to two concurrent
// clients' streams.
func TestRealSSE(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h2c.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		eol := "\n"
		if r.URL.Query().Get("crlf") != "" {
			eol = "\r\n"
		}
		for i, tok := range []string{"Your", " SSN", " is", " 078-05", "-1120.", " Card 4111 1111 1111 1111."} {
			fmt.Fprintf(w, "event: delta%sid: %d%sdata: {\"choices\":[{\"delta\":{\"content\":%q}}]}%s%s", eol, i, eol, tok, eol, eol)
			w.(http.Flusher).Flush()
		}
		fmt.Fprintf(w, ": done%sdata: [DONE]%s%s", eol, eol, eol)
	}), &http2.Server{})}
	go srv.Serve(ln)
	defer srv.Close()
	rec := &tapconn.Recorder{}
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, n, a string, _ *tls.Config) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, n, a)
		if err != nil {
			return nil, err
		}
		return rec.Wrap(c), nil
	}}
	get := func(q string) {
		resp, err := (&http.Client{Transport: tr}).Get("http://" + ln.Addr().String() + "/v1/chat/completions" + q)
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get("")
	done := make(chan bool)
	go func() { get("?crlf=1"); done <- true }()
	get("?x=2")
	<-done
	tr.CloseIdleConnections()
	pcap := filepath.Join(t.TempDir(), "sse.pcap")
	if err := tapconn.WritePcap(pcap, rec.Conns(), 8080, 97); err != nil {
		t.Fatal(err)
	}
	if err := tapconn.Keep(pcap, "sse.pcap"); err != nil {
		t.Fatal(err)
	}
	segs, n, err := tapconn.ReadPcap(pcap)
	if err != nil || n != 1 {
		t.Fatal(err, n)
	}
	route := &sseRoute{parsers: map[uint32]*Parser{}, rec: &evRec{}}
	conn := h2.NewConn(h2.Config{}, route)
	for _, s := range segs {
		side := h2.Response
		if s.FromClient {
			side = h2.Request
		}
		conn.Feed(side, s.Data)
	}
	conn.Close()
	if route.streams != 3 || len(route.rec.events) != 21 {
		t.Fatalf("%d event streams, %d events: %q", route.streams, len(route.rec.events), route.rec.events)
	}
	var joined strings.Builder
	for _, e := range route.rec.events {
		joined.WriteString(e)
	}
	// Each token arrives as one event's data; the SSN is split across two
	// events, as AI APIs split it: the caller scans the stream of data.
	if strings.Count(joined.String(), `|delta|3|-1|"{\"choices\":[{\"delta\":{\"content\":\" 078-05\"}}]}"|0`) != 3 {
		t.Errorf("events: %q", route.rec.events)
	}
}

type nopH struct{ n int }

func (h *nopH) Data(_ *Event, b []byte) { h.n += len(b) }
func (h *nopH) End(*Event)              {}

// TestAllocs: events cost no allocation.
func TestAllocs(t *testing.T) {
	in := []byte("event: delta\r\nid: 42\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"hello\"}}]}\r\n\r\n: ping\n\n")
	p := NewParser(Config{}, &nopH{})
	if n := testing.AllocsPerRun(200, func() { p.Feed(in[:17]); p.Feed(in[17:]) }); n != 0 {
		t.Errorf("%.1f allocations per event", n)
	}
}

func BenchmarkEvents(b *testing.B) {
	in := []byte(strings.Repeat("event: delta\nid: 42\ndata: {\"choices\":[{\"delta\":{\"content\":\"hello world\"}}]}\n\n", 200))
	p := NewParser(Config{}, &nopH{})
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for range b.N {
		for c := in; len(c) > 0; {
			n := min(len(c), 1448)
			p.Feed(c[:n])
			c = c[n:]
		}
	}
}
