// Package aiapi recognises calls to AI model APIs in decoded HTTP requests
// and describes them: which provider and operation, which model, whether
// the answer streams, how many prompt bytes, attachments and tool
// definitions were sent. It also yields the prompt text itself (every
// string of the messages, system prompts, inputs, and base64 file parts
// decoded) so the content scanner sees it whole.
//
// It knows the request shapes of the OpenAI API and the many services that
// copy it (Azure OpenAI, Groq, Together, OpenRouter, Mistral, DeepSeek,
// xAI, vLLM, Ollama), Anthropic Messages, Google Gemini and Vertex AI, and
// the AWS Bedrock runtime (InvokeModel, Converse). Input is hostile: the
// body is bounded (Limits), JSON nesting is capped, and a body that does
// not have the expected shape gives no facts (ok=false), never an error
// for the record. Values taken from the body (the model name) are traffic:
// the caller redacts them like any other string before output.
package aiapi

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"strings"
)

// Request is the part of an HTTP request the parser reads.
type Request struct {
	Method      string
	Host        string // Host header or :authority (a port is ignored)
	Path        string // request target: path and query
	ContentType string
	Body        []byte // the decoded (not content-encoded) body, possibly a prefix
	// BodyTruncated: Body is only the first part of the body.
	BodyTruncated bool
}

// Facts describe one AI API call; they are the record's `ai` object.
type Facts struct {
	Provider    string `json:"provider"`
	Operation   string `json:"operation"`
	Model       string `json:"model,omitempty"`
	Stream      bool   `json:"stream"`
	PromptBytes int    `json:"prompt_bytes"`
	Attachments int    `json:"attachments"`
	Tools       int    `json:"tools"`
	// Truncated: the body ended before its JSON did; the facts cover the
	// part that was read.
	Truncated bool `json:"truncated,omitempty"`
}

// Limits bound the parser; zero values mean the defaults.
type Limits struct {
	MaxBody  int // body bytes read; default 4 MiB (the rest counts as truncated)
	MaxDepth int // JSON nesting; default 64
}

// PromptFunc receives one prompt text: a message, a system prompt, an
// input, or a decoded attachment (attachment=true). text is only valid
// during the call.
type PromptFunc func(text []byte, attachment bool)

// Parser describes requests. It keeps scratch buffers between calls, so a
// worker keeps one; it is not safe for concurrent use.
type Parser struct {
	Limits Limits
	w      walker
	dec    []byte
	v      jsonVisitor
}

// Operations.
const (
	OpChat          = "chat"
	OpCompletion    = "completion"
	OpResponses     = "responses"
	OpEmbeddings    = "embeddings"
	OpFiles         = "files"
	OpTranscription = "audio_transcription"
	OpTranslation   = "audio_translation"
	OpSpeech        = "audio_speech"
	OpImages        = "image_generation"
	OpModeration    = "moderation"
	OpCountTokens   = "count_tokens"
)

type bodyKind uint8

const (
	bodyJSON bodyKind = iota
	bodyMultipart
)

// endpoint is what the method, host and path say about a request.
type endpoint struct {
	provider, operation, model string
	stream                     bool
	body                       bodyKind
	roots                      []string // top-level keys holding prompt content
}

var (
	rootsChat       = []string{"messages"}
	rootsResponses  = []string{"input", "instructions"}
	rootsPrompt     = []string{"prompt", "suffix"}
	rootsInput      = []string{"input"}
	rootsAnthropic  = []string{"system", "messages"}
	rootsAnthropicC = []string{"prompt"}
	rootsGemini     = []string{"contents", "systemInstruction", "system_instruction", "content", "requests"}
	rootsConverse   = []string{"messages", "system"}
	// InvokeModel bodies are the model family's own: Anthropic (messages,
	// system), Titan (inputText), Llama and Mistral (prompt), Cohere
	// (message, chat_history, texts), AI21 (messages).
	rootsInvoke = []string{"messages", "system", "prompt", "inputText", "message", "chat_history", "texts", "input"}
)

// hostProvider names the provider a host belongs to ("" when unknown).
func hostProvider(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	switch host {
	case "api.openai.com":
		return "openai"
	case "api.anthropic.com":
		return "anthropic"
	case "generativelanguage.googleapis.com":
		return "gemini"
	case "api.groq.com":
		return "groq"
	case "api.together.xyz", "api.together.ai":
		return "together"
	case "openrouter.ai":
		return "openrouter"
	case "api.mistral.ai":
		return "mistral"
	case "api.deepseek.com":
		return "deepseek"
	case "api.x.ai":
		return "xai"
	case "api.perplexity.ai":
		return "perplexity"
	case "api.fireworks.ai":
		return "fireworks"
	}
	switch {
	case strings.HasSuffix(host, ".openai.azure.com"), strings.HasSuffix(host, ".cognitiveservices.azure.com"),
		strings.HasSuffix(host, ".services.ai.azure.com"):
		return "azure_openai"
	case host == "aiplatform.googleapis.com" || strings.HasSuffix(host, "-aiplatform.googleapis.com"):
		return "vertex"
	case strings.HasPrefix(host, "bedrock-runtime.") && strings.HasSuffix(host, ".amazonaws.com"),
		strings.HasPrefix(host, "bedrock-runtime-fips.") && strings.HasSuffix(host, ".amazonaws.com"):
		return "bedrock"
	}
	return ""
}

// classify recognises the endpoint; ok=false for anything else.
func classify(method, host, target string) (endpoint, bool) {
	if method != "POST" {
		return endpoint{}, false
	}
	path := target
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimSuffix(path, "/")
	prov := hostProvider(host)
	e := endpoint{provider: prov}

	// Bedrock runtime: /model/{modelId}/{invoke|invoke-with-response-stream|converse|converse-stream}.
	if prov == "bedrock" {
		rest, ok := strings.CutPrefix(path, "/model/")
		if !ok {
			return e, false
		}
		i := strings.LastIndexByte(rest, '/')
		if i <= 0 {
			return e, false
		}
		e.model = unescapePath(rest[:i])
		switch rest[i+1:] {
		case "invoke":
			e.operation, e.roots = OpChat, rootsInvoke
		case "invoke-with-response-stream":
			e.operation, e.roots, e.stream = OpChat, rootsInvoke, true
		case "converse":
			e.operation, e.roots = OpChat, rootsConverse
		case "converse-stream":
			e.operation, e.roots, e.stream = OpChat, rootsConverse, true
		default:
			return e, false
		}
		return e, true
	}

	// Gemini and Vertex: …/models/{model}:{method}.
	if i := strings.LastIndex(path, "/models/"); i >= 0 {
		if j := strings.LastIndexByte(path, ':'); j > i {
			model, method := path[i+len("/models/"):j], path[j+1:]
			e.model = unescapePath(model)
			if e.provider == "" {
				e.provider = "gemini_compatible"
			}
			anthropicOnVertex := strings.Contains(path, "/publishers/anthropic/")
			switch method {
			case "generateContent":
				e.operation, e.roots = OpChat, rootsGemini
			case "streamGenerateContent":
				e.operation, e.roots, e.stream = OpChat, rootsGemini, true
			case "embedContent", "batchEmbedContents":
				e.operation, e.roots = OpEmbeddings, rootsGemini
			case "countTokens":
				e.operation, e.roots = OpCountTokens, rootsGemini
			case "rawPredict", "streamRawPredict":
				if !anthropicOnVertex {
					return e, false
				}
				e.operation, e.roots, e.stream = OpChat, rootsAnthropic, method == "streamRawPredict"
			default:
				return e, false
			}
			return e, true
		}
	}

	// Azure OpenAI: /openai/deployments/{deployment}/… ; the deployment
	// names the model.
	if rest, ok := strings.CutPrefix(path, "/openai/deployments/"); ok {
		if i := strings.IndexByte(rest, '/'); i > 0 {
			e.model = unescapePath(rest[:i])
			path = "/v1/" + rest[i+1:]
			if e.provider == "" {
				e.provider = "azure_openai"
			}
		}
	}

	// Anthropic Messages (also served by compatible gateways).
	switch {
	case strings.HasSuffix(path, "/v1/messages"):
		e.operation, e.roots = OpChat, rootsAnthropic
		if e.provider == "" {
			e.provider = "anthropic_compatible"
		}
		return e, true
	case strings.HasSuffix(path, "/v1/messages/count_tokens"):
		e.operation, e.roots = OpCountTokens, rootsAnthropic
		if e.provider == "" {
			e.provider = "anthropic_compatible"
		}
		return e, true
	case strings.HasSuffix(path, "/v1/complete") && e.provider == "anthropic":
		e.operation, e.roots = OpCompletion, rootsAnthropicC
		return e, true
	}

	// OpenAI and compatible APIs, by the path's last segments.
	ops := []struct {
		suffix, op string
		roots      []string
		body       bodyKind
	}{
		{"/chat/completions", OpChat, rootsChat, bodyJSON},
		{"/completions", OpCompletion, rootsPrompt, bodyJSON},
		{"/responses", OpResponses, rootsResponses, bodyJSON},
		{"/embeddings", OpEmbeddings, rootsInput, bodyJSON},
		{"/moderations", OpModeration, rootsInput, bodyJSON},
		{"/images/generations", OpImages, rootsPrompt, bodyJSON},
		{"/audio/speech", OpSpeech, rootsInput, bodyJSON},
		{"/audio/transcriptions", OpTranscription, nil, bodyMultipart},
		{"/audio/translations", OpTranslation, nil, bodyMultipart},
		{"/files", OpFiles, nil, bodyMultipart},
	}
	for _, o := range ops {
		if strings.HasSuffix(path, o.suffix) {
			e.operation, e.roots, e.body = o.op, o.roots, o.body
			if e.provider == "" {
				e.provider = "openai_compatible"
			}
			return e, true
		}
	}
	return e, false
}

func unescapePath(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Describe recognises an AI API call and describes it, calling prompt (if
// not nil) for each prompt text. ok=false means "not an AI call this
// package understands": the caller scans the body as usual.
func (p *Parser) Describe(r *Request, prompt PromptFunc) (Facts, bool) {
	e, ok := classify(r.Method, r.Host, r.Path)
	if !ok {
		return Facts{}, false
	}
	maxBody := p.Limits.MaxBody
	if maxBody <= 0 {
		maxBody = 4 << 20
	}
	body := r.Body
	truncated := r.BodyTruncated
	if len(body) > maxBody {
		body, truncated = body[:maxBody], true
	}
	f := Facts{Provider: e.provider, Operation: e.operation, Model: cleanModel(e.model), Stream: e.stream}
	emit := func(text []byte, att bool) {
		if len(text) == 0 {
			return
		}
		f.PromptBytes += len(text)
		if prompt != nil {
			prompt(text, att)
		}
	}
	if e.body == bodyMultipart {
		if !p.multipart(r.ContentType, body, &f, emit) {
			return Facts{}, false
		}
		f.Truncated = truncated
		return f, true
	}
	t := bytes.TrimLeft(body, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return Facts{}, false
	}
	depth := p.Limits.MaxDepth
	if depth <= 0 {
		depth = 64
	}
	p.v = jsonVisitor{p: p, f: &f, roots: e.roots, emit: emit, objFlags: p.v.objFlags[:0]}
	p.w.b, p.w.maxDepth, p.w.v = t, depth, &p.v
	err := p.w.run()
	p.w.b = nil
	switch err {
	case nil:
	case errEOF:
		if !truncated {
			// A complete body that is not complete JSON.
			return Facts{}, false
		}
		f.Truncated = true
	default:
		return Facts{}, false
	}
	if f.Model == "" && p.v.model != "" {
		f.Model = p.v.model
	}
	if p.v.funcDecls > 0 {
		f.Tools = p.v.funcDecls
	} else {
		f.Tools = p.v.tools
	}
	return f, true
}

// cleanModel keeps a model name that looks like one: printable, no
// spaces, at most 128 bytes.
func cleanModel(s string) string {
	if len(s) == 0 || len(s) > 128 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\' {
			return ""
		}
	}
	return s
}

// multipart reads an upload (files, audio): the model field and each file
// part, yielded as an attachment.
func (p *Parser) multipart(contentType string, body []byte, f *Facts, emit func([]byte, bool)) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return false
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	seen := false
	for {
		part, err := mr.NextPart()
		if err != nil {
			return seen
		}
		seen = true
		data, _ := io.ReadAll(part) // bounded: body is at most MaxBody
		switch {
		case part.FileName() != "":
			f.Attachments++
			emit(data, true)
		case part.FormName() == "model":
			f.Model = cleanModel(strings.TrimSpace(string(data)))
		case part.FormName() == "prompt":
			emit(data, false)
		case part.FormName() == "stream":
			f.Stream = strings.TrimSpace(string(data)) == "true"
		}
	}
}

// jsonVisitor collects facts and prompt texts from a JSON body.
type jsonVisitor struct {
	p     *Parser
	f     *Facts
	roots []string
	emit  func([]byte, bool)

	model     string
	tools     int
	funcDecls int
	objFlags  []bool // per open object inside a prompt root: is an attachment part
}

func keyIs(e elem, k string) bool { return e.key != nil && string(e.key) == k }

func (v *jsonVisitor) inRoot(path []elem) bool {
	if len(path) == 0 || path[0].key == nil {
		return false
	}
	for _, r := range v.roots {
		if string(path[0].key) == r {
			return true
		}
	}
	return false
}

// countTool counts tool definitions: tools[i] (OpenAI, Anthropic,
// Gemini), functions[i] (OpenAI legacy), toolConfig.tools[i] (Bedrock
// Converse), and Gemini's tools[i].functionDeclarations[j].
func (v *jsonVisitor) countTool(path []elem) {
	switch {
	case len(path) == 2 && (keyIs(path[0], "tools") || keyIs(path[0], "functions")) && path[1].key == nil:
		v.tools++
	case len(path) == 3 && keyIs(path[0], "toolConfig") && keyIs(path[1], "tools") && path[2].key == nil:
		v.tools++
	case len(path) == 4 && keyIs(path[0], "tools") && (keyIs(path[2], "functionDeclarations") || keyIs(path[2], "function_declarations")) && path[3].key == nil:
		v.funcDecls++
	}
}

// attachmentTypes are content part "type" values that carry a file.
var attachmentTypes = map[string]bool{
	"image_url": true, "image": true, "input_image": true, "file": true, "input_file": true,
	"document": true, "input_audio": true, "audio": true, "video": true,
}

// attachmentKeys, as keys of an object value, mark the object holding
// them as a file part (Gemini inlineData, Bedrock image/document/video).
// Parts are counted once, however many of these marks they carry.
var attachmentKeys = map[string]bool{
	"image_url": true, "input_audio": true, "inlineData": true, "inline_data": true, "fileData": true,
	"file_data": true, "image": true, "document": true, "video": true,
}

// structuralKeys hold no prompt text.
var structuralKeys = map[string]bool{
	"type": true, "role": true, "id": true, "tool_call_id": true, "tool_use_id": true, "call_id": true,
	"name": true, "mime_type": true, "mimeType": true, "media_type": true, "detail": true, "format": true,
	"signature": true, "file_id": true, "filename": true, "status": true, "cache_control": true, "fileUri": true,
	"file_uri": true,
}

// base64Keys hold file contents in base64 (or a data: URL).
var base64Keys = map[string]bool{"data": true, "file_data": true, "bytes": true, "url": true, "image_url": true}

func (v *jsonVisitor) open(path []elem, kind byte) {
	v.countTool(path)
	if !v.inRoot(path) {
		return
	}
	if len(path) > 0 && path[len(path)-1].key != nil && attachmentKeys[string(path[len(path)-1].key)] {
		v.flagParent()
	}
	if kind == '{' {
		v.objFlags = append(v.objFlags, false)
	}
}

func (v *jsonVisitor) close(path []elem, kind byte) {
	if kind != '{' || !v.inRoot(path) || len(v.objFlags) == 0 {
		return
	}
	if v.objFlags[len(v.objFlags)-1] {
		v.f.Attachments++
	}
	v.objFlags = v.objFlags[:len(v.objFlags)-1]
}

func (v *jsonVisitor) flagParent() {
	if len(v.objFlags) > 0 {
		v.objFlags[len(v.objFlags)-1] = true
	}
}

func (v *jsonVisitor) scalar(path []elem, kind byte, val []byte) {
	v.countTool(path)
	if len(path) == 1 {
		switch {
		case keyIs(path[0], "model") && kind == 's':
			v.model = cleanModel(string(val))
		case keyIs(path[0], "stream") && kind == 't':
			v.f.Stream = true
		}
	}
	if kind != 's' || !v.inRoot(path) {
		return
	}
	last := path[len(path)-1]
	for _, e := range path[1:] {
		if keyIs(e, "cache_control") {
			return
		}
	}
	if last.key != nil {
		k := string(last.key)
		if k == "type" && attachmentTypes[string(val)] {
			v.flagParent()
		}
		if structuralKeys[k] {
			return
		}
		if base64Keys[k] {
			if dec, ok := v.p.decodeAttachment(val, k == "url" || k == "image_url"); ok {
				v.emit(dec, true)
				return
			}
		}
	}
	v.emit(val, false)
}

// decodeAttachment decodes a base64 value or a base64 data: URL. Plain
// text (a "data" field of a text document, a URL) is not base64: it has
// spaces, or punctuation base64 lacks, or does not decode.
func (p *Parser) decodeAttachment(val []byte, urlOnly bool) ([]byte, bool) {
	if bytes.HasPrefix(val, []byte("data:")) {
		comma := bytes.IndexByte(val, ',')
		if comma < 0 {
			return nil, false
		}
		meta := val[5:comma]
		if !bytes.HasSuffix(meta, []byte(";base64")) {
			return val[comma+1:], true
		}
		val = val[comma+1:]
	} else if urlOnly {
		return nil, false
	}
	if len(val) < 16 || bytes.ContainsAny(val, " \t.,:;!?\"'") {
		return nil, false
	}
	enc := base64.StdEncoding
	if bytes.ContainsAny(val, "-_") {
		enc = base64.URLEncoding
	}
	if val[len(val)-1] != '=' && len(val)%4 != 0 {
		if enc == base64.StdEncoding {
			enc = base64.RawStdEncoding
		} else {
			enc = base64.RawURLEncoding
		}
	}
	need := enc.DecodedLen(len(val))
	if cap(p.dec) < need {
		p.dec = make([]byte, need)
	}
	n, err := enc.Decode(p.dec[:need], val)
	if err != nil {
		return nil, false
	}
	return p.dec[:n], true
}

// Endpoint reports whether method, host and target (path and query) name
// an AI API call Describe would recognise: a caller collects a request's
// body only for those.
func Endpoint(method, host, target string) bool {
	_, ok := classify(method, host, target)
	return ok
}
