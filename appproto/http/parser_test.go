package http

import (
	"bytes"
	"strings"
	"testing"
)

var jsonBody = []byte(`{"user":"alice","card":"4111 1111 1111 1111","note":"` + strings.Repeat("lorem ipsum ", 40) + `"}`)

// csvCards is a small CSV file with a card, uploaded or served compressed.
var csvCards = []byte("name,card\nalice,4111111111111111\n")

type parseCase struct {
	name    string
	side    Side
	methods []MethodKind // queued in the Pairing before a response parse
	input   []byte
	want    []string // substrings the event log must contain
}

func requestCases() []parseCase {
	b := func(s string) []byte { return []byte(s) }
	return []parseCase{
		{name: "get_query", input: b("GET /search?q=secret+stuff&x=1#frag HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\nUser-Agent: curl/8.0\r\nAuthorization: Bearer abc.def\r\n\r\n"),
			want: []string{`path="/search" query="q=secret+stuff&x=1" host="www.example.com" port=8080 ua="curl/8.0"`, `Authorization: "Bearer abc.def"`, "end#1"}},
		{name: "post_json", input: cat(b("POST /api/v1/items HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: "+itoa(len(jsonBody))+"\r\n\r\n"), jsonBody),
			want: []string{`ct="application/json"`, `4111 1111 1111 1111`, "decoded=" + itoa(len(jsonBody))}},
		{name: "pipelined_keepalive", input: b("GET /a HTTP/1.1\r\nHost: a.example\r\n\r\nPOST /b HTTP/1.1\r\nHost: b.example\r\nContent-Length: 5\r\n\r\nhelloHEAD /c HTTP/1.0\r\nHost: c.example\r\n\r\n\r\nGET /d HTTP/1.1\nHost: d.example\n\n"),
			want: []string{"end#1", `body="hello"`, "start#3 HEAD", `path="/d"`, "end#4"}},
		{name: "chunked_ext_trailer", input: cat(b("POST /up HTTP/1.1\r\nHost: up.example\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"), chunked(b("The quick brown fox jumps over the lazy dog"), 10, "X-Checksum: 1234\r\nX-Api-Key: k-999\r\n")),
			want: []string{`body="The quick brown fox jumps over the lazy dog"`, `trailer X-Api-Key: "k-999"`, "chunked=true"}},
		{name: "absolute_form", input: b("GET http://user:pw@Proxy-Target.Example.ORG:8443/p/q?z=9 HTTP/1.1\r\nHost: ignored.example\r\nProxy-Authorization: Basic dXNlcjpwdw==\r\n\r\n"),
			want: []string{`host="proxy-target.example.org" port=8443`, `path="/p/q" query="z=9"`}},
		{name: "absolute_form_no_path", input: b("GET http://example.net HTTP/1.1\r\n\r\n"), want: []string{`path="/"`, `host="example.net"`}},
		{name: "connect_tunnel", input: b("CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\nProxy-Authorization: Basic eDp5\r\n\r\n\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
			want: []string{`host="api.openai.com" port=443`, "end#1", "stop request tunnel"}},
		{name: "connect_retry_after_407", input: b("CONNECT a.example:443 HTTP/1.1\r\n\r\nCONNECT a.example:443 HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\n\r\n"),
			want: []string{"start#2 CONNECT", "Proxy-Authorization"}},
		{name: "expect_100", input: b("PUT /f HTTP/1.1\r\nHost: f.example\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"), want: []string{`body="abc"`}},
		{name: "ipv6_host", input: b("GET / HTTP/1.1\r\nHost: [2001:DB8::1]:8080\r\n\r\n"), want: []string{`host="2001:db8::1" port=8080`}},
		{name: "multipart", input: b("POST /u HTTP/1.1\r\nHost: x\r\nContent-Type: Multipart/Form-Data; boundary=\"----WebKitX\"\r\nContent-Length: 0\r\n\r\n"),
			want: []string{`ct="multipart/form-data" boundary="----WebKitX"`}},
		{name: "gzip_upload", input: cat(b("POST /g HTTP/1.1\r\nHost: g\r\nContent-Encoding: gzip\r\nContent-Length: "+itoa(len(gzipped(jsonBody)))+"\r\n\r\n"), gzipped(jsonBody)),
			want: []string{"4111 1111 1111 1111", "decoded=" + itoa(len(jsonBody))}},
		{name: "multi_space_target", input: b("GET                  /aaaa HTTP/1.1\r\nHost: www.lan:8080\r\n\r\n"), want: []string{`path="/aaaa"`, `host="www.lan"`}},
		{name: "folded_header", input: b("GET / HTTP/1.1\r\nX-Token: part1\r\n part2\r\nHost: h\r\n\r\n"), want: []string{`X-Token: "part1\r\n part2"`, `host="h"`}},
		{name: "not_http_tls", input: b("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03GET / HTTP/1.1\r\n\r\n"), want: []string{"stop request not_http"}},
		{name: "not_http_ssh", input: b("SSH-2.0-OpenSSH_9.6\r\n"), want: []string{"stop request not_http"}},
		{name: "http2_preface", input: b("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), want: []string{"stop request not_http"}},
		{name: "bad_start_later", input: b("GET / HTTP/1.1\r\n\r\n\x00\x01garbage"), want: []string{"end#1", "stop request bad_start_line"}},
		{name: "negative_length", input: b("POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\nabc"), want: []string{"flags=100000", "stop request bad_length"}},
		{name: "huge_length", input: b("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"), want: []string{"stop request bad_length"}},
		{name: "conflicting_length", input: b("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"), want: []string{"stop request bad_length"}},
		{name: "same_length_list", input: b("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc"), want: []string{`body="abc"`, "end#1"}},
		{name: "bad_chunk_size", input: b("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"), want: []string{"stop request bad_chunk"}},
		{name: "huge_chunk_size", input: b("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n"), want: []string{"stop request bad_chunk"}},
		{name: "chunk_missing_crlf", input: b("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX0\r\n\r\n"), want: []string{`body="abc"`, "stop request bad_chunk"}},
		{name: "request_te_not_chunked", input: b("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), want: []string{"stop request bad_transfer_coding"}},
		{name: "te_overrides_cl", input: b("POST / HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), want: []string{`body="ok"`, "end#1"}},
		{name: "header_too_long", input: b("GET / HTTP/1.1\r\nCookie: " + strings.Repeat("a", 40<<10) + "\r\n\r\n"), want: []string{"stop request header_too_long"}},
		{name: "too_many_headers", input: b("GET / HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 200) + "\r\n"), want: []string{"stop request too_many_headers"}},
		{name: "nul_in_headers", input: b("GET / HTTP/1.1\r\nHost: a\x00b\r\nX\x00: y\r\nnocolon\x00\r\n\r\n"), want: []string{"end#1"}},
		{name: "nul_in_target", input: b("GET /a\x00b HTTP/1.1\r\n\r\n"), want: []string{"stop request not_http"}},
		{name: "upgrade_websocket", input: b("GET /ws HTTP/1.1\r\nHost: w\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), want: []string{"end#1", "stop request tunnel"}},
		{name: "unknown_coding_raw", input: b("POST / HTTP/1.1\r\nContent-Encoding: compress\r\nContent-Length: 4\r\n\r\n\x1f\x9d\x90\x00"), want: []string{"flags=100", `body="\x1f\x9d\x90\x00"`}},
		{name: "empty", input: nil},
	}
}

func responseCases() []parseCase {
	b := func(s string) []byte { return []byte(s) }
	other := []MethodKind{MethodOther, MethodOther, MethodOther}
	html := []byte("<html><p>4111111111111111</p>" + strings.Repeat("<td>x</td>", 50) + "</html>")
	enc := func(name, ce string, body []byte) parseCase {
		return parseCase{name: name, methods: other, input: cat(b("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: "+ce+"\r\nContent-Length: "+itoa(len(body))+"\r\n\r\n"), body),
			want: []string{"4111111111111111", "decoded=" + itoa(len(html)), "flags=0\n"}}
	}
	cases := []parseCase{
		{name: "ok_length", methods: other, input: b("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: sid=abc; HttpOnly\r\n\r\nhello"), want: []string{"status=200", `Set-Cookie: "sid=abc; HttpOnly"`, `body="hello"`}},
		{name: "continue_then_ok", methods: other, input: b("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"), want: []string{"start#1 status=100 reason=\"Continue\" req=0", "start#2 status=201 reason=\"Created\" req=1", `body="ok"`}},
		{name: "head_no_body", methods: []MethodKind{MethodHEAD, MethodOther}, input: b("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"), want: []string{"end#1", `body="x"`, "end#2"}},
		{name: "no_content_not_modified", methods: other, input: b("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), want: []string{"end#3"}},
		{name: "chunked_response", methods: other, input: cat(b("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), chunked(html, 64, "")), want: []string{"4111111111111111", "chunked=true"}},
		{name: "until_close", methods: other, input: b("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall the rest until FIN"), want: []string{`body="all the rest until FIN"`, "close=true flags=0"}},
		{name: "connect_established", methods: []MethodKind{MethodCONNECT}, input: b("HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00\x7a\x02"), want: []string{"req=3", "end#1", "stop response tunnel"}},
		{name: "connect_refused", methods: []MethodKind{MethodCONNECT, MethodCONNECT}, input: b("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\ndenyHTTP/1.1 200 OK\r\n\r\n"), want: []string{`body="deny"`, "start#2", "stop response tunnel"}},
		{name: "switching_protocols", methods: other, input: b("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"), want: []string{"stop response tunnel"}},
		{name: "not_http", input: b("SSH-2.0-OpenSSH\r\n"), want: []string{"stop response not_http"}},
		{name: "bad_status", input: b("HTTP/1.1 2x0 OK\r\n\r\n"), want: []string{"stop response not_http"}},
		{name: "te_gzip_until_close", methods: other, input: cat(b("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), gzipped(html)), want: []string{"4111111111111111", "close=true"}},
		{name: "te_gzip_chunked", methods: other, input: cat(b("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), chunked(gzipped(html), 50, "")), want: []string{"4111111111111111", "chunked=true"}},
		enc("gzip", "gzip", gzipped(html)),
		enc("deflate_zlib", "deflate", zlibbed(html)),
		enc("deflate_raw", "deflate", rawDeflated(html)),
		enc("zstd", "zstd", zstded(html)),
		enc("brotli", "br", brotlied(html)),
		enc("stacked_gzip_br", "gzip, br", brotlied(gzipped(html))),
		enc("stacked_deflate_zstd", "deflate, zstd", zstded(zlibbed(html))),
		{name: "three_codings_raw", methods: other, input: b("HTTP/1.1 200 OK\r\nContent-Encoding: gzip, br, zstd\r\nContent-Length: 3\r\n\r\nabc"), want: []string{`body="abc"`, "flags=10000100\n"}},
		{name: "corrupt_gzip", methods: other, input: cat(b("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 21\r\n\r\n"), []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffgarbage!!!!")), want: []string{"decoded=21 chunked=false close=false flags=1100\n"}},
		// A plaintext body labelled gzip (or with a bogus coding) is delivered raw.
		{name: "plaintext_labelled_gzip", methods: other, input: b("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 25\r\n\r\ncard=4111111111111111&x=1"), want: []string{`body="card=4111111111111111&x=1"`, "flags=1100\n"}},
		{name: "bogus_coding_raw", methods: other, input: b("HTTP/1.1 200 OK\r\nContent-Encoding: x-bogus\r\nTransfer-Encoding: frob, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), want: []string{`body="hello"`, "flags=100\n"}},
		// A gzip or zstd file sent without a coding is opened by its magic number.
		{name: "sniffed_gzip_file", methods: other, input: cat(b("HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: "+itoa(len(gzipped(csvCards)))+"\r\n\r\n"), gzipped(csvCards)), want: []string{`body="name,card\nalice,4111111111111111\n"`, "flags=100000000\n"}},
		{name: "sniffed_zstd_file", methods: other, input: cat(b("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: "+itoa(len(zstded(csvCards)))+"\r\n\r\n"), zstded(csvCards)), want: []string{`body="name,card\nalice,4111111111111111\n"`, "flags=100000000\n"}},
		{name: "sniffed_zip_file", methods: other, input: cat(b("HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: "+itoa(len(zipped(csvCards)))+"\r\n\r\n"), zipped(csvCards)), want: []string{`body="name,card\nalice,4111111111111111\n\n"`, "flags=100000000\n"}},
		{name: "short_body_not_sniffed", methods: other, input: b("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n\x1f\x8b"), want: []string{`body="\x1f\x8b"`}},
		{name: "cut_gzip", methods: other, input: cat(b("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 30\r\n\r\n"), gzipped(html)[:30]), want: []string{"flags=1000\n"}},
	}
	for i := range cases {
		cases[i].side = Response
	}
	return cases
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

// TestParseGolden checks each case's full event log against its golden
// file and its required substrings.
func TestParseGolden(t *testing.T) {
	for _, tc := range append(requestCases(), responseCases()...) {
		t.Run(tc.side.String()+"_"+tc.name, func(t *testing.T) {
			got := parse(tc.side, Config{}, tc.methods, tc.input).String()
			for _, w := range tc.want {
				if !strings.Contains(got+"\n", w) {
					t.Errorf("log lacks %q:\n%s", w, got)
				}
			}
			golden(t, tc.side.String()+"_"+tc.name, got)
		})
	}
}

// TestSplitInvariance cuts every input at every offset (and into single
// bytes): the event log must not change.
func TestSplitInvariance(t *testing.T) {
	for _, tc := range append(requestCases(), responseCases()...) {
		t.Run(tc.side.String()+"_"+tc.name, func(t *testing.T) {
			whole := parse(tc.side, Config{}, tc.methods, tc.input).String()
			for i := 1; i < len(tc.input); i++ {
				if got := parse(tc.side, Config{}, tc.methods, tc.input, i).String(); got != whole {
					t.Fatalf("cut at %d differs:\n%s\nwhole:\n%s", i, got, whole)
				}
			}
			cuts := make([]int, 0, len(tc.input))
			for i := 1; i < len(tc.input); i++ {
				cuts = append(cuts, i)
			}
			if got := parse(tc.side, Config{}, tc.methods, tc.input, cuts...).String(); got != whole {
				t.Fatalf("byte-by-byte differs:\n%s\nwhole:\n%s", got, whole)
			}
		})
	}
}

// TestStopOnce: after Stop, input is ignored and Stop is never repeated.
func TestStopOnce(t *testing.T) {
	r := &recorder{}
	p := NewParser(Request, Config{}, nil, r)
	if p.Feed([]byte("\x16\x03\x01")) {
		t.Fatal("Feed returned true on TLS bytes")
	}
	p.Feed([]byte("GET / HTTP/1.1\r\n\r\n"))
	p.Gap(10)
	p.Close()
	if r.stopped != 1 || len(r.lines) != 1 {
		t.Fatalf("events after stop: %v", r.lines)
	}
}

func TestGap(t *testing.T) {
	tests := []struct {
		name  string
		head  string
		gap   int
		tail  string
		want  []string
		avoid string
	}{
		{"inside_length_body", "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", 4, "def", []string{`body="abcdef"`, "flags=10000", "end#1"}, "stop"},
		{"beyond_body", "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", 40, "GET", []string{"stop request gap"}, ""},
		{"inside_chunk", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc", 4, "def\r\n0\r\n\r\nGET /n HTTP/1.1\r\n\r\n", []string{`body="abcdef"`, "flags=10000", `path="/n"`}, "stop"},
		{"coded_body", "POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 30\r\n\r\n\x1f\x8b", 20, "12345678", []string{"flags=10000", "end#1"}, "stop"},
		{"in_head", "GET / HTTP/1.1\r\nHo", 3, "st: x\r\n\r\n", []string{"stop request gap"}, "start"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{}
			p := NewParser(Request, Config{}, nil, r)
			p.Feed([]byte(tc.head))
			p.Gap(tc.gap)
			p.Feed([]byte(tc.tail))
			p.Close()
			got := r.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("log lacks %q:\n%s", w, got)
				}
			}
			if tc.avoid != "" && strings.Contains(got, tc.avoid) {
				t.Errorf("log has %q:\n%s", tc.avoid, got)
			}
		})
	}
}

// TestPairing runs both sides of one connection: the response parser must
// learn HEAD from the request parser.
func TestPairing(t *testing.T) {
	pair := &Pairing{}
	rq, rs := &recorder{}, &recorder{}
	req := NewParser(Request, Config{}, pair, rq)
	resp := NewParser(Response, Config{}, pair, rs)
	req.Feed([]byte("HEAD /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"))
	resp.Feed([]byte("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"))
	got := rs.String()
	if !strings.Contains(got, "req=2") || !strings.Contains(got, `body="hi"`) || strings.Contains(got, "stop") {
		t.Fatalf("response side:\n%s", got)
	}
	// Overflowing the queue forgets the oldest and counts it.
	st := &Stats{}
	p2 := &Pairing{}
	q := NewParser(Request, Config{Stats: st}, p2, &nopHandler{})
	for range maxPending + 3 {
		q.Feed([]byte("GET / HTTP/1.1\r\n\r\n"))
	}
	if p2.Dropped != 3 || st.PairDropped.Load() != 3 {
		t.Fatalf("dropped %d, counted %d", p2.Dropped, st.PairDropped.Load())
	}
}

// TestConnectVerdict: after CONNECT, the request side follows the response
// side's verdict.
func TestConnectVerdict(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   string
	}{{"200 Connection established", "stop request tunnel"}, {"407 Auth", "start#2"}} {
		pair := &Pairing{}
		rq := &recorder{}
		req := NewParser(Request, Config{}, pair, rq)
		resp := NewParser(Response, Config{}, pair, &recorder{})
		req.Feed([]byte("CONNECT x.example:443 HTTP/1.1\r\n\r\n"))
		resp.Feed([]byte("HTTP/1.1 " + tc.status + "\r\nContent-Length: 0\r\n\r\n"))
		req.Feed([]byte("CONNECT x.example:443 HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\n\r\n"))
		if got := rq.String(); !strings.Contains(got, tc.want) {
			t.Errorf("%s: log lacks %q:\n%s", tc.status, tc.want, got)
		}
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Sniffed
	}{
		{"GET / HTTP/1.1\r\n", SniffRequest},
		{"POST /x HTTP/1.0\n", SniffRequest},
		{"GE", SniffNeedMore},
		{"GET /very/long/path", SniffNeedMore},
		{"HTTP/1.1 200 OK\r\n", SniffResponse},
		{"HTTP/1.", SniffNeedMore},
		{"HEAD / HTTP/1.1\r\n", SniffRequest},
		{"\x16\x03\x01", SniffNo},
		{"get / HTTP/1.1\r\n", SniffNo},
		{"SSH-2.0-x\r\n", SniffNo},
		{"EHLO example.com\r\n", SniffNo},
		{"", SniffNeedMore},
	} {
		if got := Sniff([]byte(tc.in)); got != tc.want {
			t.Errorf("Sniff(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestSteadyStateAllocs proves identity messages parse without allocating.
func TestSteadyStateAllocs(t *testing.T) {
	msg := cat([]byte("POST /api HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\nContent-Length: "+itoa(len(jsonBody))+"\r\n\r\n"), jsonBody)
	p := NewParser(Request, Config{}, &Pairing{}, &nopHandler{})
	half := len(msg) / 2
	allocs := testing.AllocsPerRun(1000, func() {
		p.Feed(msg[:10])
		p.Feed(msg[10:half])
		p.Feed(msg[half:])
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
	if p.Stopped() {
		t.Fatal("parser stopped")
	}
	if !bytes.Equal(msg[:4], []byte("POST")) {
		t.Fatal("fixture changed")
	}
}

// TestStats: every outcome lands on its own counter.
func TestStats(t *testing.T) {
	st := &Stats{}
	cfg := Config{Stats: st}
	for _, in := range []string{
		"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"\x16\x03\x01",
		"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Encoding: compress\r\nContent-Length: 1\r\n\r\nx",
	} {
		p := NewParser(Request, cfg, nil, &nopHandler{})
		p.Feed([]byte(in))
		p.Close()
	}
	p := NewParser(Response, cfg, nil, &nopHandler{})
	p.Feed([]byte("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nxxxx"))
	p.Close()
	got := map[string]uint64{}
	st.Each(func(name string, v uint64) { got[name] = v })
	for name, want := range map[string]uint64{
		"tapdlp_http_requests_total":                        4,
		"tapdlp_http_responses_total":                       1,
		`tapdlp_http_stops_total{reason="not_http"}`:        1,
		`tapdlp_http_stops_total{reason="bad_length"}`:      1,
		`tapdlp_http_stops_total{reason="header_too_long"}`: 0,
		"tapdlp_http_bodies_undecoded_total":                1,
		"tapdlp_http_decode_errors_total":                   1,
	} {
		if got[name] != want {
			t.Errorf("%s = %d, want %d", name, got[name], want)
		}
	}
	if len(got) != 7+int(numReasons)-1 {
		t.Errorf("%d counters exported", len(got))
	}
}

// After a tunnel stop, Unread tells where the tunnel's bytes begin in the
// input that carried the switch, whichever side stopped.
func TestUnreadAfterTunnel(t *testing.T) {
	for _, tc := range []struct {
		name    string
		side    Side
		methods []MethodKind
		input   string
		unread  string
	}{
		{"101 with frame", Response, nil, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello", "\x81\x05hello"},
		{"connect 200 with hello", Response, []MethodKind{MethodCONNECT}, "HTTP/1.1 200 OK\r\n\r\n\x16\x03\x01", "\x16\x03\x01"},
		{"connect 200 alone", Response, []MethodKind{MethodCONNECT}, "HTTP/1.1 200 OK\r\n\r\n", ""},
		{"request then tunnel bytes", Request, nil, "CONNECT a.example:443 HTTP/1.1\r\n\r\n\x16\x03\x01\x00", "\x16\x03\x01\x00"},
		{"plain message", Response, nil, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pair Pairing
			for _, m := range tc.methods {
				pair.push(m)
			}
			p := NewParser(tc.side, Config{}, &pair, &nopHandler{})
			in := []byte(tc.input)
			p.Feed(in)
			if got := string(in[len(in)-p.Unread():]); got != tc.unread {
				t.Fatalf("unread %q, want %q", got, tc.unread)
			}
		})
	}
}

// TestFieldOf: field names are matched byte for byte, ASCII case folded
// only, as a server matches them: a name that merely folds to one under
// Unicode rules ("Hoſt", long s) is another field.
func TestFieldOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		want field
	}{
		{"Host", fieldHost}, {"HOST", fieldHost}, {"host", fieldHost},
		{"Content-Length", fieldContentLength}, {"content-LENGTH", fieldContentLength},
		{"Transfer-Encoding", fieldTransferEncoding}, {"Content-Encoding", fieldContentEncoding},
		{"User-Agent", fieldUserAgent}, {"Content-Type", fieldContentType}, {"Upgrade", fieldUpgrade},
		{"Hoſt", fieldOther}, {"Hosts", fieldOther}, {"Hostx", fieldOther}, {"X-Host", fieldOther},
		{"Content-Lengt", fieldOther}, {"Content_Length", fieldOther}, {"Content-Kength", fieldOther},
		{"Accept", fieldOther}, {"", fieldOther}, {"Cookie", fieldOther}, {"Upgrad\xc5", fieldOther},
	} {
		if got := fieldOf([]byte(tc.name)); got != tc.want {
			t.Errorf("fieldOf(%q) = %d, want %d", tc.name, got, tc.want)
		}
	}
	r := parse(Request, Config{}, nil, []byte("GET / HTTP/1.1\r\nHoſt: evil.example\r\nHost: good.example\r\nUſer-Agent: evil/1\r\n\r\n"))
	if got := r.String(); !strings.Contains(got, `host="good.example"`) || !strings.Contains(got, `ua=""`) {
		t.Errorf("non-ASCII look-alike names were taken for fields:\n%s", got)
	}
}
