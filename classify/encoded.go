package classify

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"sync"

	"github.com/tapdlp/tapdlp/record"
)

// encScan finds short encoded tokens in scanned plaintext that the main
// scan reads literally, decodes them and scans the result as a value of its
// own:
//   - percent-encoded runs ("4111%201111%20…", "%34%31%31%31…", a form body
//     sent as text/plain), '+' read as a space;
//   - base64 with padding too short for the main scan's blob rule (MinBase64
//     characters): the 24-character base64 of a 16-digit card
//     ("NDExMTEx…MQ=="), of an SSN ("MTIzLTQ1LTY3ODk="), of short secrets;
//   - base64 without padding, minEncB64 characters up to the blob rule,
//     that decodes to a number: digits with spaces, dashes or dots, at
//     least minValueDigits digits ("MTIzNDU2Nzg5" is an SSN's 9 digits,
//     "NDExMTExMTExMTExMTExMQ" a card's 16). Such a token starts with 'M',
//     'N' or 'O' (the first six bits of an ASCII digit), found with
//     bytes.IndexByte; anything that does not decode to a number is left
//     alone, so words and identifiers cost a table lookup or two (see
//     shortScan).
//
// It only looks around the bytes that trigger it ('%' and '='), found with
// bytes.IndexByte, so text without them costs two vector scans. A token is
// a run of token characters of at most maxEncTok bytes; one cut by the end
// of a chunk is completed with the next chunk (deferred), and the token
// characters before a chunk are remembered (tail), so the result does not
// depend on how the stream was cut. Decoded base64 must be printable text:
// random identifiers decode to binary and are dropped.
type encScan struct {
	run   [maxEncTok]byte // the run of token characters that ends the data so far
	nrun  int
	runAt int  // its offset in the stream
	long  bool // the run is longer than maxEncTok: never decoded
	trig  bool // the run holds a '%' or '='

	// The unpadded-base64 pass's own carry: the run of base64 characters
	// that ends the data so far, when it starts a token like a number's
	// base64 and is not yet too long.
	b64   [maxShortB64]byte
	nb64  int
	b64At int
	inRun bool // the data so far ends inside a run of base64 characters
	// The bytes before the carried token (its label), and the last bytes
	// of the data so far (the label of a token at the start of the next).
	b64Ctx  [maxLabel]byte
	nb64Ctx int
	tail    [maxLabel]byte
	ntail   int
	lbuf    [2 * maxLabel]byte // before's scratch

	// While a number is scanned after its label: the sink its hits go
	// to, and where the token starts (a hit before it is in the label).
	fwd     hitSink
	tokenAt int
}

// hit passes on the hits in the number, not those in its label (the main
// scan reports those where they are).
func (e *encScan) hit(s *Scanner, h *hit) {
	if h.start >= e.tokenAt {
		e.fwd.hit(s, h)
	}
}

// maxLabel bounds the text before an unpadded base64 number that is kept
// as its label (`"ssn":"`, "card_number=").
const maxLabel = 30

// maxEncTok bounds an encoded token: a percent-encoded card with separators
// is under 60 bytes, a 32-byte secret's base64 under 48. A longer run of
// token characters is not judged here (long base64 is the main scan's).
const maxEncTok = 96

// minEncB64 is the shortest base64 token decoded here (9 bytes: an SSN
// without separators).
const minEncB64 = 12

var (
	isEncTok [256]bool // characters of a token: base64 and percent-encoding
	isB64Std [256]bool // base64 alphabet characters (standard and URL-safe)
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' // not isAlnum: its init may run later
		isB64Std[c] = alnum || b == '+' || b == '/' || b == '-' || b == '_'
		isEncTok[c] = isB64Std[c] || b == '%' || b == '=' || b == '.'
	}
}

// process judges the runs of token characters in b, the stream's next
// bytes at offset abs (final: no more will come), that hold a trigger, and
// the runs of base64 characters that may be a number's base64 without
// padding. A run cut by the end of b is carried to the next call, so the
// outcome does not depend on how the stream was cut. at is where b lies in
// the buffer the main scan has just read (-1: elsewhere), whose clean
// blocks need no search (encClean).
func (e *encScan) process(s *Scanner, b []byte, final bool, abs, at int) {
	sp, more, cv := s.encSpans(b, final, at) // encspan.go
	it1 := encSpanIter{sp: sp, next: more, b: b, final: final, cv: cv}
	it2 := it1
	e.shortScan(s, b, &it1, final, abs)
	e.trigScan(s, b, &it2, final, abs)
	s.clean.reset(nil) // used once
}

// maxShortB64 bounds an unpadded base64 token decoded by shortScan: one
// of DefaultMinBase64 characters or more is the main scan's blob.
const maxShortB64 = DefaultMinBase64 - 1

// shortScan finds the runs of base64 characters in b that start with 'M',
// 'N' or 'O' (a digit's first six bits) and are minEncB64 to maxShortB64
// long, and scans what they decode to when that is a number (numB64).
func (e *encScan) shortScan(s *Scanner, b []byte, spans *encSpanIter, final bool, abs int) {
	defer e.keepTail(b)
	i := 0
	if e.inRun {
		// The run the previous data ended in goes on here.
		for i < len(b) && isB64Std[b[i]] {
			i++
		}
		if e.nb64 > 0 {
			if e.nb64+i > maxShortB64 {
				e.nb64 = 0
			} else {
				e.nb64 += copy(e.b64[e.nb64:], b[:i])
			}
		}
		if i == len(b) && !final {
			return
		}
		if e.nb64 > 0 && (i == len(b) || b[i] != '=') && shortCandidate(e.b64[:e.nb64]) {
			e.shortToken(s, e.b64[:e.nb64], e.b64At, e.b64Ctx[:e.nb64Ctx])
		}
		e.nb64, e.inRun = 0, false
	}
	// Candidates are searched for in the spans (encspan.go): a run of
	// base64 characters as long as minEncB64 lies in one, and so does one
	// cut by the end of b.
	for r, ok := spans.span(); ok; r, ok = spans.span() {
		i = max(i, r.a)
		for i < r.z {
			k := nextMNO(b[:r.z], i)
			if k < 0 {
				break
			}
			if k > 0 && isB64Std[b[k-1]] {
				i = k + 1 // not the start of its run (k == 0 is: a run the previous data ended in was taken above)
				continue
			}
			end := k + 1
			for end < len(b) && isB64Std[b[end]] {
				end++
			}
			switch {
			case end < len(b) && b[end] == '=':
				// Padded: trigScan's.
			case end == len(b) && !final:
				if end-k <= maxShortB64 {
					e.nb64 = copy(e.b64[:], b[k:end])
					e.b64At = abs + k
					e.nb64Ctx = copy(e.b64Ctx[:], e.before(b, k))
				}
			case shortCandidate(b[k:end]):
				e.shortToken(s, b[k:end], abs+k, e.before(b, k))
			}
			i = end
		}
	}
	if !final && len(b) > 0 && isB64Std[b[len(b)-1]] {
		e.inRun = true
	}
}

// before returns up to maxLabel bytes of the data before b[k], taking
// them from the previous data when b[:k] is shorter; the result is valid
// until the next call.
func (e *encScan) before(b []byte, k int) []byte {
	if k >= maxLabel {
		return b[k-maxLabel : k]
	}
	n := copy(e.lbuf[:], e.tail[:e.ntail])
	n += copy(e.lbuf[n:], b[:k])
	return e.lbuf[max(n-maxLabel, 0):n:n]
}

// keepTail remembers the last maxLabel bytes of the data so far.
func (e *encScan) keepTail(b []byte) {
	if len(b) >= maxLabel {
		e.ntail = copy(e.tail[:], b[len(b)-maxLabel:])
		return
	}
	keep := min(e.ntail, maxLabel-len(b))
	copy(e.tail[:], e.tail[e.ntail-keep:e.ntail])
	e.ntail = keep + copy(e.tail[keep:], b)
}

// nextMNO returns the first 'M', 'N' or 'O' in b at or after i, or -1.
// It tests eight bytes at a time: XORed with 'L' (0x4c), the bytes 'L' to
// 'O' become 0 to 3, and a byte below 4 sets its high bit in
// (y - 0x04…) &^ y; the lowest flagged byte is exact (a borrow only runs
// upwards from a flagged byte), the others are checked again.
func nextMNO(b []byte, i int) int {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	for ; i+8 <= len(b); i += 8 {
		y := binary.LittleEndian.Uint64(b[i:]) ^ (0x4c * ones)
		m := (y - 4*ones) &^ y & high
		for m != 0 {
			p := i + bits.TrailingZeros64(m)/8
			if c := b[p]; c >= 'M' && c <= 'O' {
				return p
			}
			m &= m - 1
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'M' && c <= 'O' {
			return i
		}
	}
	return -1
}

// shortCandidate is shortToken's quick filter, inlined: a length unpadded
// base64 of a number can have, and a first quantum that can encode three
// of its bytes (a digit, then digits, spaces, dashes or dots).
func shortCandidate(tok []byte) bool {
	if len(tok) < minEncB64 || len(tok) > maxShortB64 || len(tok)%4 == 1 {
		return false
	}
	return numQuantum[1][tok[1]] && numQuantum[2][tok[2]] && numQuantum[3][tok[3]]
}

// numQuantum[k] marks the characters at position k of a base64 quantum
// that encodes a digit followed by two bytes each a digit, space, dash or
// dot (position 0 is 'M', 'N' or 'O', found by nextMNO).
var numQuantum = func() (t [4][256]bool) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	num := []byte("0123456789 -.")
	for _, b0 := range num[:10] {
		for _, b1 := range num {
			for _, b2 := range num {
				v := uint32(b0)<<16 | uint32(b1)<<8 | uint32(b2)
				for k := range 4 {
					c := alphabet[v>>(18-6*k)&63]
					t[k][c] = true
					if c == '+' {
						t[k]['-'] = true // URL-safe
					} else if c == '/' {
						t[k]['_'] = true
					}
				}
			}
		}
	}
	return t
}()

// shortToken decodes tok, a whole run of base64 characters, when it may be
// a number's base64 without padding, and scans the number after the text
// before it (ctx back to a line break or a digit), so a number that needs a
// label (nine bare digits: an SSN) is judged as it would be in the clear.
func (e *encScan) shortToken(s *Scanner, tok []byte, off int, ctx []byte) {
	if s.e.minB64 > 0 && len(tok) >= s.e.minB64 {
		return // the main scan's blob
	}
	n, ok := numB64(s.dec[labelRoom:], tok)
	if !ok {
		return
	}
	from := len(ctx)
	for from > 0 && !labelEdge[ctx[from-1]] {
		from--
	}
	label := ctx[from:]
	// The label takes a multiple of three bytes (spaces in front), so the
	// number's hits map back onto the token as a base64 piece's do.
	room := (len(label) + 2) / 3 * 3
	lo := labelRoom - room
	for k := lo; k < labelRoom-len(label); k++ {
		s.dec[k] = ' '
	}
	copy(s.dec[labelRoom-len(label):], label)
	shift := room / 3 * 4
	e.fwd, e.tokenAt = s.sink, off
	s.sink = e
	scanDecoded(s, s.dec[lo:labelRoom+n], off-shift, len(tok)+shift)
	s.sink, e.fwd = e.fwd, nil
}

// labelRoom is where shortToken decodes a number in the scanner's scratch,
// after room for its label.
const labelRoom = maxLabel + 2

// labelEdge marks the bytes the label taken along never reaches back over:
// line breaks and digits (another value). Which words of it label the
// number is the main scan's decision, as in the clear.
var labelEdge = func() (t [256]bool) {
	for _, c := range []byte("\n\r0123456789") {
		t[c] = true
	}
	return t
}()

// numB64 decodes src, unpadded base64 that passed shortCandidate, when it
// decodes to a number: ASCII digits with spaces, dashes or dots between
// them, at least minValueDigits digits, starting with a digit.
func numB64(dst, src []byte) (int, bool) {
	n := b64decode(dst, src)
	if n != len(src)*3/4 {
		return 0, false // a character outside the alphabet
	}
	digits := 0
	for _, c := range dst[:n] {
		switch {
		case '0' <= c && c <= '9':
			digits++
		case c == ' ' || c == '-' || c == '.':
		default:
			return 0, false
		}
	}
	return n, digits >= minValueDigits && isDigit(dst[0])
}

// trigScan judges the runs of token characters in b that hold a trigger
// ('%' or '=').
func (e *encScan) trigScan(s *Scanner, b []byte, spans *encSpanIter, final bool, abs int) {
	i := 0
	if e.nrun > 0 || e.long {
		j := 0
		for j < len(b) && isEncTok[b[j]] {
			j++
		}
		if !e.long {
			if e.nrun+j > maxEncTok {
				e.long = true
			} else {
				e.nrun += copy(e.run[e.nrun:], b[:j])
				e.trig = e.trig || bytes.IndexByte(b[:j], '%') >= 0 || bytes.IndexByte(b[:j], '=') >= 0
			}
		}
		if j == len(b) && !final {
			return
		}
		if !e.long && e.trig && worthToken(e.run[:e.nrun]) {
			encToken(s, e.run[:e.nrun], e.runAt)
		}
		e.nrun, e.long, e.trig = 0, false, false
		i = j
	}
	// Triggers are searched for in the spans (encspan.go); a token outside
	// them decodes to nothing.
	r, ok := spans.span()
	tr := newTriggers(b[:r.z])
	for from := max(i, r.a); ok; {
		k := tr.next(from)
		if k < 0 {
			// The next span.
			if r, ok = spans.span(); ok {
				tr = newTriggers(b[:r.z])
				from = max(from, r.a)
			}
			continue
		}
		if b[k] == '=' && k+1 < len(b) && isEncTok[b[k+1]] && b[k+1] != '=' && !plusValue(b, k+1) {
			// "key=value": no padding ends here and no '+' form value
			// starts here (a '%' in the token is a trigger of its own).
			from = k + 1
			continue
		}
		start := k
		for start > i && isEncTok[b[start-1]] {
			start--
		}
		end := k + 1
		for end < len(b) && isEncTok[b[end]] {
			end++
		}
		if end == len(b) && !final {
			e.carry(b[start:], abs+start, true)
			return
		}
		if end-start <= maxEncTok && worthToken(b[start:end]) {
			encToken(s, b[start:end], abs+start)
		}
		i, from = end, end
	}
	if final {
		return
	}
	// Carry the trailing run (it may get a trigger later).
	j := len(b)
	for j > i && isEncTok[b[j-1]] && len(b)-j <= maxEncTok {
		j--
	}
	if j < len(b) {
		e.carry(b[j:], abs+j, false)
		e.long = j > i && isEncTok[b[j-1]]
	}
}

// carry keeps run, the token characters at the end of the data, at offset at.
func (e *encScan) carry(run []byte, at int, trig bool) {
	e.runAt, e.trig, e.long = at, trig, len(run) > maxEncTok
	e.nrun = 0
	if !e.long {
		e.nrun = copy(e.run[:], run)
	}
}

// triggers finds the '%' and '=' bytes of one buffer in order, each kind
// searched once per occurrence (bytes.IndexByte), not once per trigger.
type triggers struct {
	b    []byte
	p, q int // next '%' and '=' at or after the last position, -1 none, -2 not searched
}

func newTriggers(b []byte) triggers { return triggers{b: b, p: -2, q: -2} }

// next returns the first trigger at or after i, or -1.
func (t *triggers) next(i int) int {
	if t.p != -1 && t.p < i {
		t.p = indexFrom(t.b, '%', i)
	}
	if t.q != -1 && t.q < i {
		t.q = indexFrom(t.b, '=', i)
	}
	switch {
	case t.p < 0:
		return t.q
	case t.q < 0 || t.p < t.q:
		return t.p
	}
	return t.q
}

// indexFrom is bytes.IndexByte from i, looking at the next few bytes
// inline first: in "key=value" text the next '=' is usually close, where
// the call costs more than the search.
func indexFrom(b []byte, c byte, i int) int {
	for lim := min(len(b), i+16); i < lim; i++ {
		if b[i] == c {
			return i
		}
	}
	if i >= len(b) {
		return -1
	}
	if k := bytes.IndexByte(b[i:], c); k >= 0 {
		return i + k
	}
	return -1
}

// plusValue reports whether b[i:] may start a form value of digit groups
// joined by '+' ("5500+0000+…"): up to six digits, then '+', or the end of
// b (the value may go on in the next chunk).
func plusValue(b []byte, i int) bool {
	for j := i; j < len(b) && j-i <= 6; j++ {
		switch c := b[j]; {
		case c == '+':
			return j > i
		case !isDigit(c):
			return false
		}
	}
	return true
}

// worthToken is encToken's quick filter, one pass without calls: most
// tokens around '=' are "key=value" pairs with nothing encoded.
func worthToken(tok []byte) bool {
	run := 0
	plus := false
	for _, c := range tok {
		switch c {
		case '%':
			return true
		case '=':
			if run >= minEncB64 {
				return true // padded base64 may end here
			}
			run = 0
			continue
		case '+':
			plus = true
		}
		run++
	}
	return plus && run >= minValueDigits
}

// encToken splits tok at its '=' runs ("card=NDEx…MQ==&x=1" is one token)
// and decodes each part that is percent-encoded or padded base64 into the
// scanner's base64 scratch (free between regions), then scans it. off is
// tok's offset in the buffer the scanner's sink reports against (a Stream
// ignores coordinates).
func encToken(s *Scanner, tok []byte, off int) {
	pos := 0
	for pos < len(tok) {
		rest := tok[pos:]
		k := 0
		for k < len(rest) && rest[k] != '=' {
			k++
		}
		if k == len(rest) {
			k = -1
		}
		part := rest
		pad := 0
		if k >= 0 {
			part = rest[:k]
			for k+pad < len(rest) && rest[k+pad] == '=' {
				pad++
			}
		}
		at := pos
		pos += len(part) + pad
		var n int
		var ok bool
		switch {
		case bytes.IndexByte(part, '%') >= 0:
			n, ok = pctDecode(s.dec[:], part)
			if bytes.IndexByte(s.dec[:n], '%') >= 0 {
				// Encoded twice ("%2520"): once more, in place (decoding
				// only shrinks).
				if m, again := pctDecode(s.dec[:], s.dec[:n]); again {
					n, ok = m, true
				}
			}
		case pad >= 1 && pad <= 2 && pos == len(tok):
			// Padding ends the token: base64 ("k=NDEx…MQ==").
			n, ok = b64Text(s.dec[:], part, pad, s.e.minB64)
		case bytes.IndexByte(part, '+') >= 0 && plusDigits(part):
			n, ok = pctDecode(s.dec[:], part) // a form value: '+' is a space
		}
		if ok {
			scanDecoded(s, s.dec[:n], off+at, len(part)+pad)
		}
	}
}

// pctDecode undoes %XX escapes and '+' in src. ok says the result is worth
// a scan the raw text did not already give: an escape decoded to a letter
// or digit (a fully encoded value), to '@' (an e-mail address), or to a
// separator ('+' included) in text with at least minValueDigits digits (a
// card or an SSN with encoded spaces). Ordinary URL text ("a%20b",
// "%2Fpath%3Fq") is not scanned again.
func pctDecode(dst, src []byte) (int, bool) {
	n, digits := 0, 0
	var alnum, at, sep bool
	for k := 0; k < len(src); k++ {
		c := src[k]
		switch {
		case c == '%' && k+2 < len(src):
			h, ok1 := unhex(src[k+1])
			l, ok2 := unhex(src[k+2])
			if ok1 && ok2 {
				c = h<<4 | l
				k += 2
				switch {
				case isAlnum[c]:
					alnum = true
				case c == '@':
					at = true
				case c == ' ' || c == '-' || c == '.' || c == '+':
					sep = true
				}
			}
		case c == '+':
			c = ' '
			sep = true
		}
		if '0' <= c && c <= '9' {
			digits++
		}
		dst[n] = c
		n++
	}
	return n, alnum || at || (sep && digits >= minValueDigits)
}

// plusDigits reports whether b is digit groups joined by '+' (a form
// value's spaces), the only '+' text worth decoding outside escapes.
func plusDigits(b []byte) bool {
	digits := 0
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			digits++
		case c != '+' && c != '-':
			return false
		}
	}
	return digits >= minValueDigits
}

// b64Text decodes a padded base64 token the main scan leaves alone
// (shorter than minB64 characters, and at least minEncB64) when it decodes
// to printable text.
func b64Text(dst, src []byte, pad, minB64 int) (int, bool) {
	if len(src) < minEncB64 || (minB64 > 0 && len(src) >= minB64) || (len(src)+pad)%4 != 0 {
		return 0, false
	}
	var kinds uint8
	for _, c := range src {
		if !isB64Std[c] {
			return 0, false
		}
		switch {
		case 'a' <= c && c <= 'z':
			kinds |= 1
		case 'A' <= c && c <= 'Z':
			kinds |= 2
		}
	}
	if kinds != 3 {
		return 0, false // base64 of text mixes cases; words and hex do not
	}
	n := b64decode(dst, src)
	for _, c := range dst[:n] {
		if c < ' ' && c != '\t' && c != '\n' && c != '\r' || c >= 0x7f {
			return 0, false
		}
	}
	return n, n > 0
}

// scanDecoded scans bytes decoded from an encoded token as one value, at
// depth 1 like a base64 piece: nothing inside is decoded again, and hits are
// reported within the token's [base, base+n) in the enclosing buffer. For a
// Stream they count like any other finding; they are not inspected
// plaintext (Inspected is unchanged). The scanner's window state is left as
// it was.
func scanDecoded(s *Scanner, b []byte, base, n int) {
	work, wbase := s.work, s.base
	depth, decBase, decLen, decAccept := s.depth, s.decBase, s.decLen, s.decAccept
	s.depth, s.decBase, s.decLen, s.decAccept = 1, base, n, len(b)+1
	var w window
	w.scan(s, b, true)
	s.work, s.base = work, wbase
	s.depth, s.decBase, s.decLen, s.decAccept = depth, decBase, decLen, decAccept
}

// scanEncoded runs the encoded-token pass over a whole buffer (ScanAll).
// The encScan comes from a pool: it is the scanner's sink while a number
// is scanned after its label, so it would not stay on the stack.
func (s *Scanner) scanEncoded(b []byte) {
	e, _ := encPool.Get().(*encScan)
	if e == nil {
		e = new(encScan)
	}
	*e = encScan{}
	e.process(s, b, true, 0, 0)
	encPool.Put(e)
}

var encPool sync.Pool // *encScan

// mergeEncoded adds the findings inside encoded tokens to dst[from:], the
// Stream's other findings: a type found both ways is one finding (counts
// summed, evidence and hashes joined within the caps), a type found only
// encoded follows the others.
func mergeEncoded(dst []record.Finding, from int, enc []record.Finding, maxEvidence, maxHashes int) []record.Finding {
	for _, f := range enc {
		merged := false
		for k := from; k < len(dst); k++ {
			d := &dst[k]
			if d.Type != f.Type {
				continue
			}
			d.Count += f.Count
			if confRank(f.Confidence) > confRank(d.Confidence) {
				d.Confidence = f.Confidence
			}
			d.TestNumber = d.TestNumber && f.TestNumber
			d.Evidence = joinCapped(d.Evidence, f.Evidence, maxEvidence)
			d.Hashes = joinCapped(d.Hashes, f.Hashes, maxHashes)
			merged = true
			break
		}
		if !merged {
			dst = append(dst, f)
		}
	}
	return dst
}

// joinCapped appends the values of b not in a while a is shorter than
// limit.
func joinCapped(a, b []string, limit int) []string {
	for _, v := range b {
		if len(a) >= limit {
			break
		}
		dup := false
		for _, w := range a {
			if w == v {
				dup = true
				break
			}
		}
		if !dup {
			a = append(a, v)
		}
	}
	return a
}
