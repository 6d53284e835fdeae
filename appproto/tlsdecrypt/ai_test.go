package tlsdecrypt

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"testing"

	"github.com/tapdlp/tapdlp/appproto/aiapi"
)

// AI API calls shaped like the vendors' documented examples, sent over
// real TLS: the facts from the decrypted requests equal those from the
// cleartext requests the server received.
func TestAICallsOverTLS(t *testing.T) {
	calls := []call{
		{"api.openai.com", "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":[{"type":"text","text":"My SSN is ` + testSSN + `"}]}],"stream":true}`},
		{"api.openai.com", "/v1/embeddings", `{"model":"text-embedding-3-small","input":"card ` + testCard + `"}`},
		{"api.anthropic.com", "/v1/messages", `{"model":"claude-sonnet-4-20250514","max_tokens":256,"system":"Be brief.","messages":[{"role":"user","content":"Card ` + testCard + `, SSN ` + testSSN + `"}],"tools":[{"name":"t","input_schema":{"type":"object"}}]}`},
		{"generativelanguage.googleapis.com", "/v1beta/models/gemini-2.0-flash:generateContent", `{"contents":[{"parts":[{"text":"SSN ` + testSSN + `"}]}]}`},
		{"bedrock-runtime.us-east-1.amazonaws.com", "/model/amazon.nova-lite-v1:0/converse", `{"messages":[{"role":"user","content":[{"text":"card ` + testCard + `"}]}]}`},
	}
	for _, tc := range []exchangeCase{
		{name: "ai-tls13-h2", max: tls.VersionTLS13, h2: true, suite13: tls.TLS_AES_128_GCM_SHA256, wantID: 0x1301, calls: calls},
		{name: "ai-tls12-h1", max: tls.VersionTLS12, suite12: tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, wantID: 0xcca9, calls: calls},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, seen := runExchange(t, tc)
			f, col := decryptChunks(storeOf(rec), rec.chunks, 0)
			checkPlaintext(t, tc, f, col, seen)
			var got []seenReq
			if tc.h2 {
				got = parseH2(t, col.out[1])
			} else {
				br := bufio.NewReader(bytes.NewReader(col.out[1]))
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						break
					}
					b, _ := io.ReadAll(req.Body)
					got = append(got, seenReq{req.Method, req.Host, req.URL.Path, b})
				}
			}
			var p aiapi.Parser
			chats := 0
			for i, c := range calls {
				clear := aiapi.Request{Method: "POST", Host: seen[i].host, Path: seen[i].path, Body: seen[i].body}
				dec := aiapi.Request{Method: got[i].method, Host: got[i].host, Path: got[i].path, Body: got[i].body}
				var prompts []byte
				want, ok1 := p.Describe(&clear, nil)
				have, ok2 := p.Describe(&dec, func(b []byte, _ bool) { prompts = append(prompts, b...) })
				if !ok1 || !ok2 || want != have || have.Provider == "" {
					t.Fatalf("%s%s: decrypted %+v (%v), cleartext %+v (%v)", c.host, c.path, have, ok2, want, ok1)
				}
				if !bytes.Contains(prompts, []byte(testSSN)) && !bytes.Contains(prompts, []byte(testCard)) {
					t.Fatalf("%s: test value not in prompt text %q", c.path, prompts)
				}
				if have.Operation == aiapi.OpChat {
					chats++
				}
			}
			if chats != 4 {
				t.Fatalf("%d chat calls, want 4", chats)
			}
		})
	}
}
