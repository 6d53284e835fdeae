package pipeline

import (
	"sync/atomic"

	"github.com/tapdlp/tapdlp/appproto/aiapi"
	"github.com/tapdlp/tapdlp/appproto/demux"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
)

// maxAIBody bounds the request bytes a session keeps, over all the
// requests it is collecting at once, to describe AI API calls (what does
// not fit is described as truncated); the body is scanned as it streams
// whatever this bound.
const maxAIBody = 1 << 20

// maxAIRequests bounds the AI requests one flow collects at once (HTTP/2
// streams in flight); a request beyond it is not described, and counted
// (AIStats.Undescribed).
const maxAIRequests = 8

// AIStats count AI API calls over all flows; the tags name their metrics.
type AIStats struct {
	Calls       atomic.Uint64 `metric:"tapdlp_http_ai_calls_total" help:"AI API calls recognised and described (each request judged by its own method, host and path; the sum of the records' ai.calls)."`
	Undescribed atomic.Uint64 `metric:"tapdlp_http_ai_requests_undescribed_total" help:"AI API requests not described because their flow already had the most requests in flight it collects at once (HTTP/2 streams); their bodies are still scanned."`
}

// AIStats returns the AI call counters.
func (p *Pipeline) AIStats() *AIStats { return &p.aiStats }

// aiState is a session's view of the AI API calls in its flow: the
// requests being collected (each one an AI endpoint by its own method,
// host and path), and the facts of the first call. It is allocated on a
// flow's first AI request and kept when the session is recycled.
type aiState struct {
	reqs  [maxAIRequests]aiReq
	held  int // body bytes held over reqs
	facts record.AI
	calls int
}

// aiReq is one request being collected, by stream (0 for HTTP/1).
type aiReq struct {
	used   bool
	stream uint32
	method []byte
	host   []byte
	path   []byte
	ct     []byte
	body   []byte
	trunc  bool
}

func (a *aiState) reset() {
	for i := range a.reqs {
		a.reqs[i].clear()
	}
	a.held = 0
	a.facts, a.calls = record.AI{}, 0
}

func (r *aiReq) clear() {
	r.used, r.stream, r.trunc = false, 0, false
	r.method, r.host, r.path, r.ct, r.body = r.method[:0], r.host[:0], r.path[:0], r.ct[:0], r.body[:0]
}

// find returns the request collected on stream, or nil.
func (a *aiState) find(stream uint32) *aiReq {
	for i := range a.reqs {
		if r := &a.reqs[i]; r.used && r.stream == stream {
			return r
		}
	}
	return nil
}

// drop forgets a request, giving its body bytes back.
func (a *aiState) drop(r *aiReq) {
	a.held -= len(r.body)
	r.clear()
}

// RequestStart implements demux.RequestSink: a request whose own method,
// host and path name an AI endpoint is collected until its end.
func (s *session) RequestStart(stream uint32, method, host, path, contentType []byte) {
	h := string(host)
	if h == "" {
		h = s.flowHost()
	}
	if s.ai != nil {
		if r := s.ai.find(stream); r != nil {
			s.ai.drop(r) // a new request on the stream: the last one never ended
		}
	}
	if !aiapi.Endpoint(string(method), h, string(path)) {
		return
	}
	if s.ai == nil {
		s.ai = new(aiState)
	}
	a := s.ai
	var r *aiReq
	for i := range a.reqs {
		if !a.reqs[i].used {
			r = &a.reqs[i]
			break
		}
	}
	if r == nil {
		s.h.p.aiStats.Undescribed.Add(1)
		return
	}
	r.used, r.stream = true, stream
	r.method = append(r.method[:0], method...)
	r.host = append(r.host[:0], h...)
	r.path = append(r.path[:0], path...)
	r.ct = append(r.ct[:0], contentType...)
}

// flowHost is the host the flow's requests go to when a request names none.
func (s *session) flowHost() string {
	r := s.app.Result()
	if r.HTTP != nil && r.HTTP.Host != "" {
		return r.HTTP.Host
	}
	return r.Name
}

// RequestBody implements demux.RequestSink: an AI request's body is kept
// within the flow's bound.
func (s *session) RequestBody(stream uint32, data []byte) {
	if s.ai == nil {
		return
	}
	a := s.ai
	r := a.find(stream)
	if r == nil {
		return
	}
	k := min(len(data), maxAIBody-a.held)
	r.body = append(r.body, data[:k]...)
	a.held += k
	if k < len(data) {
		r.trunc = true
	}
}

// RequestEnd implements demux.RequestSink: a collected request is
// described, and counted when aiapi recognises the call. The prompt's
// decoded attachments (base64 file parts, which body scanning sees only
// encoded) are scanned as content of their own; prompt strings are
// already scanned in the body.
func (s *session) RequestEnd(stream uint32) {
	if s.ai == nil {
		return
	}
	a := s.ai
	r := a.find(stream)
	if r == nil {
		return
	}
	req := aiapi.Request{Method: string(r.method), Host: string(r.host), Path: string(r.path), ContentType: string(r.ct),
		Body: r.body, BodyTruncated: r.trunc}
	f, ok := s.h.ai.Describe(&req, s.aiPrompt)
	a.drop(r)
	if !ok {
		return
	}
	a.calls++
	s.h.p.aiStats.Calls.Add(1)
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

var (
	_ demux.Sink        = (*session)(nil)
	_ demux.RequestSink = (*session)(nil)
)
