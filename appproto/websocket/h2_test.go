//lint:file-ignore SA1019 x/net/http2's h2c server and client are deliberate: they are the independent implementation the parser is tested against.

package websocket

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	h2 "github.com/tapdlp/tapdlp/appproto/http2"
	"github.com/tapdlp/tapdlp/internal/tapconn"
)

// TestRealExtendedConnect: WebSocket over HTTP/2 (RFC 8441) between
// x/net/http2's client and server, extended CONNECT enabled (it is behind
// GODEBUG=http2xconnect=1, read at init: the test re-runs itself with it).
// The HTTP/2 layer is real; the WebSocket frames on the stream are written
// by the test (no maintained Go library speaks RFC 8441 yet). The stream
// is handed from appproto/http2 to this package by :protocol.
func TestRealExtendedConnect(t *testing.T) {
	if !strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1") {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRealExtendedConnect$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "GODEBUG=http2xconnect=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestRealExtendedConnect")) {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	mask := []byte{0x37, 0xfa, 0x21, 0x3d}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h2c.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "websocket" {
			http.Error(w, "want extended CONNECT", 400)
			return
		}
		w.Header().Set("sec-websocket-extensions", "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				w.Write(frame(true, true, OpText, nil, deflateRaw([]byte(`{"reply":"ssn `+testSSN+`"}`))))
				w.(http.Flusher).Flush()
			}
			if err != nil {
				return
			}
		}
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
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodConnect, "http://"+ln.Addr().String()+"/chat", pr)
	req.Host = "chat.example.com"
	req.Header.Set(":protocol", "websocket")
	req.Header.Set("sec-websocket-version", "13")
	req.Header.Set("sec-websocket-extensions", "permessage-deflate")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	buf := make([]byte, 4096)
	for i := range 3 {
		msg := []byte(`{"prompt":"card ` + testCard + `","i":` + string(rune('0'+i)) + `}`)
		pw.Write(frame(true, true, OpText, mask, deflateRaw(msg)))
		if _, err := resp.Body.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	pw.Close()
	resp.Body.Close()
	tr.CloseIdleConnections()

	pcap := filepath.Join(t.TempDir(), "xconnect.pcap")
	if err := tapconn.WritePcap(pcap, rec.Conns(), pcapPort, 211); err != nil {
		t.Fatal(err)
	}
	if err := tapconn.Keep(pcap, "ws-h2.pcap"); err != nil {
		t.Fatal(err)
	}
	segs, _, err := tapconn.ReadPcap(pcap)
	if err != nil {
		t.Fatal(err)
	}
	r := &wsRec{t: t}
	route := &xconnect{ws: map[uint32]*[2]*Parser{}, rec: r}
	conn := h2.NewConn(h2.Config{}, route)
	for _, s := range segs {
		side := h2.Response
		if s.FromClient {
			side = h2.Request
		}
		conn.Feed(side, s.Data)
	}
	conn.Close()
	if route.handoffs != 1 || len(r.stops) != 0 {
		t.Fatalf("handoffs %d stops %v", route.handoffs, r.stops)
	}
	if len(r.msgs[Client]) != 3 || len(r.msgs[Server]) != 3 {
		t.Fatalf("%d client, %d server messages", len(r.msgs[Client]), len(r.msgs[Server]))
	}
	for i := range 3 {
		if c, s := r.msgs[Client][i], r.msgs[Server][i]; !strings.Contains(c.data, testCard) || !c.compressed || !strings.Contains(s.data, testSSN) {
			t.Errorf("message %d: %q / %q", i, c.data, s.data)
		}
	}
}

// xconnect routes an extended CONNECT stream's DATA to WebSocket parsers,
// as the demux will: the negotiated extensions come from the response.
type xconnect struct {
	ws       map[uint32]*[2]*Parser
	ext      map[uint32]Extensions
	rec      *wsRec
	handoffs int
	pending  map[uint32][]byte
}

func (x *xconnect) Start(m *h2.Message) {}
func (x *xconnect) Header(m *h2.Message, name, value []byte) {
	if m.Side == h2.Response && m.ExtendedConnect() && string(m.Protocol) == "websocket" && string(name) == "sec-websocket-extensions" {
		if x.ext == nil {
			x.ext = map[uint32]Extensions{}
		}
		x.ext[m.StreamID] = ParseExtensions(value)
	}
}
func (x *xconnect) Body(m *h2.Message, b []byte) {
	if !m.ExtendedConnect() || string(m.Protocol) != "websocket" {
		return
	}
	ps := x.ws[m.StreamID]
	if ps == nil {
		if m.Side == h2.Request && x.ext[m.StreamID] == (Extensions{}) {
			// The client may send before the 200 is seen: hold it.
			if x.pending == nil {
				x.pending = map[uint32][]byte{}
			}
			x.pending[m.StreamID] = append(x.pending[m.StreamID], b...)
			return
		}
		e := x.ext[m.StreamID]
		ps = &[2]*Parser{NewParser(Client, e, Config{}, x.rec), NewParser(Server, e, Config{}, x.rec)}
		x.ws[m.StreamID] = ps
		x.handoffs++
		ps[Client].Feed(x.pending[m.StreamID])
	}
	ps[m.Side].Feed(b)
}
func (x *xconnect) End(m *h2.Message) {
	if ps := x.ws[m.StreamID]; ps != nil {
		ps[m.Side].Close()
	}
}
func (x *xconnect) Stop(h2.Side, h2.Reason) {}
