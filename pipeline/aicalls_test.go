package pipeline

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// AI call counting judges every request by its own method and path, on an
// HTTP/1 keep-alive connection as on multiplexed HTTP/2 streams, in
// cleartext and decrypted.

const (
	aiChatBody  = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"card 4111 1111 1111 1111 please"}]}`
	aiChatBody2 = `{"model":"gpt-4.1","messages":[{"role":"user","content":"summarise this"}],"stream":true}`
	aiEmbedBody = `{"model":"text-embedding-3-small","input":"hello"}`
	// A bodied GET on a chat path (a listing with filters): not a call.
	aiGetBody = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"not a call"}]}`
)

// aiReq is one HTTP request of a test exchange.
type aiTestReq struct {
	method, path, body string
}

// h1Exchange is an HTTP/1.1 keep-alive conversation: each request, then
// its response, in order.
func h1Exchange(reqs []aiTestReq) []tlsChunk {
	var out []tlsChunk
	for _, r := range reqs {
		var b strings.Builder
		b.WriteString(r.method + " " + r.path + " HTTP/1.1\r\nHost: api.openai.com\r\n")
		if r.body != "" {
			b.WriteString("Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(r.body)) + "\r\n")
		}
		b.WriteString("\r\n" + r.body)
		out = append(out, tlsChunk{true, []byte(b.String())})
		out = append(out, tlsChunk{false, []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")})
	}
	return out
}

// h2Exchange is an HTTP/2 connection (prior knowledge) whose requests are
// all opened first and whose bodies then arrive interleaved, each in two
// DATA frames, in the order of reqs; the later requests follow one by one
// once those ended; the server answers every stream at the end.
func h2Exchange(t *testing.T, reqs []aiTestReq, later ...aiTestReq) []tlsChunk {
	t.Helper()
	var cb, sb bytes.Buffer
	cb.WriteString(http2.ClientPreface)
	cf, sf := http2.NewFramer(&cb, nil), http2.NewFramer(&sb, nil)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cf.WriteSettings())
	must(sf.WriteSettings())
	must(sf.WriteSettingsAck())
	must(cf.WriteSettingsAck())
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	block := func(fields ...string) []byte {
		hb.Reset()
		for i := 0; i < len(fields); i += 2 {
			must(enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]}))
		}
		return bytes.Clone(hb.Bytes())
	}
	id := func(i int) uint32 { return uint32(2*i + 1) }
	for i, r := range reqs {
		f := []string{":method", r.method, ":scheme", "https", ":authority", "api.openai.com", ":path", r.path}
		if r.body != "" {
			f = append(f, "content-type", "application/json")
		}
		must(cf.WriteHeaders(http2.HeadersFrameParam{StreamID: id(i), BlockFragment: block(f...), EndHeaders: true, EndStream: r.body == ""}))
	}
	for half := range 2 {
		for i, r := range reqs {
			if r.body == "" {
				continue
			}
			mid := len(r.body) / 2
			part := r.body[:mid]
			if half == 1 {
				part = r.body[mid:]
			}
			must(cf.WriteData(id(i), half == 1, []byte(part)))
		}
	}
	for j, r := range later {
		i := len(reqs) + j
		f := []string{":method", r.method, ":scheme", "https", ":authority", "api.openai.com", ":path", r.path, "content-type", "application/json"}
		must(cf.WriteHeaders(http2.HeadersFrameParam{StreamID: id(i), BlockFragment: block(f...), EndHeaders: true}))
		must(cf.WriteData(id(i), true, []byte(r.body)))
	}
	for i := range len(reqs) + len(later) {
		must(sf.WriteHeaders(http2.HeadersFrameParam{StreamID: id(i), BlockFragment: block(":status", "200"), EndHeaders: true, EndStream: true}))
	}
	return []tlsChunk{{true, cb.Bytes()}, {false, sb.Bytes()}}
}

// tlsCarry runs a crypto/tls client and server (TLS 1.3, ALPN alpn) over
// an in-memory pipe, each side writing its chunks of steps in turn, and
// returns the ciphertext chunks and the client's key log.
func tlsCarry(t *testing.T, alpn string, steps []tlsChunk) ([]tlsChunk, []byte) {
	t.Helper()
	cc, sc := net.Pipe()
	var mu sync.Mutex
	var chunks []tlsChunk
	var keylog bytes.Buffer
	srv := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{tlsTestCert(t)}, NextProtos: []string{alpn}})
	cl := tls.Client(tlsRecConn{cc, &mu, &chunks}, &tls.Config{ServerName: "api.openai.com", InsecureSkipVerify: true,
		NextProtos: []string{alpn}, KeyLogWriter: &keylog})
	done := make(chan error, 1)
	go func() {
		defer srv.Close()
		for _, s := range steps {
			var err error
			if s.fromClient {
				_, err = io.ReadFull(srv, make([]byte, len(s.data)))
			} else {
				_, err = srv.Write(s.data)
			}
			if err != nil {
				done <- err
				return
			}
		}
		_, _ = io.Copy(io.Discard, srv) // until the client's close_notify: the pipe has no buffer
		done <- nil
	}()
	for _, s := range steps {
		var err error
		if s.fromClient {
			_, err = cl.Write(s.data)
		} else {
			_, err = io.ReadFull(cl, make([]byte, len(s.data)))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := cl.ConnectionState().NegotiatedProtocol; p != alpn {
		t.Fatalf("ALPN %q, want %q", p, alpn)
	}
	cl.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return chunks, keylog.Bytes()
}

type aiRecordView struct {
	AI *struct {
		Operation string `json:"operation"`
		Model     string `json:"model"`
		Stream    bool   `json:"stream"`
		Calls     int    `json:"calls"`
	} `json:"ai"`
	HTTP *struct {
		Requests int `json:"requests"`
	} `json:"http"`
	TLS *struct {
		Decrypted bool `json:"decrypted"`
	} `json:"tls"`
	Sensitive []struct {
		Type string `json:"type"`
	} `json:"sensitive"`
}

func TestAICallsPerRequest(t *testing.T) {
	chat := aiTestReq{"POST", "/v1/chat/completions", aiChatBody}
	chat2 := aiTestReq{"POST", "/v1/chat/completions", aiChatBody2}
	models := aiTestReq{"GET", "/v1/models", ""}
	cases := []struct {
		name      string
		reqs      []aiTestReq
		calls     int
		operation string
		model     string
	}{
		{"chat, list models, chat", []aiTestReq{chat, models, chat2}, 2, "chat", "gpt-4o-mini"},
		{"chat, bodied GET on a chat path, embeddings", []aiTestReq{chat, {"GET", "/v1/chat/completions", aiGetBody},
			{"POST", "/v1/embeddings", aiEmbedBody}}, 2, "chat", "gpt-4o-mini"},
		{"list models first, then one chat", []aiTestReq{models, chat2}, 1, "chat", "gpt-4.1"},
		{"bodied GET first, then chat", []aiTestReq{{"GET", "/v1/chat/completions", aiGetBody}, chat}, 1, "chat", "gpt-4o-mini"},
		{"no call at all", []aiTestReq{models, {"GET", "/v1/chat/completions", aiGetBody}}, 0, "", ""},
		{"three chats", []aiTestReq{chat, chat2, chat}, 3, "chat", "gpt-4o-mini"},
	}
	for _, proto := range []string{"http/1.1", "h2"} {
		for _, enc := range []bool{false, true} {
			for _, tc := range cases {
				name := proto + "/" + map[bool]string{false: "cleartext", true: "decrypted"}[enc] + "/" + tc.name
				t.Run(name, func(t *testing.T) {
					var steps []tlsChunk
					if proto == "h2" {
						steps = h2Exchange(t, tc.reqs)
					} else {
						steps = h1Exchange(tc.reqs)
					}
					dir := t.TempDir()
					pcap := filepath.Join(dir, "ai.pcap")
					var keylogs []string
					if enc {
						chunks, kl := tlsCarry(t, proto, steps)
						writeChunksPcap(t, pcap, "10.0.0.5:52000", "203.0.113.80:443", chunks)
						keylogs = []string{filepath.Join(dir, "keys.log")}
						if err := os.WriteFile(keylogs[0], kl, 0o600); err != nil {
							t.Fatal(err)
						}
					} else {
						writeChunksPcap(t, pcap, "10.0.0.5:52000", "203.0.113.80:80", steps)
					}
					lines, _ := replayWithKeys(t, "", keylogs, pcap)
					flows := flowRecords(lines)
					if len(flows) != 1 {
						t.Fatalf("%d flow records:\n%s", len(flows), strings.Join(lines, "\n"))
					}
					var rec aiRecordView
					if err := json.Unmarshal([]byte(flows[0]), &rec); err != nil {
						t.Fatal(err)
					}
					if rec.HTTP == nil || rec.HTTP.Requests != len(tc.reqs) {
						t.Fatalf("requests not all parsed (want %d):\n%s", len(tc.reqs), flows[0])
					}
					if enc && (rec.TLS == nil || !rec.TLS.Decrypted) {
						t.Fatalf("not decrypted:\n%s", flows[0])
					}
					if tc.calls == 0 {
						if rec.AI != nil {
							t.Errorf("ai object without a call:\n%s", flows[0])
						}
						return
					}
					if rec.AI == nil || rec.AI.Calls != tc.calls || rec.AI.Operation != tc.operation || rec.AI.Model != tc.model {
						t.Errorf("ai %+v, want %d calls, first %s %s:\n%s", rec.AI, tc.calls, tc.operation, tc.model, flows[0])
					}
					card := false
					for _, s := range rec.Sensitive {
						card = card || s.Type == "credit_card"
					}
					if want := strings.Contains(strings.Join([]string{tc.reqs[0].body, tc.reqs[len(tc.reqs)-1].body}, ""), "4111"); card != want {
						t.Errorf("card found %v, want %v:\n%s", card, want, flows[0])
					}
				})
			}
		}
	}
}

// One flow describes at most maxAIRequests requests in flight at once;
// the others are counted, and requests after those ended are described
// again (the slots are given back).
func TestAIRequestsInFlightBound(t *testing.T) {
	var reqs []aiTestReq
	for range maxAIRequests + 3 {
		reqs = append(reqs, aiTestReq{"POST", "/v1/chat/completions", aiChatBody2})
	}
	steps := h2Exchange(t, reqs, aiTestReq{"POST", "/v1/embeddings", aiEmbedBody}, aiTestReq{"POST", "/v1/embeddings", aiEmbedBody})
	pcap := filepath.Join(t.TempDir(), "many.pcap")
	writeChunksPcap(t, pcap, "10.0.0.5:52000", "203.0.113.80:80", steps)
	p, out := replayPipeline(t, nil, pcap)
	flows := flowRecords(strings.Split(strings.TrimSpace(out), "\n"))
	if len(flows) != 1 {
		t.Fatalf("%d flows:\n%s", len(flows), out)
	}
	var rec aiRecordView
	if err := json.Unmarshal([]byte(flows[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.AI == nil || rec.AI.Calls != maxAIRequests+2 || rec.HTTP.Requests != maxAIRequests+5 {
		t.Errorf("want %d calls of %d requests:\n%s", maxAIRequests+2, maxAIRequests+5, flows[0])
	}
	st := p.AIStats()
	if st.Calls.Load() != maxAIRequests+2 || st.Undescribed.Load() != 3 {
		t.Errorf("ai calls %d, undescribed %d; want %d and 3", st.Calls.Load(), st.Undescribed.Load(), maxAIRequests+2)
	}
}
