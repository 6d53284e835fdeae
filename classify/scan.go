package classify

import "encoding/binary"

// hitSink receives matches from the scan loop. h and its buffers are only
// valid during the call.
type hitSink interface {
	hit(s *Scanner, h *hit)
}

// hit is one match in the coordinates of the buffer being scanned.
type hit struct {
	t          Type
	start, end int
	conf       Confidence
	test       bool
	norm       []byte // normalized value (digits only for numbers); scratch-backed
	label      string // maskLabel types: what stands for the value
}

// b64Piece is how many base64 characters are decoded at a time. Pieces
// overlap by b64Overlap characters so a value straddling two pieces is seen
// whole in one of them; both are multiples of 4 so every piece starts on a
// quantum boundary of the run.
const (
	b64Piece   = 512
	b64Overlap = 128
	b64Step    = b64Piece - b64Overlap
)

// region scans the candidates whose trigger byte lies in [from, to) of buf
// and returns where the next region resumes. Every decision about a
// candidate at i uses only buf[i-back : i+hold], which is what makes the
// result independent of how a stream was split. cont says what from
// continues: the next piece of a base64 run (contB64), the rest of a token
// longer than a view that was already reported (contTok), or nothing; the
// second return value says the same of the next region.
func (s *Scanner) region(buf []byte, from, to int, cont uint8) (next int, nextCont uint8) {
	if s.ref != nil {
		return s.ref.region(s, buf, from, to, cont)
	}
	i := from
	switch {
	case cont == contB64 && i < to:
		var more bool
		if i, more = s.b64Run(buf, i, to); more {
			return i, contB64
		}
	case cont == contTok:
		if i = skipTok(buf, i, to); i == to {
			return i, contTok
		}
	}
	it := candIter{p: -1}
	if s.depth == 0 {
		// The encoded-value pass reads this buffer next: record the
		// blocks it can skip.
		s.clean.reset(buf)
		it.rec = &s.clean
	}
	binMode := false
	for i < to {
		k := cls[buf[i]]
		if k == cNone {
			if c := buf[i]; binMode || c >= 0x80 || c < '\t' {
				// Binary: jump to the next position that can start a
				// candidate (prefilter.go). Text keeps the byte loop,
				// whose words cost less than computing the masks, until
				// a byte no text has is seen.
				binMode = true
				i = it.next(buf, i+1, to)
			} else {
				i++
			}
			continue
		}
		if k <= cLower {
			if i > 0 && isIdent[buf[i-1]] && !escapedBefore(buf, i) {
				// Inside an identifier ("account" in "bank_account_id"):
				// no later byte of the run starts a word either, because
				// an escape needs a '\' two bytes back.
				for i++; i < to && isAlnum[buf[i]]; i++ {
				}
				continue
			}
			var b64 bool
			if i > 0 && buf[i-1] == '\\' {
				i, b64 = s.word(buf, i, to) // may be the letter of an escape
			} else {
				// Most words decide nothing; find the word's end and
				// classes here and skip those without a call.
				lim := min(len(buf), i+s.e.hold)
				j, kinds := i+1, kindBit[buf[i]]
				if kinds == digitBit {
					// Long digit runs (ids, timestamps) eight at a time.
					for j+8 <= lim && allDigits8(binary.LittleEndian.Uint64(buf[j:])) {
						j += 8
					}
				}
				for j < lim {
					b := kindBit[buf[j]]
					if b == 0 {
						break
					}
					kinds |= b
					j++
				}
				// Words that start no candidate, for which wordKinds
				// would return (j, false): lower-case words and hex
				// without a secret prefix, IBAN length or base64
				// continuation, and lone digit groups of lengths no
				// value has ("2024", "8080").
				if kinds&upperBit == 0 && !secretFirst[buf[i]] {
					var next byte
					if j < lim {
						next = buf[j]
					}
					if kinds == digitBit {
						group := isNumSep(next) && j+1 < lim && isDigit(buf[j+1])
						if !numValueLen(j-i) && !group {
							i = j
							continue
						}
						if j-i <= 10 && !group && s.valueBefore(buf, i) {
							// One group of 8 to 10 digits: every type
							// it may be needs a label (numAt), and
							// another value ends right before it, so
							// labelMask finds none ("123456789,…" in a
							// JSON array of ids).
							i = j
							continue
						}
						// What wordKinds does with digits, without the call.
						s.view(buf, i)
						i = s.numeric(buf, i, j)
						continue
					} else if next != '+' && next != '/' && (kinds == lowerOnly || isDigit(buf[i]) || (j-i < 15 && j-i != 4)) &&
						!lowerIDMaybe(j-i, kinds, next) {
						i = j
						continue
					}
				}
				i, b64 = s.wordKinds(buf, i, j, lim, kinds, to)
			}
			if b64 {
				if !s.longTok {
					return i, contB64
				}
				// A token longer than the view (a JWT) was reported from
				// its start; its rest is no candidate.
				s.longTok = false
				if i = skipTok(buf, i, to); i == to {
					return i, contTok
				}
			}
			continue
		}
		switch k {
		case cAt:
			i = s.email(buf, i)
		case cAssign:
			i = s.generic(buf, i)
		case cDash:
			i = s.pem(buf, i)
		case cPlus:
			i = s.phoneIntl(buf, i)
		case cParen:
			i = s.phoneParen(buf, i)
		default:
			i++
		}
	}
	return i, contNone
}

// Continuation states of region.
const (
	contNone uint8 = iota
	contB64
	contTok
)

// skipTok skips the rest of a long token: base64url characters and dots.
func skipTok(buf []byte, i, to int) int {
	for i < to && (isB64URL[buf[i]] || buf[i] == '.') {
		i++
	}
	return i
}

// escapedBefore reports a JSON or C escape (\n, \t, \r) right before i in
// undecoded text, which separates words although its letter is alphanumeric.
func escapedBefore(buf []byte, i int) bool {
	if i < 2 || buf[i-2] != '\\' {
		return false
	}
	c := buf[i-1]
	return c == 'n' || c == 't' || c == 'r'
}

// view sets the bounds a candidate triggered at i may look at.
func (s *Scanner) view(buf []byte, i int) {
	s.lo = max(0, i-s.e.back)
	s.lim = min(len(buf), i+s.e.hold)
	s.cvalid = false
}

// ctx reports whether a context word of type t labels the candidate that
// starts at st (en, its end, is not looked at: a label precedes its value).
// The label is found by labelMask; it is computed once per candidate and
// serves every type the candidate may be.
func (s *Scanner) ctx(buf []byte, st, en int, t Type) bool {
	_ = en
	if !s.cvalid || s.cst != st {
		s.cmask = s.labelMask(buf, st)
		s.cst, s.cvalid = st, true
	}
	return s.cmask&(1<<t) != 0
}

// ctxMask returns the types (ctxIndex bits) whose context words label the
// value starting at st.
func (s *Scanner) ctxMask(buf []byte, st int) uint32 {
	if !s.cvalid || s.cst != st {
		s.cmask = s.labelMask(buf, st)
		s.cst, s.cvalid = st, true
	}
	return s.cmask
}

// ctxBit is ctx for a ctxIndex bit that is not a type (cardLabelBit).
func (s *Scanner) ctxBit(buf []byte, st int, bit Type) bool {
	return s.ctx(buf, st, st, bit)
}

// labelStop marks bytes that end a label when it is read backwards from its
// value: line breaks, the separators of records, pairs and list items, and
// the assignment of the pair before ("a=1 ssn=", "x: y, ssn:").
var labelStop = func() (t [256]bool) {
	for _, c := range []byte("\n\r\t,;&|{}[]:=?") {
		t[c] = true
	}
	return t
}()

// labelMask returns the types whose context words label the value at st:
// the words on the same line before it, back to the previous separator of
// pairs, records or list items ("ssn: ", `"ssn":"`, "ssn=", "Social Security
// No. ", a CSV cell or a header name), never across a line break or across
// another value (a word with three or more digits). When the label ends at
// an opening brace or bracket, the key that names that object or list
// labels the value as well (`"passport": {"number": "..."}`). It looks at
// most the context window back, within the candidate's view.
func (s *Scanner) labelMask(buf []byte, st int) uint32 {
	lo := max(s.lo, st-s.e.win)
	p := st
	// The separator between the label and the value.
	for p > lo && !isAlnum[buf[p-1]] {
		if c := buf[p-1]; c == '\n' || c == '\r' {
			return 0
		}
		p--
	}
	if p-3 >= lo && isDigit(buf[p-1]) && isDigit(buf[p-2]) && isDigit(buf[p-3]) && s.ref == nil {
		// Another value ends right before: the label would be the
		// separator alone ("123456789,987654321" in a JSON array), and no
		// context word ends in three digits, so nothing labels this one.
		// (The reference scanner takes the long way.)
		return 0
	}
	a, stop := labelStart(buf, p, lo)
	m := s.e.ctxAll.mask(buf[a:st])
	if stop > lo && (buf[stop-1] == '{' || buf[stop-1] == '[') {
		// The key of the enclosing object or list: skip `{`, spaces,
		// ':' or '=', quotes, then read one label.
		q := stop - 1
		for q > lo && (buf[q-1] == ' ' || buf[q-1] == '\t') {
			q--
		}
		if q > lo && (buf[q-1] == ':' || buf[q-1] == '=') {
			q--
			for q > lo && (buf[q-1] == ' ' || buf[q-1] == '"' || buf[q-1] == '\'') {
				q--
			}
			if q > lo && isAlnum[buf[q-1]] {
				pa, _ := labelStart(buf, q, lo)
				m |= s.e.ctxAll.mask(buf[pa:q])
			}
		}
	}
	return m
}

// valueBefore reports what labelMask reports as "another value ends right
// before" for a value starting at st, without a view: three digits before
// the separator in front of st, or a line break in it (no label either).
// It uses the bounds labelMask would (s.view at st).
func (s *Scanner) valueBefore(buf []byte, st int) bool {
	lo := max(0, st-s.e.back, st-s.e.win)
	p := st
	for p > lo && !isAlnum[buf[p-1]] {
		if c := buf[p-1]; c == '\n' || c == '\r' {
			return true
		}
		p--
	}
	return p-3 >= lo && isDigit(buf[p-1]) && isDigit(buf[p-2]) && isDigit(buf[p-3])
}

// labelStart reads a label backwards from p (just after its last word) and
// returns where it starts and where reading stopped (the label's first byte,
// or the stop byte's position plus one).
func labelStart(buf []byte, p, lo int) (start, stop int) {
	a := p
	for p > lo {
		c := buf[p-1]
		if isAlnum[c] {
			q, digits := p, 0
			for q > lo && isAlnum[buf[q-1]] {
				q--
				if isDigit(buf[q]) {
					digits++
				}
			}
			if q > 0 && buf[q-1] == '\\' && (buf[q] == 'n' || buf[q] == 'r' || buf[q] == 't') {
				// An escaped line break or tab in undecoded text: the
				// label starts after its letter.
				if q+1 < p {
					a = q + 1
				}
				return a, q
			}
			if digits >= 3 {
				return a, p // another value
			}
			a, p = q, q
			continue
		}
		if labelStop[c] {
			return a, p
		}
		p--
	}
	return a, p
}

func (s *Scanner) ctxWin(buf []byte, st, en int, t Type, w int) bool {
	k := s.e.ctx[t]
	if k == nil {
		return false
	}
	a := max(s.lo, st-w)
	b := min(s.lim, en+w)
	if a > st || b < en {
		return false
	}
	return k.find(buf[a:st]) || k.find(buf[en:b])
}

// emit hands a match to the sink, translating base64-decoded coordinates to
// the enclosing buffer and dropping matches that the next overlapping piece
// will report.
func (s *Scanner) emit(t Type, st, en int, conf Confidence, test bool, norm []byte) {
	if !s.e.enabled[t] {
		return
	}
	s.h = hit{t: t, start: st, end: en, conf: conf, test: test, norm: norm}
	s.send()
}

func (s *Scanner) send() {
	h := &s.h
	if len(h.norm) > maxNorm {
		h.norm = h.norm[:maxNorm]
	}
	if s.depth > 0 {
		if h.start >= s.decAccept {
			return
		}
		st := s.decBase + (h.start/3)*4
		en := s.decBase + min(s.decLen, ((h.end+2)/3)*4)
		h.start, h.end = st, en
	}
	s.sink.hit(s, h)
}

const (
	lowerOnly = 1 << cLower
	upperBit  = 1 << cUpper
	digitBit  = 1 << cDigit
)

// word handles a word start at i: secrets with fixed prefixes, numbers,
// identifiers built from letters and digits, then base64 blobs. It returns
// where the scan continues.
func (s *Scanner) word(buf []byte, i, to int) (int, bool) {
	if buf[i-min(i, 1)] == '\\' && i > 0 && (buf[i] == 'n' || buf[i] == 't' || buf[i] == 'r') && i+1 < len(buf) && isAlnum[buf[i+1]] {
		return i + 1, false // the letter of "\n" in undecoded JSON separates
	}
	lim := min(len(buf), i+s.e.hold)
	j := i
	var kinds uint8 // bit per byte class seen in the word
	for j < lim {
		b := kindBit[buf[j]]
		if b == 0 {
			break
		}
		kinds |= b
		j++
	}
	return s.wordKinds(buf, i, j, lim, kinds, to)
}

// wordKinds handles the word [i, j) with the byte classes kinds; lim is
// where the word's view ends.
func (s *Scanner) wordKinds(buf []byte, i, j, lim int, kinds uint8, to int) (int, bool) {
	switch kinds {
	case lowerOnly:
		// The most common word: plain lower-case letters. Only a few
		// secret prefixes start like this.
		if !secretFirst[buf[i]] {
			if j < lim && (buf[j] == '+' || buf[j] == '/') {
				s.view(buf, i)
				return s.maybeB64(buf, i, j, to, kinds)
			}
			if j < lim && lowerIDMaybe(j-i, kinds, buf[j]) && lowerIDShape(buf, i, j, lim, kinds) {
				s.view(buf, i)
				if e := s.lowerID(buf, i, j); e > 0 {
					return e, false
				}
			}
			return j, false
		}
	case digitBit:
		s.view(buf, i)
		return s.numeric(buf, i, j), false
	}
	s.view(buf, i)
	c := buf[i]
	if kinds&upperBit == 0 {
		// Lower case and digits only: the common case (words, hex, numbers)
		// needs just the lower-case prefixes, lower-case IBANs and numbers.
		switch c {
		case 'g', 's', 'r', 'x':
			if e := s.secret(buf, i, j); e > 0 {
				return e, s.longTok
			}
		}
		if kinds&digitBit != 0 && (j-i >= 15 || j-i == 4) && !isDigit(c) {
			if e := s.iban(buf, i); e > 0 {
				return e, false
			}
		}
		if lowerIDShape(buf, i, j, lim, kinds) {
			if e := s.lowerID(buf, i, j); e > 0 {
				return e, false
			}
		}
		return s.maybeB64(buf, i, j, to, kinds)
	}
	if e := s.secret(buf, i, j); e > 0 {
		return e, s.longTok // a long token continues like a base64 run
	}
	if isDigit(c) {
		if e := s.mbi(buf, i, j); e > 0 {
			return e, false
		}
	} else if e := s.alphaWord(buf, i, j); e > 0 {
		return e, false
	}
	return s.maybeB64(buf, i, j, to, kinds)
}

// maybeB64 starts a base64 blob at word start i when the text looks like
// one: base64 of text mixes upper and lower case within a few characters,
// while words, hex and decimal runs do not. A word cut short by '+' or '/'
// is judged on the first 16 characters of the run.
func (s *Scanner) maybeB64(buf []byte, i, j, to int, kinds uint8) (int, bool) {
	if s.depth != 0 || s.e.minB64 <= 0 {
		return j, false
	}
	const mixed = 1<<cUpper | 1<<cLower
	if kinds&mixed != mixed && j < s.lim && (buf[j] == '+' || buf[j] == '/') {
		for p := j; p < s.lim && p-i < 16 && isB64[buf[p]]; p++ {
			if k := cls[buf[p]]; k <= cLower {
				kinds |= 1 << k
			}
		}
	}
	if kinds&mixed != mixed {
		return j, false
	}
	// Both cases were seen inside the base64 run starting at i; it is a
	// blob if it is long enough. Otherwise continue after the alphanumeric
	// word only, so tokens after '-', '_' or '/' are still seen.
	e := j
	for e < s.lim && e-i < s.e.minB64 && isB64[buf[e]] {
		e++
	}
	if e-i < s.e.minB64 || urlPath(buf, i, s.lo) {
		return j, false
	}
	return s.b64Run(buf, i, to)
}

// urlPath reports whether i lies in the path of a URL ("://" before it in
// the same token, no '?' or '=' between): letters and slashes there are
// path segments ("hooks.slack.com/services/T0.../B.../..."), not a base64
// blob, and each is scanned as a word.
func urlPath(buf []byte, i, lo int) bool {
	for p := i - 1; p >= lo+2 && i-p < 96; p-- {
		switch c := buf[p]; {
		case c == '/' && buf[p-1] == '/' && buf[p-2] == ':':
			return true
		case c <= ' ' || c == '"' || c == '\'' || c == '?' || c == '=' || c == '<' || c == '>' || c >= 0x7f:
			return false
		}
	}
	return false
}

// b64Run decodes a base64 blob piece by piece starting at i (a blob start,
// or a continuation piece) and scans each decoded piece once, at depth 1.
// Pieces starting at or after to are left to the next region.
func (s *Scanner) b64Run(buf []byte, i, to int) (int, bool) {
	for p := i; ; p += b64Step {
		if p >= to {
			return p, true
		}
		plim := min(len(buf), p+s.e.hold)
		pe := p
		for pe < plim && pe-p < b64Piece && isB64[buf[pe]] {
			pe++
		}
		last := pe-p < b64Piece || pe >= len(buf) || !isB64[buf[pe]]
		s.decodePiece(buf[p:pe], p, last)
		if last {
			for pe < plim && pe-p < b64Piece+2 && buf[pe] == '=' {
				pe++
			}
			return pe, false
		}
	}
}

func countCtl(b []byte) int {
	bad := 0
	for _, c := range b {
		if isCtl[c] {
			bad++
		}
	}
	return bad
}

func (s *Scanner) decodePiece(src []byte, base int, last bool) {
	n := len(src)
	if !last {
		n &^= 3
	}
	// Most long base64 runs carry binary (images, compressed data): judge
	// the first 64 characters before decoding the whole piece. They are
	// whole quanta, so when all of them decode the rest continues after
	// them.
	dn, bad := 0, 0
	if n > 64 {
		dn = b64decode(s.dec[:], src[:64])
		bad = countCtl(s.dec[:dn])
		if bad*20 > dn {
			return
		}
		if dn == 48 {
			m := b64decode(s.dec[48:], src[64:n])
			bad += countCtl(s.dec[48 : 48+m])
			dn += m
		}
	} else {
		dn = b64decode(s.dec[:], src[:n])
		bad = countCtl(s.dec[:dn])
	}
	if dn < 12 {
		return
	}
	if bad*20 > dn {
		return
	}
	saveLo, saveLim := s.lo, s.lim
	s.depth = 1
	s.decBase = base
	s.decLen = len(src)
	s.decAccept = dn
	if !last {
		s.decAccept = b64Step / 4 * 3
	}
	s.region(s.dec[:dn], 0, dn, contNone)
	s.longTok = false
	s.depth = 0
	s.lo, s.lim = saveLo, saveLim
}
