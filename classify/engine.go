package classify

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// Engine holds the compiled detector set. It is immutable after NewEngine
// and safe for concurrent use; per-goroutine state lives in Scanner.
type Engine struct {
	cfg    Config
	win    int // context window
	hold   int // bytes after a candidate start that decisions may read
	back   int // bytes before a trigger that decisions may read
	minB64 int

	enabled []bool // by Type, builtins then custom
	ctx     []*kwSet
	ctxAll  *ctxIndex
	names   []string
	classes []string
	masks   []maskKind
	confs   []Confidence // custom detectors' configured confidence
	custom  []*customDet

	// scanners backs ScanAll, which has no caller-owned Scanner. Pooling
	// keeps the one-shot path allocation-free after warm-up; each Scanner
	// carries ~2 KiB of scratch that would otherwise be allocated per call.
	scanners sync.Pool
}

// NewEngine compiles cfg and the custom detectors into an Engine.
func NewEngine(cfg Config, custom []CustomDetector) (*Engine, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: c, win: c.ContextWindow, minB64: c.MinBase64}
	nt := int(numBuiltin) + len(custom)
	e.enabled = make([]bool, nt)
	e.ctx = make([]*kwSet, nt)
	e.names = make([]string, nt)
	e.classes = make([]string, nt)
	e.masks = make([]maskKind, nt)
	e.confs = make([]Confidence, nt)
	e.ctxAll = newCtxIndex()
	for t := Type(0); t < numBuiltin; t++ {
		e.enabled[t] = true
		e.ctx[t] = newKwSet(builtinContext[t])
		e.names[t] = builtinInfo[t].name
		e.classes[t] = builtinInfo[t].class
		e.masks[t] = builtinMask(t)
	}
	for _, n := range c.Disable {
		t, _ := builtinByName(n)
		e.enabled[t] = false
	}
	seen := map[string]bool{}
	for k := range custom {
		cd := &custom[k]
		if _, dup := builtinByName(cd.Name); dup || seen[cd.Name] {
			return nil, fmt.Errorf("classify: custom detector %q: name already in use", cd.Name)
		}
		seen[cd.Name] = true
		t := numBuiltin + Type(k)
		d, err := compileCustom(cd, t, e.win)
		if err != nil {
			return nil, err
		}
		e.custom = append(e.custom, d)
		e.enabled[t] = true
		e.ctx[t] = newKwSet(cd.Context)
		e.names[t] = cd.Name
		e.classes[t] = cd.Class
		e.masks[t] = maskTail
		e.confs[t] = d.conf
	}
	maxWin := e.win
	for _, d := range e.custom {
		maxWin = max(maxWin, d.window)
	}
	e.hold = maxSpan + maxWin
	e.back = maxBack + maxWin
	e.scanners.New = func() any { return e.NewScanner() }
	return e, nil
}

// TypeName returns the identifier of a type ("credit_card", a custom name).
func (e *Engine) TypeName(t Type) string { return e.names[t] }

// InspectLimit returns the per-stream cap on decoded plaintext (inspect_bytes),
// or -1 for none.
func (e *Engine) InspectLimit() int64 {
	if e.cfg.InspectBytes < 0 {
		return -1
	}
	return int64(e.cfg.InspectBytes)
}

// Scanner is one worker's scanning state and scratch buffers. It is not
// safe for concurrent use; give each worker its own.
type Scanner struct {
	e     *Engine
	sink  hitSink
	fsink funcSink
	base  int64 // global offset of the buffer being scanned (ScanReader)

	lo, lim int // current candidate's view
	depth   int // 1 while scanning a decoded base64 piece
	decBase int // piece start in the enclosing buffer
	decLen  int // piece length in the enclosing buffer
	// decAccept drops decoded matches the next, overlapping piece reports.
	decAccept int

	// Context mask of the current candidate span, computed once for all
	// built-in types (see ctxIndex).
	cst    int
	cmask  uint32
	cvalid bool
	// longTok says the last secret reported a token that goes on past the
	// view (a long JWT); region skips its rest.
	longTok bool

	tok  numTok
	h    hit
	nb   [maxNorm]byte
	dec  [b64Piece*3/4 + 8]byte
	jdec [maxSpan*3/4 + 8]byte // JWT header
	mask [maxNorm + 8]byte
	hm   *hmacer
	work []byte // stream window: carry-over plus the newest chunk

	espans [maxEncSpans]encSpan // the encoded-value pass's spans (encspan.go)
	clean  encClean             // blocks of the main scan's buffer that pass may skip

	// Redact's scratch: the input copy, the values found and their sink.
	rin    []byte
	rspans []redactSpan
	rsink  redactSink

	// ref replaces parts of the scanner with the reference implementation
	// the tests compare against (nil outside tests).
	ref *scanRef
}

// scanRef holds the reference (pre-optimisation) versions of the scanning
// core, set only by the differential tests (ref_test.go) to check that the
// fast paths find exactly what the straightforward code finds.
type scanRef struct {
	region func(s *Scanner, buf []byte, from, to int, cont uint8) (int, uint8)
	numAt  func(s *Scanner, buf []byte, a, b int)
	encAll bool // the encoded-value pass searches whole buffers (encStretch)
}

// NewScanner returns a Scanner for one worker.
func (e *Engine) NewScanner() *Scanner {
	return &Scanner{e: e, hm: newHMACer(e.cfg.HMACKey)}
}

// Match is one value found by ScanAll or ScanReader. Start and End are byte
// offsets [Start, End) in the input; for a value found inside a base64 blob
// they cover the encoded characters that carry it.
type Match struct {
	Type       string
	Class      string
	Start, End int64
	Confidence Confidence
	TestNumber bool
	Evidence   string // masked, never the raw value
	Hash       string // "hmac:<hex>" when a key is configured
}

// AppendJSON appends m as one JSON object, the line format of
// `tapdlp scan --json`: {"file","type","class","start","end","confidence","evidence"}.
func (m Match) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = strconv.AppendQuote(b, m.Type)
	b = append(b, `,"class":`...)
	b = strconv.AppendQuote(b, m.Class)
	b = append(b, `,"start":`...)
	b = strconv.AppendInt(b, m.Start, 10)
	b = append(b, `,"end":`...)
	b = strconv.AppendInt(b, m.End, 10)
	b = append(b, `,"confidence":"`...)
	b = append(b, m.Confidence.String()...)
	b = append(b, `","evidence":`...)
	b = strconv.AppendQuote(b, m.Evidence)
	if m.TestNumber {
		b = append(b, `,"test_number":true`...)
	}
	if m.Hash != "" {
		b = append(b, `,"hash":`...)
		b = strconv.AppendQuote(b, m.Hash)
	}
	return append(b, '}')
}

// evidence masks h's value into the scanner's scratch.
func (s *Scanner) evidence(h *hit) []byte {
	n := maskInto(&s.mask, s.e.masks[h.t], h.norm, []byte(h.label))
	return s.mask[:n]
}

// match builds the public Match for h (allocates its strings).
func (s *Scanner) match(h *hit) Match {
	m := Match{
		Type:       s.e.names[h.t],
		Class:      s.e.classes[h.t],
		Start:      s.base + int64(h.start),
		End:        s.base + int64(h.end),
		Confidence: h.conf,
		TestNumber: h.test,
		Evidence:   string(s.evidence(h)),
	}
	if s.hm != nil && len(h.norm) > 0 {
		m.Hash = s.hm.hashString(h.norm)
	}
	return m
}

// funcSink delivers matches to a callback. It lives inside the Scanner so
// installing a callback does not allocate.
type funcSink struct{ fn func(Match) }

func (f *funcSink) hit(s *Scanner, h *hit) { f.fn(s.match(h)) }

// ScanAll scans b as one complete input and calls fn for every match in
// order of discovery. It allocates only for matches.
func (e *Engine) ScanAll(b []byte, fn func(Match)) {
	s := e.scanners.Get().(*Scanner)
	s.fsink.fn = fn
	s.sink = &s.fsink
	s.base = 0
	s.scanAll(b)
	s.sink, s.fsink.fn = nil, nil
	e.scanners.Put(s)
}

func (s *Scanner) scanAll(b []byte) {
	s.clean.reset(b) // region records b's clean blocks for scanEncoded
	s.region(b, 0, len(b), contNone)
	s.customRegion(b, 0, len(b))
	s.scanEncoded(b) // encoded.go
}

// chunk bounds how much new input one window step scans; the working
// buffer is at most carry + chunk (+ decoder growth) bytes.
const chunk = 16 << 10

// ScanReader scans r as one stream, in bounded memory, and calls fn for each
// match with offsets relative to the start of r: the core of `tapdlp scan`.
func ScanReader(r io.Reader, e *Engine, fn func(Match)) error {
	s := e.NewScanner()
	s.fsink.fn = fn
	s.sink = &s.fsink
	var w window
	var enc encScan // encoded tokens (encoded.go)
	abs := 0
	buf := make([]byte, chunk)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			work := w.prepare(s)
			work = append(work, buf[:n]...)
			w.scan(s, work, false)
			enc.process(s, buf[:n], false, abs, -1)
			abs += n
		}
		if errors.Is(err, io.EOF) {
			w.scan(s, w.prepare(s), true)
			enc.process(s, nil, true, abs, -1)
			return nil
		}
		if err != nil {
			return fmt.Errorf("classify: scan input: %w", err)
		}
	}
}

// window is the carry-over state of one stream. Bytes before the resume
// point are kept for look-behind (context words, e-mail local parts), bytes
// after it because a candidate there cannot be judged until hold more bytes
// arrived or the stream ended.
type window struct {
	carry []byte
	base  int64 // stream offset of carry[0]
	next  int   // built-in scan resumes here (relative to carry[0])
	cnext int   // custom scan resumes here
	cont  uint8 // region continuation state (contB64, contTok)
}

// prepare returns the scanner's work buffer holding the carry-over; the
// caller appends new plaintext to it and calls scan.
func (w *window) prepare(s *Scanner) []byte {
	return append(s.work[:0], w.carry...)
}

// scan judges every candidate that can be judged in work and keeps the rest.
func (w *window) scan(s *Scanner, work []byte, final bool) {
	s.work = work[:0]
	to := len(work) - s.e.hold
	if final {
		to = len(work)
	}
	s.base = w.base
	if s.depth == 0 {
		// A record left by an earlier buffer must not be taken for
		// this one's when region does not run (encClean).
		s.clean.reset(work)
	}
	if to > w.next {
		w.next, w.cont = s.region(work, w.next, to, w.cont)
	}
	if to > w.cnext {
		s.customRegion(work, w.cnext, to)
		w.cnext = to
	}
	keep := max(0, min(w.next, w.cnext, len(work))-s.e.back)
	if final {
		keep = len(work)
	}
	w.carry = append(w.carry[:0], work[keep:]...)
	w.base += int64(keep)
	w.next -= keep
	w.cnext -= keep
}
