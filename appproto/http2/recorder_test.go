package http2

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// msgRec is what a test keeps of one message.
type msgRec struct {
	side                                  Side
	id                                    uint32
	method, authority, host, path, scheme string
	protocol, ctype, cenc                 string
	status                                int
	headers                               []string
	trailers                              []string
	body                                  bytes.Buffer
	flags                                 Flags
	ended                                 bool
	pushed                                bool
}

// recorder is a Handler that keeps every message and checks the contract:
// Header and Body only between Start and End, one End per Start.
type recorder struct {
	t     testing.TB
	open  map[[2]uint32]*msgRec
	msgs  []*msgRec
	stops []string
}

func newRecorder(t testing.TB) *recorder {
	return &recorder{t: t, open: map[[2]uint32]*msgRec{}}
}

func key(m *Message) [2]uint32 { return [2]uint32{m.StreamID, uint32(m.Side)} }

func (r *recorder) Start(m *Message) {
	if r.open[key(m)] != nil {
		r.t.Errorf("stream %d %v: Start twice", m.StreamID, m.Side)
	}
	rec := &msgRec{side: m.Side, id: m.StreamID, method: string(m.Method), authority: string(m.Authority),
		host: string(m.Host), path: string(m.Path), scheme: string(m.Scheme), protocol: string(m.Protocol),
		ctype: string(m.ContentType), cenc: string(m.ContentEncoding), status: m.Status, pushed: m.Pushed}
	r.open[key(m)] = rec
	r.msgs = append(r.msgs, rec)
}

func (r *recorder) Header(m *Message, name, value []byte) {
	rec := r.open[key(m)]
	if rec == nil {
		r.t.Errorf("stream %d %v: Header outside a message", m.StreamID, m.Side)
		return
	}
	if m.InTrailer {
		rec.trailers = append(rec.trailers, string(name)+": "+string(value))
	} else {
		rec.headers = append(rec.headers, string(name)+": "+string(value))
	}
}

func (r *recorder) Body(m *Message, data []byte) {
	rec := r.open[key(m)]
	if rec == nil {
		r.t.Errorf("stream %d %v: Body outside a message", m.StreamID, m.Side)
		return
	}
	rec.body.Write(data)
}

func (r *recorder) End(m *Message) {
	rec := r.open[key(m)]
	if rec == nil {
		r.t.Errorf("stream %d %v: End without Start", m.StreamID, m.Side)
		return
	}
	rec.flags, rec.ended = m.Flags, true
	delete(r.open, key(m))
}

func (r *recorder) Stop(side Side, reason Reason) {
	r.stops = append(r.stops, side.String()+":"+reason.String())
}

// summary is a stable text form of the recorded messages.
func (r *recorder) summary() string {
	var lines []string
	for _, m := range r.msgs {
		lines = append(lines, fmt.Sprintf("%d %v %s %s %s %d %s %q flags=%x", m.id, m.side, m.method, m.authority, m.path, m.status, m.ctype, m.body.String(), m.flags))
	}
	sort.Strings(lines)
	return strings.Join(append(lines, r.stops...), "\n")
}

// find returns the messages of side whose path is path.
func (r *recorder) find(side Side, path string) []*msgRec {
	var out []*msgRec
	for _, m := range r.msgs {
		if m.side == side && m.path == path {
			out = append(out, m)
		}
	}
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
