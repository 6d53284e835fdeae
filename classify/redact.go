package classify

import (
	"github.com/tapdlp/tapdlp/record"
	"sort"
	"strings"
)

// Redact is the one redaction point for strings copied from traffic into
// any output (host names, SNI, DNS questions, URIs, User-Agent, …): it runs
// the detectors over v and returns v with every value found replaced by its
// masked evidence, keeping the rest of the string
// ("371449635398431.exfil.example" → "***********8431.exfil.example"). fn,
// when not nil, is called for every value found (they are findings too).
//
// With name set, v is also read the way DNS exfiltration writes values:
// lower-cased (secrets such as AWS key ids are upper case) and split into
// labels by dots, hyphens and underscores (digits of a card spread over
// labels). These views have the same length as v, so offsets carry over.
//
// It allocates only when something is found: ordinary names cost one scan
// (two with name) into pooled scratch.
func (e *Engine) Redact(v string, name bool, fn func(Match)) string {
	if v == "" {
		return v
	}
	s := e.scanners.Get().(*Scanner)
	defer e.scanners.Put(s)
	s.rspans = s.rspans[:0]
	s.sink = &s.rsink
	s.base = 0
	s.rin = append(s.rin[:0], v...)
	s.scanAll(s.rin)
	if name && nameView(s.rin) {
		s.scanAll(s.rin)
	}
	s.sink = nil
	if cap(s.rin) > 64<<10 { // one huge value must not pin its scratch in the pool
		s.rin = nil
	}
	if len(s.rspans) == 0 {
		return v
	}
	sp := s.rspans
	if fn != nil { // called here, not from the sink, so fn does not escape
		for _, r := range sp {
			fn(r.m)
		}
	}
	sort.Slice(sp, func(i, j int) bool {
		if sp[i].start != sp[j].start {
			return sp[i].start < sp[j].start
		}
		return sp[i].end > sp[j].end
	})
	var b strings.Builder
	b.Grow(len(v))
	last := 0
	for _, r := range sp {
		if r.start < last || r.end > len(v) { // overlaps a value already masked
			continue
		}
		b.WriteString(v[last:r.start])
		b.WriteString(r.m.Evidence)
		last = r.end
	}
	b.WriteString(v[last:])
	return b.String()
}

// nameView rewrites b in place into the DNS-label view of a name: letters
// upper-cased, label separators turned into spaces. It reports whether the
// view differs from b (if not, a second scan would find nothing new).
func nameView(b []byte) bool {
	changed := false
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
			changed = true
		case c == '.' || c == '-' || c == '_':
			b[i] = ' '
			changed = true
		}
	}
	return changed
}

// redactSpan is one value Redact found: where it is and its evidence.
type redactSpan struct {
	start, end int
	m          Match
}

// redactSink collects Redact's values (a fixed type, so installing it
// does not allocate). The same value may be found by both
// views of a name; it is reported once.
type redactSink struct{}

func (r *redactSink) hit(s *Scanner, h *hit) {
	for _, p := range s.rspans {
		if p.start == h.start && p.end == h.end {
			return
		}
	}
	s.rspans = append(s.rspans, redactSpan{start: h.start, end: h.end, m: s.match(h)})
}

// AddFinding folds m, a value Redact found in the record field in (for
// example "dns.query"), into dst: one finding per type and field, with the
// same caps on evidence and hashes as a stream's findings.
func (e *Engine) AddFinding(dst []record.Finding, m Match, dir, in string) []record.Finding {
	var f *record.Finding
	for i := range dst {
		if dst[i].Type == m.Type && dst[i].In == in && dst[i].Direction == dir {
			f = &dst[i]
			break
		}
	}
	if f == nil {
		dst = append(dst, record.Finding{Type: m.Type, Class: m.Class, Direction: dir, In: in,
			Confidence: m.Confidence.String(), TestNumber: m.TestNumber})
		f = &dst[len(dst)-1]
	}
	f.Count++
	if c := m.Confidence.String(); confRank(c) > confRank(f.Confidence) {
		f.Confidence = c
	}
	f.TestNumber = f.TestNumber && m.TestNumber && m.Type == e.names[CreditCard]
	if !contains(f.Evidence, m.Evidence) && len(f.Evidence) < e.cfg.MaxEvidence {
		f.Evidence = append(f.Evidence, m.Evidence)
	}
	if m.Hash != "" && !contains(f.Hashes, m.Hash) && len(f.Hashes) < e.cfg.MaxHashes {
		f.Hashes = append(f.Hashes, m.Hash)
	}
	return dst
}

func confRank(c string) int {
	for r := Confidence(0); r < 8; r++ {
		if r.String() == c {
			return int(r)
		}
	}
	return -1
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
