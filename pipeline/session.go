package pipeline

import (
	"github.com/tapdlp/tapdlp/appproto/demux"
	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
)

// session is one flow's consumer (its reassembly.Stream). The flow's
// application layer — recognising the protocol, feeding the parser, the
// facts they learn — is its demux.Flow; the session is that Flow's Sink:
// it scans the content the parsers report and evaluates the flow's rules
// when something changes. Sessions are recycled per worker.
type session struct {
	h    *flowHandler
	flow *reassembly.Flow
	app  demux.Flow

	// Content inspection: whether the flow is inspected, and the scanning
	// state, set up when the parsers first hand the session content to scan
	// (c is kept when the session is recycled; scanning says it was set up
	// for this flow). ready says the flow carried payload (its application
	// layer was fed). A flow whose payload is never scanned — TLS without
	// keys, QUIC, DNS — never sets up c: measured 776 B per open flow.
	inspect  bool
	ready    bool
	scanning bool
	staged   bool  // the ordered stage holds state for the flow (charged: stageFlowBytes)
	closed   bool  // the TCP flow closed: parsers and scanners given back (see Closed)
	idsDst   uint8 // where the destination address starts in ids
	// appCharged is the parser state charged to the flow table (see
	// chargeApp): a few KB at most, an int32 that shares the flags' word.
	appCharged int32
	c          *content

	// The flow's ids and addresses, computed for its first record (see
	// flowHandler.ids): one string rather than four, 16 bytes of session.
	ids string

	// Policy: the flow's state id in the ordered stage (which runs the
	// rules, order.go), and the bytes out the last evaluation saw.
	ref         uint64
	lastEvalOut uint64
	ts          int64 // packet time of the bytes being parsed

	// Cached destination annotation (see flowHandler.annotate), shared
	// with the worker's other flows that got the same one; nil until the
	// flow's first annotation.
	annot *annotation

	ai *aiState // AI API calls seen (see ai.go); nil until an AI request
}

// content is a session's scanning state. The scanners themselves
// (scanState: one stream per direction, most of a session's size) are
// taken from the worker when the flow first has content to scan and given
// back when the flow closes (session.Closed) or waits between HTTP messages
// (session.park, taken again for the next): what the record needs of
// them is kept here as a summary (done). A flow that never carries a
// payload byte (a scan, a SYN flood) has neither. content is kept with the
// session when it is recycled.
type content struct {
	*scanState // nil before the first content, while parked and after the flow closed
	done       scanSummary
	pk         *parkedScan // allocated on the first park, kept with content
	// held: the rules (bit i: rule i) whose conditions held at the live
	// evaluations the ordered stage received since the flow's destination
	// annotation last changed, per value of dst.first_seen
	// (rules.Engine.Holding). Those that held with the flow's first_seen
	// (the same for one annotation) fired there, so an evaluation on which
	// no other rule holds need not cross (see flowHandler.evalLive). Only
	// a flow with findings fires, and a finding of its payload gives it a
	// content; one found in a name alone does not, and is always sent.
	held [2]uint64
}

// parkedScan is the scanning state of an open flow waiting between HTTP
// messages (see session.park): a few hundred bytes instead of its
// scanState (~1.4 KB) and the streams' carry-over buffers, which go back
// to the worker for its next flow. While on, content.done holds the
// flow's truncations (see scanResult).
type parkedScan struct {
	on   bool
	kind [2]classify.ContentKind // the directions' httpContent (no boundary: see park)
	sc   *classify.Scanner       // the scanner the streams were set up with
	st   [2]classify.Parked
}

// scanState is the scanning state of a flow that is still open: one
// scanner stream per direction and the content type of the HTTP message
// being delivered on each side.
type scanState struct {
	scan        [2]classify.Stream
	httpContent [2]classify.Content
	rawPending  [2]bool           // raw bytes written since the direction's last Sync
	scanner     *classify.Scanner // the scanner the streams were set up with
	trunc       truncations       // why inspection stopped early or was degraded (see inspectRecord)
	alt         [2]*altScan       // conflicting copies of retransmitted bytes (see Overlap), allocated on the first
}

// scanSummary is what a closed flow's record takes from its scanners:
// their findings and counters, judged to the end (see session.Closed).
type scanSummary struct {
	found   []record.Finding
	out, in uint64 // bytes inspected per direction
	trunc   truncations
}

// maxFreeScans bounds the scanning states a worker keeps for its next
// flows (about 1.4 KB each plus their carry-over windows).
const maxFreeScans = 256

// scan returns the flow's scanning state, set up on first use with the
// worker's current detectors (kept for the rest of the flow).
func (s *session) scan() *content {
	if !s.scanning {
		s.prepare()
	} else if s.c.parked() {
		s.unpark()
	}
	return s.c
}

// parked reports whether the flow's scanning state is parked (see park).
func (c *content) parked() bool { return c.scanState == nil && c.pk != nil && c.pk.on }

// take gives c a scanning state: one a flow gave back to the worker, or
// a new one.
func (c *content) take(h *flowHandler) {
	if n := len(h.freeScans); n > 0 {
		c.scanState, h.freeScans[n-1] = h.freeScans[n-1], nil
		h.freeScans = h.freeScans[:n-1]
	} else {
		c.scanState = new(scanState)
	}
}

// giveBack hands c's scanning state to the worker for its next flows.
func (c *content) giveBack(h *flowHandler) {
	if len(h.freeScans) < maxFreeScans {
		h.freeScans = append(h.freeScans, c.scanState)
	}
	c.scanState = nil
}

// park gives the scanning state back to the worker when an HTTP message
// has ended (its direction was Synced) and neither direction holds
// anything a classify.Parked cannot keep: no decoder or candidate pending,
// no raw bytes or conflicting copies (findings are kept). An open flow that
// sent its request and waits then holds a few hundred bytes instead of a
// scanState, and the next message takes one again (unpark) and goes on
// exactly where this one stopped: records do not change.
func (s *session) park() {
	c := s.c
	st := c.scanState
	if !parkScanning || st.rawPending != [2]bool{} || st.alt[0] != nil && st.alt[0].used || st.alt[1] != nil && st.alt[1].used {
		return
	}
	for d := range st.httpContent {
		if hc := st.httpContent[d]; hc != (classify.Content{Kind: hc.Kind}) {
			return // a multipart boundary: not worth keeping apart
		}
	}
	if !st.scan[0].Idle() || !st.scan[1].Idle() {
		return
	}
	pk := c.pk
	if pk == nil {
		pk = new(parkedScan)
		c.pk = pk
	}
	st.scan[0].Park(&pk.st[0])
	st.scan[1].Park(&pk.st[1])
	pk.on, pk.sc = true, st.scanner
	pk.kind = [2]classify.ContentKind{st.httpContent[0].Kind, st.httpContent[1].Kind}
	c.done = scanSummary{trunc: st.trunc}
	c.giveBack(s.h)
	s.charge(parkedContentBytes - contentBytes)
}

// parkScanning lets tests compare records with and without parking.
var parkScanning = true

// unpark takes a scanning state again for a parked flow (see park).
func (s *session) unpark() {
	c, pk := s.c, s.c.pk
	c.take(s.h)
	st := c.scanState
	if st.scanner != pk.sc {
		st.scan[0].Init(pk.sc, "out")
		st.scan[1].Init(pk.sc, "in")
		st.scanner = pk.sc
	} else {
		st.scan[0].Reset()
		st.scan[1].Reset()
	}
	st.scan[0].Unpark(&pk.st[0])
	st.scan[1].Unpark(&pk.st[1])
	st.httpContent = [2]classify.Content{{Kind: pk.kind[0]}, {Kind: pk.kind[1]}}
	st.rawPending = [2]bool{}
	st.trunc = c.done.trunc
	st.resetAlt()
	c.done = scanSummary{}
	pk.on = false
	s.charge(contentBytes - parkedContentBytes)
}

// prepare sets up the scanning state (see scan).
func (s *session) prepare() {
	s.scanning = true
	s.charge(contentBytes)
	c := s.c
	if c == nil {
		c = new(content)
		s.c = c
	}
	c.done = scanSummary{}
	if c.pk != nil {
		c.pk.on = false // the last flow's
	}
	if c.scanState == nil {
		c.take(s.h)
	}
	if c.scanner != s.h.scanner {
		c.scan[0].Init(s.h.scanner, "out")
		c.scan[1].Init(s.h.scanner, "in")
		c.scanner = s.h.scanner
	} else {
		c.scan[0].Reset()
		c.scan[1].Reset()
	}
	c.httpContent = [2]classify.Content{}
	c.rawPending = [2]bool{}
	c.trunc = 0
	c.resetAlt()
	s.seedCarry()
}

// Closed implements reassembly.Closer: the TCP flow closed and nothing
// more can reach the session, so the parsers flush what they hold and go
// back to the worker, and the scanners judge everything to the end, leave
// their findings in a summary for the final record and go back too. The
// table then writes the flow's final record as soon as its close completes
// (the last FIN acknowledged) and the session is recycled; until then it
// holds only what the record needs. A flow whose TLS may still be
// decrypted by keys that arrive later keeps everything, and lingers whole
// until its final record (Closed returns false).
func (s *session) Closed() bool {
	if s.closed {
		return true
	}
	if s.h.p.keysConfigured && s.app.Result().TLS != nil {
		return false
	}
	s.finish() // before closed is set: the parsers' last messages are scanned
	s.closed = true
	s.app.ReleaseParsers() // the Result stays: the final record reads it
	s.chargeApp()
	if !s.scanning || s.c.scanState == nil {
		return true
	}
	c := s.c
	c.done = s.scanResult(true, nil)
	st := c.scanState
	c.scanState = nil
	s.charge(-(contentBytes - closedContentBytes))
	if h := s.h; len(h.freeScans) < maxFreeScans {
		h.freeScans = append(h.freeScans, st)
	}
	return true
}

func (s *session) reset(h *flowHandler, f *reassembly.Flow) {
	s.h, s.flow = h, f
	s.app.Reset(h.demux, f, s)
	s.inspect = h.p.inspection.sampled(f)
	s.ready, s.scanning, s.staged, s.closed = false, false, false, false
	if s.c != nil {
		s.c.done = scanSummary{} // the last flow's findings
		s.c.held = [2]uint64{}
	}
	s.ref = h.newRef()
	s.lastEvalOut = 0
	s.ts = 0
	s.appCharged = 0
	s.annot = nil
	s.ids, s.idsDst = "", 0
	if s.ai != nil {
		s.ai.reset()
	}
}

// Data implements reassembly.Stream.
func (s *session) Data(dir reassembly.Dir, b []byte, ts int64) bool {
	if s.closed {
		return true // bytes after both FINs or a RST: the host takes none of them
	}
	s.ts = ts
	s.ready = true
	more := s.app.Data(dir, b, ts)
	s.chargeApp()
	return more
}

// Gap implements reassembly.Stream.
func (s *session) Gap(dir reassembly.Dir, n int) {
	if s.closed {
		return
	}
	s.ready = true
	s.app.Gap(dir, n)
	s.chargeApp()
}

// chargeApp keeps the flow table's byte budget in step with the parser
// state the flow holds: parsers are taken when recognition chooses them and
// may be given back before the flow ends (demux.Flow.StateBytes).
func (s *session) chargeApp() {
	if n := int32(s.app.StateBytes()); n != s.appCharged {
		s.charge(int64(n - s.appCharged))
		s.appCharged = n
	}
}

// finish tells the parsers the flow ended (flushing partial messages).
func (s *session) finish() {
	if s.ready && !s.closed {
		s.app.Close()
	}
}

// fill copies what the session learned into the record (the destination
// is named and classified by flowHandler.annotate).
func (s *session) fill(rec *record.Flow, final bool) {
	if s.ready {
		s.app.Poll() // keys that arrived since: decrypt before the record is written
	}
	r := s.app.Result()
	rec.App = r.App.RecordApp()
	rec.TLS, rec.HTTP, rec.DNS, rec.GRPC = r.TLS, r.HTTP, r.DNS, r.GRPC
	rec.AI = s.aiRecord()
	s.inspectRecord(rec, final)
}

// name returns the destination name the payload gave, and its source.
func (s *session) name() (string, string) {
	r := s.app.Result()
	return r.Name, r.NameSource.String()
}

// The demux.Sink methods: what the parsers report, scanned when the flow
// is inspected.

// Changed implements demux.Sink.
func (s *session) Changed() { s.h.changed(s, s.ts) }

// Redact implements demux.Sink.
func (s *session) Redact(b []byte) string { return s.h.redact(b) }

// URL implements demux.Sink: path and query are URL-encoded values.
func (s *session) URL(dir reassembly.Dir, path, query []byte) {
	if !s.inspect {
		return
	}
	st := &s.scan().scan[dir]
	before := st.Matches()
	st.WriteDecoded(classify.KindURLEncoded, path)
	if len(query) > 0 {
		st.EndContent()
		st.WriteDecoded(classify.KindURLEncoded, query)
	}
	st.EndContent()
	s.afterScan(before, dir)
}

// MessageStart implements demux.Sink.
func (s *session) MessageStart(dir reassembly.Dir, contentType, boundary []byte) {
	s.scan().httpContent[dir] = contentOf(contentType, boundary)
}

// Header implements demux.Sink.
func (s *session) Header(dir reassembly.Dir, name, value []byte) {
	if !s.inspect {
		return
	}
	c := s.scan()
	before := c.scan[dir].Matches()
	c.scan[dir].WriteHeader(name, value)
	s.afterScan(before, dir)
}

// Body implements demux.Sink.
func (s *session) Body(dir reassembly.Dir, data []byte) {
	if !s.inspect {
		return
	}
	c := s.scan()
	before := c.scan[dir].Matches()
	c.scan[dir].WriteContent(c.httpContent[dir], data)
	s.afterScan(before, dir)
}

// MessageEnd implements demux.Sink.
func (s *session) MessageEnd(dir reassembly.Dir) {
	if !s.scanning || s.c.scanState == nil {
		return // nothing was scanned (or the flow closed): nothing to judge
	}
	before := s.c.scan[dir].Matches()
	s.c.scan[dir].Sync() // a message boundary: judge everything now, so alerts need not wait for the flow's end
	s.afterScan(before, dir)
	if s.c.scanState != nil && !s.closed {
		s.park()
	}
}

// Raw implements demux.Sink (see scanRaw).
func (s *session) Raw(dir reassembly.Dir, b []byte) bool { return s.scanRaw(dir, b) }

// contentOf maps a message's media type and boundary to the scanner's
// decoding.
func contentOf(contentType, boundary []byte) classify.Content {
	if len(contentType) == 0 {
		return classify.Content{}
	}
	if len(boundary) > 0 {
		return classify.ParseContentType(string(contentType) + "; boundary=" + string(boundary))
	}
	return classify.ParseContentType(string(contentType))
}

// isAppFlow reports whether flows of this transport get a session.
func isAppFlow(proto uint8) bool { return proto == capture.ProtoTCP || proto == capture.ProtoUDP }
