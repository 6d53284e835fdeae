package classify

import (
	"github.com/tapdlp/tapdlp/record"
)

// Stream scans one flow direction. Bytes handed to it are only read during
// the call (a reassembly.Stream can pass its buffer straight through); the
// Stream keeps a bounded carry-over window (under 1.5 KiB) so values split
// across calls are found exactly as if the input had arrived whole.
//
// A Stream is used by the goroutine that owns its Scanner.
type Stream struct {
	sc  *Scanner
	w   window
	dir string

	seeded    bool  // began with another stream's carry-over (Seed), at offsets below 0
	limit     int64 // inspect_bytes, -1 for none
	inspected uint64
	truncated bool
	flushed   bool

	content Content // current decoding
	active  bool    // a decoder holds state for content
	url     urlDec
	js      jsonDec
	b64     b64Dec
	mp      *mpDec // allocated on the first multipart body
	enc     encScan
	// encAggs are the findings inside encoded tokens (encoded.go), kept
	// apart while decoding so Findings lists types in an order that does
	// not depend on how the stream was cut.
	encAggs  []typeAgg
	decoding bool

	aggs    []typeAgg // findings so far, in order of first appearance
	dropped uint64    // evidence or hashes not kept because of the caps
}

// typeAgg accumulates the matches of one type in a Stream.
type typeAgg struct {
	t        Type
	count    int
	conf     Confidence
	allTest  bool
	evidence []string
	hashes   []string
}

// NewStream returns a Stream for one flow direction ("out" or "in") that
// scans with sc.
func (sc *Scanner) NewStream(dir string) *Stream {
	st := &Stream{}
	st.Init(sc, dir)
	return st
}

// Init prepares a Stream embedded in a caller's struct (no allocation).
func (st *Stream) Init(sc *Scanner, dir string) {
	*st = Stream{sc: sc, dir: dir, limit: sc.e.InspectLimit(), w: window{carry: st.w.carry[:0]}}
}

// Reset forgets everything (findings, counters, carry-over) so the Stream
// can be reused for another flow direction; buffers are kept.
func (st *Stream) Reset() {
	carry, aggs, encAggs, mp := st.w.carry[:0], st.aggs[:0], st.encAggs[:0], st.mp
	if mp != nil {
		mp.release()
	}
	*st = Stream{sc: st.sc, dir: st.dir, limit: st.limit}
	st.w.carry, st.aggs, st.encAggs, st.mp = carry, aggs, encAggs, mp
}

// Inspected returns how many bytes of decoded plaintext were scanned.
func (st *Stream) Inspected() uint64 { return st.inspected }

// Truncated reports whether the inspect_bytes cap stopped the scan.
func (st *Stream) Truncated() bool { return st.truncated }

// Dropped counts evidence and hash values not kept because of the caps.
func (st *Stream) Dropped() uint64 { return st.dropped }

// Write scans raw plaintext (e.g. TCP payload of an unknown protocol).
func (st *Stream) Write(b []byte) {
	st.WriteContent(Content{Kind: KindPlain}, b)
}

// WriteDecoded scans b after undoing the given encoding. Consecutive calls
// with the same kind continue one value (HTTP chunks, segments); a new kind
// starts a new one. For multipart the boundary is taken from the first line.
func (st *Stream) WriteDecoded(kind ContentKind, b []byte) {
	st.WriteContent(Content{Kind: kind}, b)
}

// WriteContent is WriteDecoded with a parsed Content-Type (which carries the
// multipart boundary).
func (st *Stream) WriteContent(c Content, b []byte) {
	if st.truncated || st.flushed {
		return
	}
	if !st.active || c.Kind != st.content.Kind || string(c.Boundary()) != string(st.content.Boundary()) {
		st.EndContent()
		st.content = c
		st.active = true
		if c.Kind == KindMultipart {
			if st.mp == nil {
				st.mp = new(mpDec)
			}
			st.mp.init(c.Boundary(), st.limit)
		}
	}
	for len(b) > 0 && !st.truncated {
		n := min(len(b), chunk)
		work := st.w.prepare(st.sc)
		pre := len(work)
		switch c.Kind {
		case KindURLEncoded:
			work = st.url.decode(work, b[:n], false)
		case KindForm:
			work = st.url.decode(work, b[:n], true)
		case KindJSON:
			work = st.js.decode(work, b[:n])
		case KindMultipart:
			work = st.mp.decode(work, b[:n])
		case KindBase64:
			work = st.b64.decode(work, b[:n])
		default:
			work = append(work, b[:n]...)
		}
		b = b[n:]
		st.feed(work, pre, 0)
	}
}

// WriteHeader scans one header field as "name: value\n", so the name is
// context for the value. Cookie and Referer values are URL-decoded.
func (st *Stream) WriteHeader(name, value []byte) {
	st.EndContent()
	decoded := hasFoldPrefix(name, "cookie") || hasFoldPrefix(name, "referer") || hasFoldPrefix(name, "location")
	if !decoded && !st.truncated && !st.flushed && len(name) > 0 && len(name)+len(headerSep)+len(value) <= chunk {
		// The field in one scan (a Stream finds the same however its
		// input is cut): one copy of the carry-over, not three.
		st.content, st.active = Content{Kind: KindPlain}, true
		work := st.w.prepare(st.sc)
		pre := len(work)
		work = append(append(append(work, name...), headerSep...), value...)
		st.feed(work, pre, 0)
		st.EndContent()
		return
	}
	st.Write(name)
	st.Write(headerSep)
	if decoded {
		st.WriteDecoded(KindURLEncoded, value)
	} else {
		st.Write(value)
	}
	st.EndContent()
}

var headerSep = []byte(": ")

// EndContent ends the current value (a header, a body): decoder state is
// flushed and a line break keeps it from joining the next value.
func (st *Stream) EndContent() {
	if !st.active || st.truncated || st.flushed {
		st.active = false
		return
	}
	work := st.w.prepare(st.sc)
	pre := len(work)
	switch st.content.Kind {
	case KindURLEncoded, KindForm:
		work = st.url.flush(work)
	case KindJSON:
		work = st.js.flush(work)
	case KindMultipart:
		work = st.mp.flush(work)
	case KindBase64:
		st.b64 = b64Dec{}
	}
	work = append(work, '\n')
	st.active = false
	st.feed(work, pre, 1)
}

// feed scans work (carry-over plus new plaintext from pre on), enforcing the
// inspect_bytes cap. The last synth bytes are separators the Stream added,
// not inspected plaintext.
func (st *Stream) feed(work []byte, pre, synth int) {
	n := len(work) - pre - synth
	if st.limit >= 0 && int64(st.inspected)+int64(n) > st.limit {
		n = int(st.limit - int64(st.inspected))
		work = work[:pre+n]
		st.truncated = true
	} else {
		work = work[:pre+n+synth]
	}
	st.inspected += uint64(n)
	st.sc.sink = st
	st.w.scan(st.sc, work, st.truncated)
	st.decoding = true // the encoded-token pass's hits go to encAggs (encoded.go)
	st.enc.process(st.sc, work[pre:], st.truncated, 0, pre)
	st.decoding = false
	if st.truncated {
		st.flushed = true
		if st.mp != nil {
			st.mp.stop()
		}
	}
}

// Flush scans what the carry-over window still holds: call it when the
// direction ends. Later writes are ignored until Reset.
func (st *Stream) Flush() {
	if st.flushed {
		return
	}
	st.EndContent()
	st.flushed = true
	st.sc.sink = st
	st.w.scan(st.sc, st.w.prepare(st.sc), true)
}

// hit aggregates one match per type; only masked evidence and keyed hashes
// are kept, each list capped and de-duplicated.
func (st *Stream) hit(s *Scanner, h *hit) {
	if st.seeded && !st.decoding && s.base+int64(h.end) <= 0 {
		return // wholly in the carry-over of the stream this one continues: that stream reported it
	}
	aggs := &st.aggs
	if st.decoding {
		aggs = &st.encAggs
	}
	var a *typeAgg
	for k := range *aggs {
		if (*aggs)[k].t == h.t {
			a = &(*aggs)[k]
			break
		}
	}
	if a == nil {
		*aggs = append(*aggs, typeAgg{t: h.t, allTest: true})
		a = &(*aggs)[len(*aggs)-1]
	}
	a.count++
	a.conf = max(a.conf, h.conf)
	a.allTest = a.allTest && h.test
	ev := s.evidence(h)
	if !containsBytes(a.evidence, ev) {
		if len(a.evidence) < s.e.cfg.MaxEvidence {
			a.evidence = append(a.evidence, string(ev))
		} else {
			st.dropped++
		}
	}
	if s.hm != nil && len(h.norm) > 0 {
		if len(a.hashes) < s.e.cfg.MaxHashes {
			hs := s.hm.hashString(h.norm)
			if !containsBytes(a.hashes, []byte(hs)) {
				a.hashes = append(a.hashes, hs)
			}
		} else {
			st.dropped++
		}
	}
}

func containsBytes(l []string, b []byte) bool {
	for _, s := range l {
		if s == string(b) {
			return true
		}
	}
	return false
}

// Findings appends the stream's findings (one per type) to dst. It does not
// flush: call Flush first at the end of a direction; an interim record may
// miss the last few hundred bytes, which a later call includes.
func (st *Stream) Findings(dst []record.Finding) []record.Finding {
	from := len(dst)
	dst = st.findings(dst, st.aggs)
	if len(st.encAggs) == 0 {
		return dst
	}
	cfg := &st.sc.e.cfg
	return mergeEncoded(dst, from, st.findings(nil, st.encAggs), cfg.MaxEvidence, cfg.MaxHashes)
}

func (st *Stream) findings(dst []record.Finding, aggs []typeAgg) []record.Finding {
	for k := range aggs {
		a := &aggs[k]
		dst = append(dst, record.Finding{
			Type:       st.sc.e.names[a.t],
			Class:      st.sc.e.classes[a.t],
			Count:      a.count,
			Direction:  st.dir,
			Confidence: a.conf.String(),
			TestNumber: a.allTest && a.t == CreditCard,
			Evidence:   append([]string(nil), a.evidence...),
			Hashes:     append([]string(nil), a.hashes...),
		})
	}
	return dst
}
