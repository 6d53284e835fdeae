package classify

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// The scanner's fast paths (the prefilter in prefilter.go, context looked
// up before validators) must find exactly what the straightforward scan
// loop they replace found. refScanner runs that loop, kept here verbatim as
// the oracle, and the tests below compare every match (type, offsets,
// confidence, test flag, masked evidence, hash) on random binary, numeric
// JSON, the accuracy corpus, encoded payloads and fuzzed input.

func refScanner(e *Engine) *Scanner {
	s := e.NewScanner()
	s.ref = &scanRef{region: (*Scanner).refRegion, numAt: (*Scanner).refNumAt, encAll: true}
	return s
}

// scanWith scans b in one piece with s, as ScanAll does.
func scanWith(s *Scanner, b []byte) []Match {
	var out []Match
	s.fsink.fn = func(m Match) { out = append(out, m) }
	s.sink = &s.fsink
	s.base = 0
	s.scanAll(b)
	s.sink, s.fsink.fn = nil, nil
	return out
}

func diffKey(ms []Match) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%s[%d,%d)%s test=%v %s %s\n", m.Type, m.Start, m.End, m.Confidence, m.TestNumber, m.Evidence, m.Hash)
	}
	return b.String()
}

// checkSame fails when the fast and the reference scanner disagree on in.
func checkSame(t testing.TB, fast, ref *Scanner, name string, in []byte) int {
	t.Helper()
	got, want := scanWith(fast, in), scanWith(ref, in)
	if g, w := diffKey(got), diffKey(want); g != w {
		t.Fatalf("%s (%d bytes): fast scanner found\n%s\nreference found\n%s", name, len(in), g, w)
	}
	return len(want)
}

// diffInputs is the differential corpus: every content type of the
// benchmarks, the accuracy corpus, the detector cases and random bytes
// salted with the punctuation and prefixes the prefilter keys on.
func diffInputs() []struct {
	name string
	data []byte
} {
	var out []struct {
		name string
		data []byte
	}
	add := func(name string, b []byte) {
		out = append(out, struct {
			name string
			data []byte
		}{name, b})
	}
	for _, in := range contentInputs() {
		add(in.name, in.data[:min(len(in.data), 256<<10)])
	}
	var docs bytes.Buffer
	for _, s := range buildSamples(77, 40) {
		docs.Write(s.doc)
		docs.WriteByte('\n')
	}
	add("corpus samples", docs.Bytes())
	add("benign", benign(99, 256<<10))
	var cases bytes.Buffer
	for _, c := range detectorCases() {
		cases.WriteString(c.in)
		cases.WriteByte('\n')
	}
	add("detector cases", cases.Bytes())
	add("detector cases base64", []byte(base64.StdEncoding.EncodeToString(cases.Bytes())))
	g := newGen(21)
	// Random bytes drawn from small alphabets make short words, digit
	// groups and triggers next to each other far more often than uniform
	// random bytes do.
	for k, alpha := range []string{
		"aZ09 -_./+\\@:=(\n",
		"0123456789 .-,",
		"AB12 ",
		"eyJ._-ab",
		"sk-_rxghp",
		"QWERTY 012345.-",
		"ab\\nt9 ",
		alnum + "+/=",
		// Short runs of token characters with percent escapes, padding
		// and '+' between bytes outside the encoded pass's range.
		"%4a1=+MNO09b/. \x00\xff\x80!",
		"MNOTQ0123456789%=+-_ \x01",
	} {
		add(fmt.Sprintf("alphabet %d", k), []byte(g.str(64<<10, alpha)))
	}
	// Labelled numbers of eight to ten digits after short numbers and
	// separators: the scan loop skips a number that another value ends
	// right before, which must be exactly what labelMask decides.
	var lists bytes.Buffer
	for range 3000 {
		lists.WriteString(g.pick("ssn", "SSN:", "routing number", "passport no", "npi=", `"sin":[`, "nhs ", "id"))
		for range g.r.IntN(3) {
			lists.WriteString(g.pick(" ", ",", ", ", ":", "-", "\n", "\\n", " x", "/"))
			lists.Write(g.digits(1 + g.r.IntN(4)))
		}
		lists.WriteString(g.pick(" ", ",", ", ", ": ", "\n", "\t", ""))
		switch g.r.IntN(3) {
		case 0:
			lists.WriteString(g.ssnValidNine())
		case 1:
			lists.WriteString(g.npi())
		default:
			lists.Write(g.digits(8 + g.r.IntN(3)))
		}
		lists.WriteString(g.pick("\n", ",", " ", "]"))
	}
	add("labelled number lists", lists.Bytes())
	// Encoded values between random binary bytes: the encoded pass's
	// spans start and end at every offset around its eight-byte words.
	var enc bytes.Buffer
	for k, sm := range encodedSamples(5, 30) {
		enc.Write(contentInputs()[0].data[k*13 : k*13+k%17])
		enc.Write(sm.doc)
	}
	add("encoded in binary", enc.Bytes())
	return out
}

func TestFastMatchesReference(t *testing.T) {
	for _, cfg := range []Config{{HMACKey: []byte("k")}, {ContextWindow: 20}, {MinBase64: -1}} {
		e, err := NewEngine(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		fast, ref := e.NewScanner(), refScanner(e)
		total := 0
		for _, in := range diffInputs() {
			total += checkSame(t, fast, ref, in.name, in.data)
		}
		if total == 0 {
			t.Fatal("no matches at all: the differential test compares nothing")
		}
	}
}

// TestFastMatchesReferenceStream compares Stream findings, fed in segments
// that put a boundary at every offset around the prefilter's eight-byte
// blocks, with the reference scanner's.
func TestFastMatchesReferenceStream(t *testing.T) {
	e := testEngine(t)
	// Text, and the same values between bytes no text has, which put the
	// scan loop in its prefilter mode.
	for _, sep := range []string{" \n", "\x00\xff\x01"} {
		var in bytes.Buffer
		for k, c := range detectorCases() {
			in.WriteString(sep[:k%len(sep)+1])
			in.WriteString(c.in)
			in.WriteString(sep)
		}
		data := in.Bytes()
		whole := streamWith(refScanner(e), data, len(data))
		if whole == "" {
			t.Fatal("no findings")
		}
		for _, seg := range []int{1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 63, 64, 65, 127, 128, 129, 1460} {
			got := streamWith(e.NewScanner(), data, seg)
			if want := streamWith(refScanner(e), data, seg); got != want {
				t.Fatalf("sep %q, segments of %d: fast\n%s\nreference\n%s", sep, seg, got, want)
			}
			if got != whole {
				t.Fatalf("sep %q, segments of %d: %s, whole %s", sep, seg, got, whole)
			}
			// Offsets too: ScanReader with reads of seg bytes.
			sizes := make([]int, len(data)/seg+1)
			for k := range sizes {
				sizes[k] = seg
			}
			if got, want := matchKey(readerMatches(t, e, data, sizes...)), matchKey(scanWith(refScanner(e), data)); got != want {
				t.Fatalf("sep %q, reads of %d: %s, reference %s", sep, seg, got, want)
			}
		}
	}
}

func streamWith(sc *Scanner, data []byte, seg int) string {
	st := sc.NewStream("out")
	for off := 0; off < len(data); off += seg {
		st.Write(data[off:min(len(data), off+seg)])
	}
	st.Flush()
	var b strings.Builder
	for _, f := range st.Findings(nil) {
		fmt.Fprintf(&b, "%s %d %s %v %v;", f.Type, f.Count, f.Confidence, f.Evidence, f.Hashes)
	}
	return b.String()
}

// FuzzFastMatchesReference compares the fast scanner with the reference on
// arbitrary input, whole at every alignment of a prefix to the prefilter's
// 64-byte blocks, read in pieces and written to a Stream in pieces.
func FuzzFastMatchesReference(f *testing.F) {
	for _, c := range detectorCases() {
		f.Add([]byte(c.in), uint8(0))
	}
	f.Add([]byte("x \\nAB 12 34 56 C sk-a/Tb+1 (415) 555-2671 a@b.co"), uint8(3))
	e, err := NewEngine(Config{HMACKey: []byte("k"), ContextWindow: 20}, nil)
	if err != nil {
		f.Fatal(err)
	}
	fast, ref := e.NewScanner(), refScanner(e)
	f.Fuzz(func(t *testing.T, data []byte, shift uint8) {
		in := append(bytes.Repeat([]byte{0xff}, int(shift%72)), data...)
		checkSame(t, fast, ref, "fuzz", in)
		// And as a stream read in pieces of 1 to 32 bytes: region is then
		// called on short ranges whose ends cut words.
		seg := int(shift)%32 + 1
		sizes := make([]int, len(in)/seg+1)
		for k := range sizes {
			sizes[k] = seg
		}
		if got, want := diffKey(readerMatches(t, e, in, sizes...)), diffKey(scanWith(ref, in)); got != want {
			t.Fatalf("reads of %d: fast\n%s\nreference\n%s", seg, got, want)
		}
		// A Stream's encoded pass uses the main scan's record of clean
		// blocks (encClean); ScanReader's does not.
		if got, want := streamWith(fast, in, seg), streamWith(ref, in, seg); got != want {
			t.Fatalf("writes of %d: fast\n%s\nreference\n%s", seg, got, want)
		}
	})
}

// refRegion is region as it was before the prefilter: one byte at a time.
func (s *Scanner) refRegion(buf []byte, from, to int, cont uint8) (next int, nextCont uint8) {
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
	for i < to {
		k := cls[buf[i]]
		if k == cNone {
			i++
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
						if !numValueLen(j-i) && !(isNumSep(next) && j+1 < lim && isDigit(buf[j+1])) {
							i = j
							continue
						}
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

// candRef is the prefilter's condition at one position, written byte by
// byte from its definition in prefilter.go.
func candRef(b []byte, q int) bool {
	at := func(k int) byte {
		if k < 0 || k >= len(b) {
			return 0
		}
		return b[k]
	}
	alnum := func(k int) bool { return isAlnum[at(k)] }
	near := func(k int) bool { return strings.IndexByte("+/-_ .", at(k)) >= 0 && k >= 0 && k < len(b) }
	c, prev := at(q), at(q-1)
	keyEnd := alnum(q-1) || strings.IndexByte(" \"'%+-.:=?_", prev) >= 0 && q > 0
	switch {
	case (c == ':' || c == '=' || c == '@') && keyEnd:
		return true
	case strings.IndexByte("+(-", c) >= 0 && (isDigit(at(q+1)) || at(q+1) == '+' || at(q+1) == '-'):
		return true
	case !alnum(q):
		return false
	case near(q+1) && (alnum(q+2) || near(q+2)):
		return true
	case alnum(q - 1):
		return false // not a word start
	}
	slash := q > 0 && (prev == '/' || prev == '\\')
	return slash || isUpper(c) && isDigit(at(q+1)) && alnum(q+2) || alnum(q+1) && alnum(q+2) && alnum(q+3) && alnum(q+4)
}

// TestCandIterReference checks candIter, from every start, against candRef
// (with the walk back to a word's start) on inputs that hit every term.
func TestCandIterReference(t *testing.T) {
	g := newGen(5)
	for k, alpha := range []string{"aZ09 -_./+\\@:=(\"'?\x80", "ab-1 ", "AB12_:=", alnum} {
		b := []byte(g.str(2000, alpha))
		for _, to := range []int{len(b), len(b) - 37, 8, 3} {
			for i := 0; i < to; i++ {
				want := to
				for q := i; q < to+3 && q < len(b); q++ {
					if candRef(b, q) {
						want = min(to, wordStart(b, i, q))
						break
					}
				}
				it := candIter{p: -1}
				if got := it.next(b, i, to); got != want {
					t.Fatalf("alphabet %d, from %d to %d: next %d, want %d", k, i, to, got, want)
				}
			}
		}
		// One iterator walked across the whole buffer, as region uses it.
		it := candIter{p: -1}
		n := 0
		for q := it.next(b, 0, len(b)); q < len(b); q = it.next(b, q+1, len(b)) {
			if !candRef(b, q) && !candRef(b, wordEnd(b, q)) {
				t.Fatalf("alphabet %d: %d is no candidate", k, q)
			}
			n++
		}
		if n == 0 {
			t.Fatalf("alphabet %d: no candidates", k)
		}
	}
}

func wordEnd(b []byte, q int) int {
	for q+1 < len(b) && isAlnum[b[q]] && isAlnum[b[q+1]] {
		q++
	}
	return q
}

// refNumAt is numAt as it was before the label was looked up first.
func (s *Scanner) refNumAt(buf []byte, a, b int) {
	t := &s.tok
	st, en := t.gs[a], t.ge[b]
	ng := b - a + 1
	D := en - st - (ng - 1)
	if D < minValueDigits || D > 19 {
		return
	}
	L := t.glen(a)
	if ng >= 3 && cardShape(t, a, b) || ng == 1 && L >= 12 {
		d := s.digitsOf(buf, a, b)
		if cardOK(d) {
			// 14-16 digits are the lengths nearly all cards have. Other
			// lengths collide with EAN-13/UPC barcodes, 19-digit trace
			// ids and 13-digit millisecond times, so unseparated they
			// need card context.
			if ng > 1 || !looksLikeMillis(d) && (L >= 14 && L <= 16 || s.ctx(buf, st, en, CreditCard)) {
				s.emit(CreditCard, st, en, High, isTestCard(d), d)
			}
			return
		}
		// Luhn-valid numbers outside every issuer range are cards when
		// a card label names them (new ranges, private-label cards).
		if len(d) >= 15 && luhn(d) && !repetitive(d) && s.ctxBit(buf, st, cardLabelBit) {
			s.emit(CreditCard, st, en, Medium, false, d)
			return
		}
		if ng > 1 {
			return // judged as a card: its digits are nothing else
		}
	}
	if ng == 3 {
		s.numAt3(buf, a, st, en)
		return
	}
	if ng == 4 {
		if t.shape(a, b, 1, 3, 3, 4) && buf[st] == '1' && t.sameSep(a, b, " -.") {
			d := s.digitsOf(buf, a, b)
			if nanp(d[1:]) && s.ctx(buf, st, en, Phone) {
				s.emit(Phone, st, en, Medium, false, d)
			}
		}
		return
	}
	if ng != 1 {
		return
	}
	switch L {
	case 8:
		if s.ctx(buf, st, en, Passport) {
			s.emit(Passport, st, en, Medium, false, s.digitsOf(buf, a, a))
		}
	case 9:
		d := s.digitsOf(buf, a, a)
		switch {
		case abaValid(d) && s.ctx(buf, st, en, ABARouting):
			s.emit(ABARouting, st, en, High, false, d)
		case sinValid(d) && s.ctx(buf, st, en, CASIN):
			s.emit(CASIN, st, en, High, false, d)
		case itinValid(d) && s.ctx(buf, st, en, USITIN):
			s.emit(USITIN, st, en, Medium, false, d)
		case ssnValid(d) && s.ctx(buf, st, en, USSSN):
			s.emit(USSSN, st, en, Medium, false, d)
		case s.ctx(buf, st, en, Passport):
			s.emit(Passport, st, en, Medium, false, d)
		}
	case 10:
		d := s.digitsOf(buf, a, a)
		switch {
		case mod11NHS(d) && s.ctx(buf, st, en, UKNHS):
			s.emit(UKNHS, st, en, High, false, d)
		case npiValid(d) && s.ctx(buf, st, en, USNPI):
			s.emit(USNPI, st, en, High, false, d)
		case nanp(d) && s.ctx(buf, st, en, Phone):
			s.emit(Phone, st, en, Medium, false, d)
		}
	case 12:
		d := s.digitsOf(buf, a, a)
		if d[0] >= '2' && verhoeff(d) && s.ctx(buf, st, en, Aadhaar) {
			s.emit(Aadhaar, st, en, High, false, d)
		}
	}
}

// TestNoContextWordEndsInDigits guards labelMask's shortcut after a value
// ending in three digits: it is exact only while no context word does.
func TestNoContextWordEndsInDigits(t *testing.T) {
	all := append([]string(nil), cardLabels...)
	for _, ws := range builtinContext {
		all = append(all, ws...)
	}
	for _, w := range all {
		if n := len(w); n >= 3 && isDigit(w[n-1]) && isDigit(w[n-2]) && isDigit(w[n-3]) {
			t.Errorf("context word %q ends in three digits: drop the shortcut in labelMask", w)
		}
	}
}
