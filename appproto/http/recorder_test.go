package http

import (
	"fmt"
	"strings"
)

// recorder is a Handler that renders every event as a line, merging body
// chunks per message so logs compare equal however the input was cut.
type recorder struct {
	lines   []string
	body    strings.Builder
	bodies  []string // decoded body of every ended message, in order
	stopped int
	// loose hides the body of a message that failed to decode: how much
	// a decoder emits before it detects corruption depends on how its
	// input was cut.
	loose bool
}

func (r *recorder) Start(m *Message) {
	if m.Side == Request {
		r.lines = append(r.lines, fmt.Sprintf("start#%d %s target=%q path=%q query=%q host=%q port=%d ua=%q v=%d.%d",
			m.Seq, m.Method, m.Target, m.Path, m.Query, m.Host, m.Port, m.UserAgent, m.Major, m.Minor))
	} else {
		r.lines = append(r.lines, fmt.Sprintf("start#%d status=%d reason=%q req=%d v=%d.%d",
			m.Seq, m.Status, m.StatusReason, m.ReqMethod, m.Major, m.Minor))
	}
	r.lines = append(r.lines, fmt.Sprintf("  ct=%q boundary=%q cl=%d codings=%v flags=%b",
		m.ContentType, m.Boundary, m.ContentLength, m.Codings[:m.NCodings], m.Flags))
	r.body.Reset()
}

func (r *recorder) Header(m *Message, name, value []byte) {
	t := ""
	if m.InTrailer {
		t = "trailer "
	}
	r.lines = append(r.lines, fmt.Sprintf("  %s%s: %q", t, name, value))
}

func (r *recorder) Body(m *Message, data []byte) { r.body.Write(data) }

func (r *recorder) End(m *Message) {
	b := r.body.String()
	r.bodies = append(r.bodies, b)
	if r.loose && m.Flags.Has(FlagDecodeError) {
		r.lines = append(r.lines, fmt.Sprintf("end#%d undecodable raw=%d flags=%b", m.Seq, m.RawBytes, m.Flags))
		r.body.Reset()
		return
	}
	if len(b) > 200 {
		b = fmt.Sprintf("%s…(%d bytes)", b[:200], len(b))
	}
	flags := m.Flags
	if r.loose {
		// Whether a cut body counts as a bomb depends on the coded bytes a
		// zstd or brotli decoder had read, which depends on the cuts.
		flags &^= FlagBomb
	}
	r.lines = append(r.lines, fmt.Sprintf("  body=%q", b),
		fmt.Sprintf("end#%d method=%q host=%q ct=%q raw=%d decoded=%d chunked=%v close=%v flags=%b",
			m.Seq, m.Method, m.Host, m.ContentType, m.RawBytes, m.DecodedBytes, m.Chunked, m.UntilClose, flags))
	r.body.Reset()
}

func (r *recorder) Stop(side Side, reason Reason) {
	r.stopped++
	r.lines = append(r.lines, "stop "+side.String()+" "+reason.String())
}

func (r *recorder) String() string { return strings.Join(r.lines, "\n") }

// nopHandler discards everything; benchmarks and allocation tests use it.
type nopHandler struct{ n int }

func (h *nopHandler) Start(*Message)                  {}
func (h *nopHandler) Header(*Message, []byte, []byte) {}
func (h *nopHandler) Body(_ *Message, b []byte)       { h.n += len(b) }
func (h *nopHandler) End(*Message)                    {}
func (h *nopHandler) Stop(Side, Reason)               {}
