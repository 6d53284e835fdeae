package aiapi

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// Test values in the prompts: a test card number, a valid-format SSN, a
// reserved-domain e-mail address.
const (
	card  = "4111111111111111"
	ssn   = "123-45-6789"
	email = "jane.doe@example.com"
)

var (
	docB64   = base64.StdEncoding.EncodeToString([]byte("Patient SSN " + ssn + " in an attached text file"))
	imageB64 = base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nfake image bytes with " + card))
)

type aiCase struct {
	name    string
	req     Request
	want    Facts
	prompts []string // each must be in the yielded text
	absent  []string // none may be (structural values)
}

func post(host, path, body string) Request {
	return Request{Method: "POST", Host: host, Path: path, ContentType: "application/json", Body: []byte(body)}
}

var aiCases = []aiCase{
	{
		name: "openai chat with image part and tools",
		req: post("api.openai.com", "/v1/chat/completions", `{
  "model": "gpt-4o",
  "messages": [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": [
      {"type": "text", "text": "My card is `+card+`, is it valid?"},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,`+imageB64+`", "detail": "high"}}
    ]},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"email\":\"`+email+`\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "found `+email+`"}
  ],
  "tools": [
    {"type": "function", "function": {"name": "lookup", "description": "Look up a customer", "parameters": {"type": "object", "properties": {"email": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "refund", "parameters": {"type": "object"}}}
  ],
  "stream": true,
  "temperature": 0.2
}`),
		want:    Facts{Provider: "openai", Operation: OpChat, Model: "gpt-4o", Stream: true, Attachments: 1, Tools: 2},
		prompts: []string{"You are a helpful assistant.", "My card is " + card, "fake image bytes with " + card, `{"email":"` + email + `"}`, "found " + email},
		absent:  []string{"image_url", "call_1", "high", "Look up a customer"},
	},
	{
		name: "openai responses with input file",
		req: post("api.openai.com", "/v1/responses", `{"model":"gpt-4.1","instructions":"Answer briefly.","input":[
  {"role":"user","content":[
    {"type":"input_text","text":"Summarise this file for `+email+`"},
    {"type":"input_file","filename":"notes.txt","file_data":"data:text/plain;base64,`+docB64+`"}
  ]}]}`),
		want:    Facts{Provider: "openai", Operation: OpResponses, Model: "gpt-4.1", Attachments: 1},
		prompts: []string{"Answer briefly.", "Summarise this file for " + email, "Patient SSN " + ssn},
		absent:  []string{"notes.txt", "input_text"},
	},
	{
		name:    "openai responses plain string input",
		req:     post("api.openai.com", "/v1/responses?x=1", `{"model":"o4-mini","input":"What is 2+2? SSN `+ssn+`"}`),
		want:    Facts{Provider: "openai", Operation: OpResponses, Model: "o4-mini"},
		prompts: []string{"SSN " + ssn},
	},
	{
		name:    "openai embeddings array",
		req:     post("api.openai.com", "/v1/embeddings", `{"model":"text-embedding-3-small","input":["first `+email+`","second `+card+`"],"encoding_format":"float"}`),
		want:    Facts{Provider: "openai", Operation: OpEmbeddings, Model: "text-embedding-3-small"},
		prompts: []string{"first " + email, "second " + card},
		absent:  []string{"float"},
	},
	{
		name:    "openai speech",
		req:     post("api.openai.com", "/v1/audio/speech", `{"model":"gpt-4o-mini-tts","input":"Read out `+ssn+`","voice":"alloy"}`),
		want:    Facts{Provider: "openai", Operation: OpSpeech, Model: "gpt-4o-mini-tts"},
		prompts: []string{"Read out " + ssn},
		absent:  []string{"alloy"},
	},
	{
		name: "openai transcription upload",
		req: Request{Method: "POST", Host: "api.openai.com", Path: "/v1/audio/transcriptions", ContentType: "multipart/form-data; boundary=XyZ",
			Body: []byte("--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n" +
				"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"call.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF....card " + card + "\r\n--XyZ--\r\n")},
		want:    Facts{Provider: "openai", Operation: OpTranscription, Model: "whisper-1", Attachments: 1},
		prompts: []string{"card " + card},
	},
	{
		name: "openai file upload",
		req: Request{Method: "POST", Host: "api.openai.com", Path: "/v1/files", ContentType: "multipart/form-data; boundary=b",
			Body: []byte("--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n" +
				"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"train.jsonl\"\r\n\r\n{\"messages\":[{\"role\":\"user\",\"content\":\"" + email + "\"}]}\r\n--b--\r\n")},
		want:    Facts{Provider: "openai", Operation: OpFiles, Attachments: 1},
		prompts: []string{email},
	},
	{
		name:    "azure deployment names the model",
		req:     post("contoso.openai.azure.com", "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21", `{"messages":[{"role":"user","content":"card `+card+`"}]}`),
		want:    Facts{Provider: "azure_openai", Operation: OpChat, Model: "gpt4o-prod"},
		prompts: []string{"card " + card},
	},
	{
		name:    "groq openai-compatible",
		req:     post("api.groq.com", "/openai/v1/chat/completions", `{"model":"llama-3.3-70b-versatile","messages":[{"role":"user","content":"hi `+email+`"}]}`),
		want:    Facts{Provider: "groq", Operation: OpChat, Model: "llama-3.3-70b-versatile"},
		prompts: []string{"hi " + email},
	},
	{
		name:    "unknown host vllm",
		req:     post("10.1.2.3:8000", "/v1/chat/completions", `{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"x `+ssn+`"}],"stream":false}`),
		want:    Facts{Provider: "openai_compatible", Operation: OpChat, Model: "meta-llama/Llama-3.1-8B-Instruct"},
		prompts: []string{"x " + ssn},
	},
	{
		name: "anthropic messages with system blocks, image, document and tool result",
		req: post("api.anthropic.com", "/v1/messages", `{
  "model": "claude-sonnet-4-20250514",
  "max_tokens": 1024,
  "system": [{"type": "text", "text": "You review refunds.", "cache_control": {"type": "ephemeral"}}],
  "messages": [
    {"role": "user", "content": [
      {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "`+imageB64+`"}},
      {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Customer `+email+` asked for a refund."}},
      {"type": "text", "text": "Card on file: `+card+`"}
    ]},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_ssn", "input": {"customer": "jane"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "SSN `+ssn+`"}]}
  ],
  "tools": [{"name": "get_ssn", "description": "Fetch", "input_schema": {"type": "object"}}],
  "stream": true
}`),
		want:    Facts{Provider: "anthropic", Operation: OpChat, Model: "claude-sonnet-4-20250514", Stream: true, Attachments: 2, Tools: 1},
		prompts: []string{"You review refunds.", "fake image bytes with " + card, "Customer " + email, "Card on file: " + card, "SSN " + ssn, "jane"},
		absent:  []string{"ephemeral", "toolu_1", "get_ssn", "image/png", "Fetch"},
	},
	{
		name:    "anthropic system string",
		req:     post("api.anthropic.com", "/v1/messages", `{"model":"claude-3-5-haiku-latest","system":"Be terse about `+email+`","messages":[{"role":"user","content":"Hello"}],"max_tokens":10}`),
		want:    Facts{Provider: "anthropic", Operation: OpChat, Model: "claude-3-5-haiku-latest"},
		prompts: []string{"Be terse about " + email, "Hello"},
	},
	{
		name: "gemini generateContent",
		req: post("generativelanguage.googleapis.com", "/v1beta/models/gemini-2.0-flash:generateContent?key=REDACTED", `{
  "systemInstruction": {"parts": [{"text": "You are a cat."}]},
  "contents": [{"role": "user", "parts": [
    {"text": "What is in this file? It mentions `+ssn+`"},
    {"inlineData": {"mimeType": "text/plain", "data": "`+docB64+`"}}
  ]}],
  "tools": [{"functionDeclarations": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}],
  "generationConfig": {"temperature": 0.1}
}`),
		want:    Facts{Provider: "gemini", Operation: OpChat, Model: "gemini-2.0-flash", Attachments: 1, Tools: 3},
		prompts: []string{"You are a cat.", "It mentions " + ssn, "Patient SSN " + ssn},
		absent:  []string{"text/plain"},
	},
	{
		name:    "vertex streamGenerateContent",
		req:     post("us-central1-aiplatform.googleapis.com", "/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-1.5-pro:streamGenerateContent", `{"contents":[{"role":"user","parts":[{"text":"card `+card+`"},{"fileData":{"mimeType":"application/pdf","fileUri":"gs://bucket/x.pdf"}}]}]}`),
		want:    Facts{Provider: "vertex", Operation: OpChat, Model: "gemini-1.5-pro", Stream: true, Attachments: 1},
		prompts: []string{"card " + card},
		absent:  []string{"gs://bucket/x.pdf"},
	},
	{
		name:    "vertex anthropic rawPredict",
		req:     post("us-east5-aiplatform.googleapis.com", "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-3-5-sonnet-v2@20241022:streamRawPredict", `{"anthropic_version":"vertex-2023-10-16","messages":[{"role":"user","content":"mail `+email+`"}],"max_tokens":5}`),
		want:    Facts{Provider: "vertex", Operation: OpChat, Model: "claude-3-5-sonnet-v2@20241022", Stream: true},
		prompts: []string{"mail " + email},
	},
	{
		name:    "bedrock converse",
		req:     post("bedrock-runtime.us-east-1.amazonaws.com", "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", `{"messages":[{"role":"user","content":[{"text":"SSN `+ssn+`"},{"document":{"format":"txt","name":"notes","source":{"bytes":"`+docB64+`"}}}]}],"system":[{"text":"Be safe."}],"inferenceConfig":{"maxTokens":100},"toolConfig":{"tools":[{"toolSpec":{"name":"t1"}}]}}`),
		want:    Facts{Provider: "bedrock", Operation: OpChat, Model: "anthropic.claude-3-5-sonnet-20240620-v1:0", Attachments: 1, Tools: 1},
		prompts: []string{"SSN " + ssn, "Patient SSN " + ssn, "Be safe."},
		absent:  []string{"notes"},
	},
	{
		name:    "bedrock invoke anthropic body streaming",
		req:     post("bedrock-runtime.eu-west-1.amazonaws.com", "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke-with-response-stream", `{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":[{"role":"user","content":[{"type":"text","text":"card `+card+`"}]}]}`),
		want:    Facts{Provider: "bedrock", Operation: OpChat, Model: "anthropic.claude-3-haiku-20240307-v1:0", Stream: true},
		prompts: []string{"card " + card},
	},
	{
		name:    "bedrock invoke titan",
		req:     post("bedrock-runtime.us-west-2.amazonaws.com", "/model/amazon.titan-text-express-v1/invoke", `{"inputText":"Email `+email+`","textGenerationConfig":{"maxTokenCount":50}}`),
		want:    Facts{Provider: "bedrock", Operation: OpChat, Model: "amazon.titan-text-express-v1"},
		prompts: []string{"Email " + email},
	},
	{
		name:    "truncated body keeps what was read",
		req:     Request{Method: "POST", Host: "api.openai.com", Path: "/v1/chat/completions", Body: []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"card ` + card + `"},{"role":"user","content":"more tex`), BodyTruncated: true},
		want:    Facts{Provider: "openai", Operation: OpChat, Model: "gpt-4o", Truncated: true},
		prompts: []string{"card " + card},
	},
}

func TestDescribe(t *testing.T) {
	var p Parser
	for _, tc := range aiCases {
		t.Run(tc.name, func(t *testing.T) {
			var texts [][]byte
			got, ok := p.Describe(&tc.req, func(b []byte, _ bool) { texts = append(texts, bytes.Clone(b)) })
			if !ok {
				t.Fatal("not recognised")
			}
			total := 0
			for _, x := range texts {
				total += len(x)
			}
			want := tc.want
			want.PromptBytes = total
			if got != want {
				t.Fatalf("facts\n got %+v\nwant %+v", got, want)
			}
			if total == 0 {
				t.Fatal("no prompt bytes")
			}
			all := string(bytes.Join(texts, []byte("\x00")))
			for _, s := range tc.prompts {
				if !strings.Contains(all, s) {
					t.Errorf("prompt text %q not yielded; got %q", s, all)
				}
			}
			for _, s := range tc.absent {
				for _, x := range texts {
					if string(x) == s || strings.Contains(string(x), s) && !strings.Contains(tc.prompts[0], s) {
						t.Errorf("structural value %q yielded as prompt", s)
					}
				}
			}
		})
	}
}

func TestNotAI(t *testing.T) {
	var p Parser
	for _, r := range []Request{
		{Method: "GET", Host: "api.openai.com", Path: "/v1/models"},
		{Method: "GET", Host: "api.openai.com", Path: "/v1/chat/completions"},
		{Method: "POST", Host: "api.openai.com", Path: "/v1/chat/completions", Body: []byte("not json")},
		{Method: "POST", Host: "api.openai.com", Path: "/v1/chat/completions", Body: []byte(`{"model":"x",`)},            // cut short, not marked truncated
		{Method: "POST", Host: "api.openai.com", Path: "/v1/chat/completions", Body: []byte(`{"model":"x"} trailing`)},   // trailing garbage
		{Method: "POST", Host: "api.openai.com", Path: "/v1/chat/completions", Body: []byte(`["an","array"]`)},           // not an object
		{Method: "POST", Host: "example.com", Path: "/upload", Body: []byte(`{"messages":[{"content":"x"}]}`)},           // unknown path
		{Method: "POST", Host: "s3.amazonaws.com", Path: "/model/x/invoke", Body: []byte(`{"prompt":"x"}`)},              // Bedrock path, not Bedrock
		{Method: "POST", Host: "api.openai.com", Path: "/v1/files", ContentType: "application/json", Body: []byte(`{}`)}, // upload that is not multipart
		{Method: "POST", Host: "api.openai.com", Path: "/v1/chat/completions", Body: []byte(strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100))},
	} {
		if f, ok := p.Describe(&r, nil); ok {
			t.Errorf("%s %s %s %q: facts %+v", r.Method, r.Host, r.Path, r.Body, f)
		}
	}
}

// Model names that do not look like one are dropped, not recorded.
func TestModelCleaned(t *testing.T) {
	var p Parser
	r := post("api.openai.com", "/v1/chat/completions", `{"model":"gpt 4o \" <script>","messages":[]}`)
	f, ok := p.Describe(&r, nil)
	if !ok || f.Model != "" {
		t.Fatalf("%+v %v", f, ok)
	}
}

func TestDescribeAllocs(t *testing.T) {
	var p Parser
	r := aiCases[0].req
	p.Describe(&r, nil)
	n := testing.AllocsPerRun(50, func() { p.Describe(&r, func([]byte, bool) {}) })
	// Facts strings (provider, model) are the only allocations.
	if n > 4 {
		t.Fatalf("%v allocations per request", n)
	}
}

func FuzzDescribe(f *testing.F) {
	for _, tc := range aiCases {
		f.Add(tc.req.Host, tc.req.Path, tc.req.ContentType, tc.req.Body, tc.req.BodyTruncated)
	}
	f.Fuzz(func(t *testing.T, host, path, ctype string, body []byte, trunc bool) {
		p := Parser{Limits: Limits{MaxBody: 1 << 16, MaxDepth: 32}}
		r := Request{Method: "POST", Host: host, Path: path, ContentType: ctype, Body: body, BodyTruncated: trunc}
		sum := 0
		fa, ok := p.Describe(&r, func(b []byte, _ bool) { sum += len(b) })
		if !ok {
			if fa != (Facts{}) {
				t.Fatalf("facts without ok: %+v", fa)
			}
			return
		}
		if fa.PromptBytes != sum || fa.Provider == "" || fa.Operation == "" || fa.Attachments < 0 || fa.Tools < 0 {
			t.Fatalf("facts %+v, prompt bytes seen %d", fa, sum)
		}
		if fa.Model != cleanModel(fa.Model) {
			t.Fatalf("model %q not clean", fa.Model)
		}
		// The same request again gives the same facts (scratch reuse).
		fb, _ := p.Describe(&r, nil)
		if fb != fa {
			t.Fatalf("second parse %+v, first %+v", fb, fa)
		}
	})
}
