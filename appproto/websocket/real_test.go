package websocket

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cws "github.com/coder/websocket"

	"github.com/tapdlp/tapdlp/internal/tapconn"
)

const (
	testCard = "4111111111111111"
	testSSN  = "078-05-1120"
	pcapPort = 8080
)

// wsRec records messages and control frames and checks the contract.
type wsRec struct {
	t     testing.TB
	open  [2]bool
	cur   [2]*bytes.Buffer
	msgs  [2][]wsMsg
	ctl   [2][]string
	stops []string
}

type wsMsg struct {
	op         Opcode
	compressed bool
	frames     int
	data       string
	flags      Flags
}

func (r *wsRec) Start(m *Message) {
	if r.open[m.Side] {
		r.t.Errorf("%v: Start inside a message", m.Side)
	}
	r.open[m.Side], r.cur[m.Side] = true, &bytes.Buffer{}
}

func (r *wsRec) Data(m *Message, b []byte) {
	if !r.open[m.Side] {
		r.t.Errorf("%v: Data outside a message", m.Side)
		return
	}
	r.cur[m.Side].Write(b)
}

func (r *wsRec) End(m *Message) {
	if !r.open[m.Side] {
		r.t.Errorf("%v: End without Start", m.Side)
		return
	}
	r.open[m.Side] = false
	r.msgs[m.Side] = append(r.msgs[m.Side], wsMsg{m.Opcode, m.Compressed, m.Frames, r.cur[m.Side].String(), m.Flags})
}

func (r *wsRec) Control(side Side, op Opcode, payload []byte) {
	r.ctl[side] = append(r.ctl[side], fmt.Sprintf("%d:%q", op, payload))
}

func (r *wsRec) Stop(side Side, reason Reason) {
	r.stops = append(r.stops, side.String()+":"+reason.String())
}

// clientMessages are what the client sends; the server answers each text
// message with one carrying the SSN and a binary one.
var clientMessages = []string{
	`{"prompt":"my card is ` + testCard + `"}`,
	strings.Repeat(`{"prompt":"lorem ipsum dolor sit amet"}`, 50) + testCard,
	`{"again":"` + testCard + `","pad":"` + strings.Repeat("abc", 2000) + `"}`,
	noise(150000) + testCard, // several frames, several TCP windows
}

// noise is deterministic text that compresses about as well as prose (a
// run of one letter would trip the ratio limit, as it should).
func noise(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ.,0123456789"
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = alphabet[x%uint32(len(alphabet))]
	}
	return string(b)
}

// recordWS runs a real coder/websocket server and client on loopback.
func recordWS(t testing.TB, mode cws.CompressionMode) []tapconn.Chunk {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := cws.Accept(w, r, &cws.AcceptOptions{CompressionMode: mode, CompressionThreshold: 16})
		if err != nil {
			return
		}
		c.SetReadLimit(1 << 20)
		ctx := r.Context()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			reply := fmt.Sprintf(`{"len":%d,"ssn":"%s","echo":"%s"}`, len(msg), testSSN, strings.Repeat("r", 600))
			c.Write(ctx, typ, []byte(reply))
			c.Write(ctx, cws.MessageBinary, append([]byte{0, 1, 2, 3}, []byte("binary "+testSSN)...))
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	rec := &tapconn.Recorder{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return rec.Wrap(c), nil
	}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := cws.Dial(ctx, "ws://"+ln.Addr().String()+"/chat", &cws.DialOptions{HTTPClient: hc, CompressionMode: mode, CompressionThreshold: 16})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	for _, m := range clientMessages {
		if err := c.Write(ctx, cws.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, _, err := c.Read(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A fragmented message written piecewise.
	wr, err := c.Writer(ctx, cws.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{`{"frag":"41111111`, `11111111","more":"`, strings.Repeat("m", 5000), `"}`} {
		wr.Write([]byte(part))
	}
	wr.Close()
	for range 2 {
		c.Read(ctx)
	}
	c.Close(cws.StatusNormalClosure, "bye")
	conns := rec.Conns()
	if len(conns) != 1 {
		t.Fatalf("%d connections", len(conns))
	}
	return conns[0]
}

func TestRealWebSocket(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     cws.CompressionMode
		deflate  bool
		takeover bool
	}{
		{"plain", cws.CompressionDisabled, false, false},
		{"deflate-context-takeover", cws.CompressionContextTakeover, true, true},
		{"deflate-no-context-takeover", cws.CompressionNoContextTakeover, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunks := recordWS(t, tc.mode)
			pcap := filepath.Join(t.TempDir(), "ws.pcap")
			if err := tapconn.WritePcap(pcap, [][]tapconn.Chunk{chunks}, pcapPort, 733); err != nil {
				t.Fatal(err)
			}
			if err := tapconn.Keep(pcap, "ws-"+tc.name+".pcap"); err != nil {
				t.Fatal(err)
			}
			segs, _, err := tapconn.ReadPcap(pcap)
			if err != nil {
				t.Fatal(err)
			}
			var cli, srv []byte
			for _, s := range segs {
				if s.FromClient {
					cli = append(cli, s.Data...)
				} else {
					srv = append(srv, s.Data...)
				}
			}
			ci, si := bytes.Index(cli, []byte("\r\n\r\n")), bytes.Index(srv, []byte("\r\n\r\n"))
			if ci < 0 || si < 0 || !bytes.HasPrefix(srv, []byte("HTTP/1.1 101")) {
				t.Fatal("no upgrade exchange")
			}
			var extHdr []byte
			for _, l := range bytes.Split(srv[:si], []byte("\r\n")) {
				if k, v, ok := bytes.Cut(l, []byte(":")); ok && bytes.EqualFold(k, []byte("Sec-WebSocket-Extensions")) {
					extHdr = v
				}
			}
			ext := ParseExtensions(extHdr)
			if ext.Deflate != tc.deflate || ext.ServerNoContextTakeover == tc.takeover && tc.deflate {
				t.Fatalf("extensions %q → %+v", extHdr, ext)
			}
			for _, cut := range []int{0, 1, 5, 1000} {
				r2 := &wsRec{t: t}
				q := [2]*Parser{NewParser(Client, ext, Config{}, r2), NewParser(Server, ext, Config{}, r2)}
				feed(q[Client], cli[bytes.Index(cli, []byte("\r\n\r\n"))+4:], cut)
				feed(q[Server], srv[si+4:], cut)
				q[0].Close()
				q[1].Close()
				checkWS(t, r2, tc.deflate)
				if cut == 0 && os.Getenv("TAPDLP_SLOW") == "1" {
					crossCheckTshark(t, pcap, r2)
				}
				if cut == 0 && os.Getenv("TAPDLP_GEN_CORPUS") == "1" {
					writeSeed(t, tc.name+"-client", tc.deflate, tc.takeover, cli[bytes.Index(cli, []byte("\r\n\r\n"))+4:])
					writeSeed(t, tc.name+"-server", tc.deflate, tc.takeover, srv[si+4:])
				}
			}
		})
	}
}

func feed(p *Parser, d []byte, cut int) {
	for len(d) > 0 {
		k := len(d)
		if cut > 0 {
			k = min(k, cut)
		}
		p.Feed(d[:k])
		d = d[k:]
	}
}

func checkWS(t *testing.T, r *wsRec, deflate bool) {
	t.Helper()
	if len(r.stops) != 0 {
		t.Fatalf("stops %v", r.stops)
	}
	cm, sm := r.msgs[Client], r.msgs[Server]
	if len(cm) != len(clientMessages)+1 || len(sm) != 2*len(cm) {
		t.Fatalf("%d client and %d server messages", len(cm), len(sm))
	}
	for i, m := range cm {
		want := `{"frag":"4111111111111111","more":"` + strings.Repeat("m", 5000) + `"}`
		if i < len(clientMessages) {
			want = clientMessages[i]
		}
		if m.data != want || m.op != OpText || m.flags != 0 {
			t.Errorf("client message %d: op %d flags %x %d bytes (want %d)", i, m.op, m.flags, len(m.data), len(want))
		}
		if m.compressed != deflate {
			t.Errorf("client message %d compressed=%v", i, m.compressed)
		}
	}
	if cm[len(cm)-1].frames < 2 {
		t.Errorf("fragmented message came in %d frame(s)", cm[len(cm)-1].frames)
	}
	for i, m := range sm {
		if !strings.Contains(m.data, testSSN) || strings.Contains(m.data, testCard) || m.flags != 0 {
			t.Errorf("server message %d: %.60q flags %x", i, m.data, m.flags)
		}
		if wantOp := []Opcode{OpText, OpBinary}[i%2]; m.op != wantOp {
			t.Errorf("server message %d opcode %d", i, m.op)
		}
	}
	if len(r.ctl[Client]) == 0 || !strings.Contains(r.ctl[Client][0], "bye") {
		t.Errorf("client control frames %q", r.ctl[Client])
	}
}

// crossCheckTshark: Wireshark must count the same data messages per
// direction (final frames of text, binary and continuation opcodes).
func crossCheckTshark(t *testing.T, pcap string, r *wsRec) {
	lines, err := tapconn.Tshark(pcap, "-d", "tcp.port=="+strconv.Itoa(pcapPort)+",http", "-Y", "websocket",
		"-T", "fields", "-E", "separator=|", "-e", "tcp.srcport", "-e", "websocket.opcode", "-e", "websocket.fin")
	if err != nil {
		t.Skipf("tshark: %v", err)
	}
	var count [2]int
	for _, l := range lines {
		f := strings.Split(l, "|")
		if len(f) < 3 {
			continue
		}
		side := Client
		if f[0] == strconv.Itoa(pcapPort) {
			side = Server
		}
		ops, fins := strings.Split(f[1], ","), strings.Split(f[2], ",")
		for i := range ops {
			if i < len(fins) && (ops[i] == "0" || ops[i] == "1" || ops[i] == "2") && (fins[i] == "1" || fins[i] == "True") {
				count[side]++
			}
		}
	}
	if count[Client] != len(r.msgs[Client]) || count[Server] != len(r.msgs[Server]) {
		t.Errorf("tshark counts %v messages, we %d/%d", count, len(r.msgs[Client]), len(r.msgs[Server]))
	}
}

// writeSeed writes a FuzzParser seed: frames, deflate, takeover.
func writeSeed(t testing.TB, name string, deflate, takeover bool, b []byte) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParser")
	os.MkdirAll(dir, 0o755)
	b = b[:min(len(b), 8<<10)]
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\nbool(%v)\n", b, deflate, takeover)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
