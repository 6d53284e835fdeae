//lint:file-ignore SA1019 x/net/http2's h2c server and client are deliberate: they are the independent implementation the parser is tested against.

package http2

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"golang.org/x/net/http2/hpack"

	"github.com/tapdlp/tapdlp/internal/tapconn"
)

// Test values the traffic carries; the assertions look for them in the
// direction they were sent.
const (
	testCard = "4111111111111111"
	testSSN  = "078-05-1120"
)

// encode compresses b with a content coding, as a server would.
func encode(t testing.TB, coding string, b []byte) []byte {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w, _ = flate.NewWriter(&buf, 5)
		// zlib-wrapped is what "deflate" means; raw deflate is also seen
		// in the wild and both must decode: use raw here, zlib in unit
		// tests of bodydec's source.
	case "br":
		w = brotli.NewWriter(&buf)
	case "zstd":
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	default:
		return b
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// testMux serves the paths the real-traffic tests request.
func testMux(t testing.TB) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/upload", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		enc := r.URL.Query().Get("enc")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if enc != "" {
			w.Header().Set("Content-Encoding", enc)
		}
		reply := fmt.Sprintf(`{"received":%d,"ssn":"%s","pad":"%s"}`, len(body), testSSN, strings.Repeat("z", 3000))
		w.Write(encode(t, enc, []byte(reply)))
	})
	mux.HandleFunc("/trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "body before trailers ssn "+testSSN)
		w.Header().Set("X-Checksum", "abc123")
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not here", http.StatusNotFound)
	})
	return mux
}

// startH2C runs an h2c server (prior knowledge and Upgrade) on loopback.
func startH2C(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h2c.NewHandler(testMux(t), &http2.Server{})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type request struct {
	method, host, path, body string
	status                   int
}

// realRequests are issued concurrently over one connection.
var realRequests = []request{
	{"POST", "api.openai.example", "/v1/upload?enc=gzip", `{"card":"` + testCard + `","n":1}`, 200},
	{"POST", "storage.example", "/v1/upload?enc=br", `{"card":"` + testCard + `","n":2}`, 200},
	{"POST", "api.openai.example", "/v1/upload?enc=zstd", `{"card":"` + testCard + `","n":3}`, 200},
	{"POST", "api.openai.example", "/v1/upload?enc=deflate", `{"card":"` + testCard + `","n":4}`, 200},
	{"POST", "big.example", "/v1/upload", strings.Repeat("x", 70000) + testCard + strings.Repeat("y", 30000), 200},
	{"GET", "api.openai.example", "/trailers", "", 200},
	{"GET", "api.openai.example", "/missing", "", 404},
	{"PUT", "Storage.Example:8443", "/v1/upload?enc=gzip", `{"card":"` + testCard + `","n":8}`, 200},
}

// recordH2 runs realRequests against a real h2c server with x/net/http2's
// client (prior knowledge) and returns the recorded connection.
func recordH2(t testing.TB) []tapconn.Chunk {
	addr := startH2C(t)
	rec := &tapconn.Recorder{}
	tr := &http2.Transport{
		AllowHTTP:          true,
		DisableCompression: true,
		DialTLSContext: func(ctx context.Context, network, a string, _ *tls.Config) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, a)
			if err != nil {
				return nil, err
			}
			return rec.Wrap(c), nil
		},
	}
	client := &http.Client{Transport: tr}
	// One request first so the connection exists; the rest share it.
	do := func(rq request) {
		req, err := http.NewRequest(rq.method, "http://"+addr+rq.path, strings.NewReader(rq.body))
		if err != nil {
			t.Error(err)
			return
		}
		req.Host = rq.host
		if rq.path == "/missing" {
			// A card only in a header field (HPACK-coded), for the
			// pipeline's end-to-end test.
			req.Header.Set("X-Payment-Card", "5555 5555 5555 4444")
		}
		if rq.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != rq.status {
			t.Errorf("%s: status %d", rq.path, resp.StatusCode)
		}
	}
	do(realRequests[0])
	var wg sync.WaitGroup
	for _, rq := range realRequests[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); do(rq) }()
	}
	wg.Wait()
	tr.CloseIdleConnections()
	conns := rec.Conns()
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	return conns[0]
}

const pcapPort = 8080

// parsePcap feeds a capture's segments to one Conn per connection, each
// segment cut again every cut bytes (0: as captured).
func parsePcap(t testing.TB, path string, cut int) (*recorder, []*Conn) {
	segs, n, err := tapconn.ReadPcap(path)
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder(t)
	conns := make([]*Conn, n)
	for i := range conns {
		conns[i] = NewConn(Config{}, r)
	}
	for _, s := range segs {
		side := Response
		if s.FromClient {
			side = Request
		}
		for d := s.Data; len(d) > 0; {
			k := len(d)
			if cut > 0 {
				k = min(k, cut)
			}
			conns[s.Conn].Feed(side, d[:k])
			d = d[k:]
		}
	}
	for _, c := range conns {
		c.Close()
	}
	return r, conns
}

func TestRealH2C(t *testing.T) {
	chunks := recordH2(t)
	pcap := filepath.Join(t.TempDir(), "h2c.pcap")
	if err := tapconn.WritePcap(pcap, [][]tapconn.Chunk{chunks}, pcapPort, 537); err != nil {
		t.Fatal(err)
	}
	if err := tapconn.Keep(pcap, "h2c.pcap"); err != nil {
		t.Fatal(err)
	}
	r, conns := parsePcap(t, pcap, 0)
	if len(r.stops) != 0 {
		t.Fatalf("stops: %v", r.stops)
	}
	if got := conns[0].Streams(); got != len(realRequests) {
		t.Errorf("Streams() = %d, want %d", got, len(realRequests))
	}
	for _, rq := range realRequests {
		reqs := r.find(Request, rq.path)
		resps := r.find(Response, rq.path)
		var req, resp *msgRec
		for _, m := range reqs {
			if m.authority == rq.host {
				req = m
			}
		}
		if req == nil {
			t.Errorf("%s %s: no request with authority %q (%d seen)", rq.method, rq.path, rq.host, len(reqs))
			continue
		}
		for _, m := range resps {
			if m.id == req.id {
				resp = m
			}
		}
		if resp == nil {
			t.Errorf("%s: no response on stream %d", rq.path, req.id)
			continue
		}
		if req.method != rq.method || req.scheme != "http" || !req.ended || req.flags != 0 {
			t.Errorf("%s: request %+v", rq.path, req)
		}
		if want := strings.ToLower(strings.Split(rq.host, ":")[0]); req.host != want {
			t.Errorf("%s: host %q, want %q", rq.path, req.host, want)
		}
		if req.body.String() != rq.body {
			t.Errorf("%s: request body %d bytes, want %d", rq.path, req.body.Len(), len(rq.body))
		}
		if resp.status != rq.status || !resp.ended || resp.flags != 0 {
			t.Errorf("%s: response status %d ended %v flags %x", rq.path, resp.status, resp.ended, resp.flags)
		}
		if rq.status == 200 && !strings.Contains(resp.body.String(), testSSN) {
			t.Errorf("%s: response body (%s) lacks the SSN: %.80q", rq.path, resp.cenc, resp.body.String())
		}
		if strings.Contains(resp.body.String(), testCard) || strings.Contains(req.body.String(), testSSN) {
			t.Errorf("%s: a test value in the wrong direction", rq.path)
		}
		if strings.HasPrefix(rq.path, "/v1/upload") && resp.ctype != "application/json" {
			t.Errorf("%s: content-type %q", rq.path, resp.ctype)
		}
		if rq.path == "/trailers" && (len(resp.trailers) != 1 || resp.trailers[0] != "x-checksum: abc123") {
			t.Errorf("trailers %q", resp.trailers)
		}
	}
	// The same events whatever the segmentation.
	for _, cut := range []int{1, 7, 4093} {
		r2, _ := parsePcap(t, pcap, cut)
		if a, b := r.summary(), r2.summary(); a != b {
			t.Errorf("cut %d differs:\n%s\nvs\n%s", cut, b, a)
		}
	}
	if os.Getenv("TAPDLP_SLOW") == "1" {
		crossCheckTshark(t, pcap, r, conns[0].Streams())
	}
	if os.Getenv("TAPDLP_GEN_CORPUS") == "1" {
		writeSeed(t, "FuzzConn", "h2c-prior-knowledge", tapconn.Side(chunks, true), tapconn.Side(chunks, false))
	}
}

// crossCheckTshark compares authorities, paths, statuses and the stream
// count with Wireshark's HTTP/2 dissector on the same capture.
func crossCheckTshark(t *testing.T, pcap string, r *recorder, streams int) {
	lines, err := tapconn.Tshark(pcap, "-d", "tcp.port=="+strconv.Itoa(pcapPort)+",http2", "-Y", "http2.type == 1",
		"-T", "fields", "-E", "separator=|", "-e", "http2.streamid", "-e", "http2.headers.authority", "-e", "http2.headers.path", "-e", "http2.headers.status")
	if err != nil {
		t.Skipf("tshark: %v", err)
	}
	ts := map[string]map[string]bool{"id": {}, "authority": {}, "path": {}, "status": {}}
	for _, l := range lines {
		f := strings.Split(l, "|")
		for i, name := range []string{"id", "authority", "path", "status"} {
			if i < len(f) {
				for _, v := range strings.Split(f[i], ",") {
					if v != "" && v != "0" {
						ts[name][v] = true
					}
				}
			}
		}
	}
	ours := map[string]map[string]bool{"id": {}, "authority": {}, "path": {}, "status": {}}
	for _, m := range r.msgs {
		ours["id"][strconv.Itoa(int(m.id))] = true
		if m.side == Request {
			ours["authority"][m.authority] = true
			ours["path"][m.path] = true
		} else {
			ours["status"][strconv.Itoa(m.status)] = true
		}
	}
	for name := range ts {
		if fmt.Sprint(sorted(ts[name])) != fmt.Sprint(sorted(ours[name])) {
			t.Errorf("tshark %s %v, ours %v", name, sorted(ts[name]), sorted(ours[name]))
		}
	}
	if len(ts["id"]) != streams {
		t.Errorf("tshark sees %d streams, we count %d", len(ts["id"]), streams)
	}
	t.Logf("tshark agrees: %d streams, authorities %v", streams, sorted(ts["authority"]))
}

func sorted(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sortStrings(s)
	return s
}

// writeSeed writes a fuzz seed with two []byte values (client, server),
// each cut to 8 KiB.
func writeSeed(t testing.TB, target, name string, a, b []byte) {
	dir := filepath.Join("testdata", "fuzz", target)
	os.MkdirAll(dir, 0o755)
	a, b = a[:min(len(a), 8<<10)], b[:min(len(b), 8<<10)]
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n", a, b)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRealUpgrade: the HTTP/1.1 "Upgrade: h2c" exchange against x/net's
// h2c handler; the client speaks HTTP/2 with x/net's Framer and HPACK
// encoder after the 101. The HTTP/1 request is stream 1.
func TestRealUpgrade(t *testing.T) {
	addr := startH2C(t)
	rec := &tapconn.Recorder{}
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := rec.Wrap(raw)
	defer c.Close()
	var sb bytes.Buffer
	http2.NewFramer(&sb, nil).WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 8192}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	settings := base64.RawURLEncoding.EncodeToString(sb.Bytes()[9:])
	fmt.Fprintf(c, "GET /v1/upload?enc=gzip HTTP/1.1\r\nHost: upgrade.example\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: %s\r\n\r\n", settings)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, br)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "upgrade.example"}, {":path", "/v1/upload?enc=br"}, {"content-type", "application/json"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: hb.Bytes(), EndHeaders: true})
	fr.WriteData(3, true, []byte(`{"card":"`+testCard+`"}`))
	ended := map[uint32]bool{}
	for len(ended) < 2 {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("read frame: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.DataFrame:
			if f.StreamEnded() {
				ended[f.StreamID] = true
			}
		case *http2.HeadersFrame:
			if f.StreamEnded() {
				ended[f.StreamID] = true
			}
		}
	}
	fr.WriteGoAway(3, http2.ErrCodeNo, nil)
	chunks := rec.Conns()[0]
	pcap := filepath.Join(t.TempDir(), "upgrade.pcap")
	if err := tapconn.WritePcap(pcap, [][]tapconn.Chunk{chunks}, pcapPort, 301); err != nil {
		t.Fatal(err)
	}
	if err := tapconn.Keep(pcap, "h2c-upgrade.pcap"); err != nil {
		t.Fatal(err)
	}
	segs, _, err := tapconn.ReadPcap(pcap)
	if err != nil {
		t.Fatal(err)
	}
	// The demux hands over after the HTTP/1 heads: split there.
	cli, srv := []byte{}, []byte{}
	for _, s := range segs {
		if s.FromClient {
			cli = append(cli, s.Data...)
		} else {
			srv = append(srv, s.Data...)
		}
	}
	ci, si := bytes.Index(cli, []byte("\r\n\r\n")), bytes.Index(srv, []byte("\r\n\r\n"))
	if ci < 0 || si < 0 {
		t.Fatal("no HTTP/1 heads")
	}
	r := newRecorder(t)
	conn := NewConn(Config{}, r)
	conn.StartUpgraded([]byte(settings))
	conn.Feed(Request, cli[ci+4:])
	conn.Feed(Response, srv[si+4:])
	conn.Close()
	if len(r.stops) != 0 || conn.Streams() != 2 || !conn.GoAway() {
		t.Fatalf("stops %v streams %d goaway %v", r.stops, conn.Streams(), conn.GoAway())
	}
	var s1, s3req, s3resp *msgRec
	for _, m := range r.msgs {
		switch {
		case m.id == 1 && m.side == Response:
			s1 = m
		case m.id == 3 && m.side == Request:
			s3req = m
		case m.id == 3 && m.side == Response:
			s3resp = m
		}
	}
	if s1 == nil || s1.status != 200 || !strings.Contains(s1.body.String(), testSSN) || s1.cenc != "gzip" {
		t.Errorf("stream 1 response: %+v", s1)
	}
	if s3req == nil || s3req.authority != "upgrade.example" || !strings.Contains(s3req.body.String(), testCard) {
		t.Errorf("stream 3 request: %+v", s3req)
	}
	if s3resp == nil || s3resp.status != 200 || s3resp.path != "/v1/upload?enc=br" || !strings.Contains(s3resp.body.String(), testSSN) {
		t.Errorf("stream 3 response: %+v", s3resp)
	}
	if os.Getenv("TAPDLP_GEN_CORPUS") == "1" {
		writeSeed(t, "FuzzConn", "h2c-upgrade", cli[ci+4:], srv[si+4:])
	}
}
