package pipeline

import (
	"github.com/tapdlp/tapdlp/appproto/aiapi"
	"github.com/tapdlp/tapdlp/appproto/demux"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
)

// maxAIBody bounds the request body a session keeps to describe an AI API
// call (the rest is described as truncated); the body is scanned as it
// streams whatever this bound.
const maxAIBody = 1 << 20

// aiState is a session's view of the AI API calls in its flow: the
// current request's target and body while it is one aiapi recognises, and
// the facts of the first call. It is allocated on a flow's first HTTP
// request and kept when the session is recycled.
type aiState struct {
	path    []byte // current request's path
	ct      []byte // current request's content type
	body    []byte // current request's body, up to maxAIBody
	collect bool   // the current request is an AI endpoint: keep its body
	trunc   bool
	facts   record.AI
	calls   int
}

func (a *aiState) reset() {
	a.path, a.ct, a.body = a.path[:0], a.ct[:0], a.body[:0]
	a.collect, a.trunc = false, false
	a.facts, a.calls = record.AI{}, 0
}

// aiStart begins a request on dir (HTTP MessageStart).
func (s *session) aiStart(dir reassembly.Dir, contentType []byte) {
	if dir != reassembly.DirOut {
		return
	}
	if s.ai == nil {
		s.ai = new(aiState)
	}
	a := s.ai
	a.collect, a.trunc = false, false
	a.ct = append(a.ct[:0], contentType...)
	a.body = a.body[:0]
}

// aiURL sees the request target: when host and path name an AI endpoint,
// the body is kept for aiEnd.
func (s *session) aiURL(dir reassembly.Dir, path []byte) {
	if dir != reassembly.DirOut || s.ai == nil {
		return
	}
	a := s.ai
	a.path = append(a.path[:0], path...)
	a.collect = aiapi.Endpoint("POST", s.aiHost(), string(a.path))
}

// aiHost is the host the flow's requests go to.
func (s *session) aiHost() string {
	r := s.app.Result()
	if r.HTTP != nil && r.HTTP.Host != "" {
		return r.HTTP.Host
	}
	return r.Name
}

// aiBody keeps the body of a request being collected.
func (s *session) aiBody(dir reassembly.Dir, data []byte) {
	if dir != reassembly.DirOut || s.ai == nil || !s.ai.collect {
		return
	}
	a := s.ai
	k := min(len(data), maxAIBody-len(a.body))
	a.body = append(a.body, data[:k]...)
	if k < len(data) {
		a.trunc = true
	}
}

// aiEnd describes a collected request. The prompt's decoded attachments
// (base64 file parts, which body scanning sees only encoded) are scanned
// as content of their own; prompt strings are already scanned in the body.
func (s *session) aiEnd(dir reassembly.Dir) {
	if dir != reassembly.DirOut || s.ai == nil || !s.ai.collect {
		return
	}
	a := s.ai
	a.collect = false
	method := "POST"
	if r := s.app.Result(); a.calls == 0 && r.HTTP != nil && r.HTTP.Requests <= 1 && r.HTTP.Method != "" {
		method = r.HTTP.Method
	}
	req := aiapi.Request{Method: method, Host: s.aiHost(), Path: string(a.path), ContentType: string(a.ct),
		Body: a.body, BodyTruncated: a.trunc}
	f, ok := s.h.ai.Describe(&req, s.aiPrompt)
	if !ok {
		return
	}
	a.calls++
	if a.calls == 1 {
		a.facts = record.AI{Provider: f.Provider, Operation: f.Operation, Stream: f.Stream,
			PromptBytes: f.PromptBytes, Attachments: f.Attachments, Tools: f.Tools}
		if f.Model != "" {
			a.facts.Model = s.h.redact([]byte(f.Model))
		}
	}
	s.h.changed(s, s.ts)
}

// aiPrompt scans a decoded attachment of an AI request.
func (s *session) aiPrompt(text []byte, attachment bool) {
	if !attachment || !s.inspect {
		return
	}
	st := &s.scan().scan[reassembly.DirOut]
	before := st.Matches()
	st.EndContent()
	st.Write(text)
	st.EndContent()
	s.afterScan(before, reassembly.DirOut)
}

// aiRecord is the record's ai object (nil: no AI call recognised).
func (s *session) aiRecord() *record.AI {
	if s.ai == nil || s.ai.calls == 0 {
		return nil
	}
	f := s.ai.facts
	f.Calls = s.ai.calls
	return &f
}

var _ demux.Sink = (*session)(nil)
