package classify

import (
	"encoding/binary"
	"math/bits"
)

// The encoded-value pass (encoded.go) only needs to look at a few places
// of a buffer. It decodes nothing from a run of token characters shorter
// than encRunMin unless the run holds a percent escape ('%' and two hex
// digits), so shortScan and trigScan search for their candidates only in
// the spans encSpans lists:
//   - a run of at least encRunMin bytes in '%'..'z' (0x25–0x7a, the range
//     that holds every token character: base64 of both alphabets, '%',
//     '=' and '.'), which contains every longer run of token characters;
//   - the run of such bytes around a '%' followed by two hex digits;
//   - the run that reaches the end of a buffer that is not the last one (a
//     token cut there is carried to the next buffer, whatever its length).
//
// Why a shorter run decodes nothing: shortScan decodes unpadded base64 of
// minEncB64 (12) characters or more; trigScan decodes a token (a maximal
// run of token characters) when it holds a percent escape that decodes to a
// letter, digit, '@' or separator, when its last part before its padding is
// base64 of minEncB64 characters or more, or when a part holds '+' and at
// least minValueDigits (8) digits; without an escape, each needs nine token
// characters or more. A token that decodes nothing only moves the search
// past itself, so skipping it changes nothing; the reference scanner in
// ref_test.go searches whole buffers and the differential tests compare.
//
// Eight bytes are tested at a time with a range test on the word, no table
// loads and no state carried from word to word: a run of nine range bytes
// fills the first or the last four bytes of a word, which random binary
// does in one word of twenty; only those words and words holding a '%' are
// looked at byte by byte.
const encRunMin = 9

// encSpan is a stretch [a, z) of a buffer the encoded-value pass searches.
type encSpan struct{ a, z int }

// maxEncSpans bounds the spans listed per buffer; after that many, each
// pass finds the rest of them itself (encSpanIter).
const maxEncSpans = 128

// encSpans lists the stretches of b in which the encoded-value pass must
// search (final: b is the last buffer of its stream), in order, and
// returns where the search for more goes on when the list is full (-1:
// the list is complete). Spans closer than encSpanGap are joined, and once
// the spans cover a quarter of the bytes looked at (text, where most runs
// are long), the rest of the buffer is one span: the search there costs
// less than the finder.
//
// at is where b lies in the buffer the main scan read last (-1: elsewhere
// or unknown): the blocks its prefilter found clean there are skipped
// (encClean).
func (s *Scanner) encSpans(b []byte, final bool, at int) ([]encSpan, int, cleanView) {
	sp := s.espans[:0]
	cv := s.clean.view(b, at)
	if s.ref != nil && s.ref.encAll {
		return append(sp, encSpan{0, len(b)}), -1, cv
	}
	if textStart(b) {
		return append(sp, encSpan{0, len(b)}), -1, cv
	}
	covered := 0
	for i := 0; i < len(b); {
		a, z := encStretch(b, i, final, cv)
		if a < 0 {
			break
		}
		covered += z - a
		switch n := len(sp); {
		case z >= 64 && covered*4 > z:
			if n > 0 && a-sp[n-1].z < encSpanGap {
				a = sp[n-1].a
				sp = sp[:n-1]
			}
			return append(sp, encSpan{a, len(b)}), -1, cv
		case n > 0 && a-sp[n-1].z < encSpanGap:
			sp[n-1].z = z
		case n == maxEncSpans:
			return sp, a, cv
		default:
			sp = append(sp, encSpan{a, z})
		}
		i = z
	}
	return sp, -1, cv
}

// textStart reports whether the first encTextProbe bytes of b (all of a
// shorter b) hold no byte that text lacks (control bytes below '\t', bytes
// of 0x80 and above), the test the scan loop uses to enter its prefilter
// mode. Such a buffer is searched whole: in text most words fill half a
// finder word with range bytes, so the finder would look at most words
// byte by byte and then search most of them anyway.
func textStart(b []byte) bool {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	b = b[:min(len(b), encTextProbe)]
	var acc uint64
	for ; len(b) >= 8; b = b[8:] {
		x := binary.LittleEndian.Uint64(b)
		acc |= x | (x-0x09*ones)&^x // a byte < 0x09 sets its (or a higher) high bit
	}
	for _, c := range b {
		if c < 0x09 || c >= 0x80 {
			return false
		}
	}
	return acc&high == 0
}

// encTextProbe is how much of a buffer textStart looks at.
const encTextProbe = 64

// encSpanIter yields the spans of encSpans, then (when the list was
// full) finds the rest one stretch at a time.
type encSpanIter struct {
	sp    []encSpan
	next  int // where the search goes on after sp; -1 none
	b     []byte
	final bool
	cv    cleanView
}

// span returns the next span; ok is false after the last.
func (it *encSpanIter) span() (r encSpan, ok bool) {
	if len(it.sp) > 0 {
		r, it.sp = it.sp[0], it.sp[1:]
		return r, true
	}
	if it.next < 0 || it.next >= len(it.b) {
		return r, false
	}
	a, z := encStretch(it.b, it.next, it.final, it.cv)
	if a < 0 {
		it.next = -1
		return r, false
	}
	it.next = z
	return encSpan{a, z}, true
}

// encSpanGap joins spans closer than this: searching a short gap costs
// less than starting another span.
const encSpanGap = 32

// encStretch returns the next stretch [a, z) at or after i in which the
// encoded-value pass must search, or a < 0 when there is none. Runs are
// counted from i on, so i must not lie inside a run of range bytes that
// holds a relevant token before i (encSpans passes 0 or the end of the
// previous stretch, a byte outside the range). final says b is the last
// buffer of its stream; cv the bytes that need no search.
func encStretch(b []byte, i int, final bool, cv cleanView) (int, int) {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
		lo4  = 0x0000000080808080
		hi4  = 0x8080808000000000
	)
	p := i
	for ; p+8 <= len(b); p += 8 {
		if p = encSkip(b, p, cv); p+8 > len(b) {
			break
		}
		x := binary.LittleEndian.Uint64(b[p:])
		// High bit of each byte in '%'..'z': x ≥ 0x25 and x ≤ 0x7a, both
		// on the low seven bits (no borrow crosses bytes), and x < 0x80.
		in := ((x | high) - 0x25*ones) & ((0x80+0x7a)*ones - (x &^ high)) &^ x & high
		y := x ^ 0x25*ones
		pct := (y - ones) &^ y & high // '%' (the lowest flag is exact)
		if in&lo4 != lo4 && in&hi4 != hi4 && pct == 0 {
			continue
		}
		// In order: the run through the word's first byte, percent
		// escapes, the run through its last byte.
		if in&lo4 == lo4 {
			if a, z := encRunAround(b, i, p); z-a >= encRunMin {
				return a, z
			}
		}
		for ; pct != 0; pct &= pct - 1 {
			q := p + bits.TrailingZeros64(pct)>>3
			if b[q] == '%' && q+2 < len(b) && isHexByte[b[q+1]] && isHexByte[b[q+2]] {
				return encRunAround(b, i, q)
			}
		}
		if in&hi4 == hi4 {
			if a, z := encRunAround(b, i, p+7); z-a >= encRunMin {
				return a, z
			}
		}
	}
	// The last bytes, one at a time, with the run that reaches into them.
	run := 0
	for q := p; q > i && inEncRange(b[q-1]); q-- {
		run++
	}
	for ; p < len(b); p++ {
		c := b[p]
		if c == '%' && p+2 < len(b) && isHexByte[b[p+1]] && isHexByte[b[p+2]] {
			return encRunAround(b, i, p)
		}
		if inEncRange(c) {
			run++
			continue
		}
		if run >= encRunMin {
			return p - run, p
		}
		run = 0
	}
	if run > 0 && (run >= encRunMin || !final) {
		return len(b) - run, len(b)
	}
	return -1, -1
}

// encSkip returns the first word position from p on (in steps of eight)
// whose word may hold a half word of range bytes or a '%', or one past the
// last whole word. It keeps the loop apart from encStretch's other state,
// so everything stays in registers. The clean parts of blocks (cv) are
// stepped over: the word grid moves, but it still covers every byte
// outside them, and no run of nine token characters touches those.
func encSkip(b []byte, p int, cv cleanView) int {
	if cv.c != nil {
		for p+8 <= len(b) {
			if w := p + cv.off; cv.c.clean(w>>6) && (w&63 >= 8 || cv.c.clean(w>>6-1)) {
				p += 64 - w&63
				continue
			}
			if encWordHit(binary.LittleEndian.Uint64(b[p:])) {
				return p
			}
			p += 8
		}
		return p
	}
	for w := b[min(p, len(b)):]; len(w) >= 8; w = w[8:] {
		if encWordHit(binary.LittleEndian.Uint64(w)) {
			return p
		}
		p += 8
	}
	return p
}

// encWordHit reports whether the little-endian word x may hold a half
// word of range bytes or a '%' (encSkip's test, small enough to inline).
func encWordHit(x uint64) bool {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
		lo4  = 0x0000000080808080
	)
	out := ^(((x | high) - 0x25*ones) & ((0x80+0x7a)*ones - (x &^ high)) &^ x) & high
	y := x ^ 0x25*ones
	// Bit 63: a half word all in the range (x-1 of zero).
	return (((out&lo4)-1)|((out>>32)-1))>>63|((y-ones)&^y&high) != 0
}

func inEncRange(c byte) bool { return c >= '%' && c <= 'z' }

// encRunAround returns the run of range bytes around q (empty when b[q] is
// outside the range), not before i. A run longer than encRunLong is
// reported as reaching the end of b: the caller searches the rest whole
// (text is mostly such runs, and walking them would cost what searching
// them costs).
func encRunAround(b []byte, i, q int) (int, int) {
	if !inEncRange(b[q]) {
		return q, q
	}
	a, z := q, q+1
	for a > i && inEncRange(b[a-1]) {
		a--
	}
	for z < len(b) && inEncRange(b[z]) {
		if z-a >= encRunLong {
			return a, len(b)
		}
		z++
	}
	return a, z
}

// encRunLong: see encRunAround.
const encRunLong = 64

// isHexByte marks hexadecimal digits.
var isHexByte = func() (t [256]bool) {
	for _, c := range []byte("0123456789abcdefABCDEF") {
		t[c] = true
	}
	return t
}()

// encClean records the 64-byte blocks of a buffer that the main scan's
// prefilter found clean (blockMask): no run of nine token characters
// touches bytes 8 to 63 of the block, nor its first eight bytes when the
// block before is clean too, and it holds no percent escape. The
// encoded-value pass, which runs over the same bytes right after
// (ScanAll, Stream), skips those bytes instead of reading them again.
// Blocks are numbered from the buffer's start; blocks past
// encCleanBlocks are not recorded.
type encClean struct {
	buf  []byte // the recorded buffer; nil: none
	bits [encCleanBlocks / 64]uint64
}

// encCleanBlocks bounds the blocks recorded (a 2 MiB buffer), so the
// record is 4 KiB in every Scanner.
const encCleanBlocks = 1 << 15

// reset starts a record for buf, clearing the last one's bits (as many
// words as its buffer had blocks: a word per 4 KiB).
func (c *encClean) reset(buf []byte) {
	clear(c.bits[:min(len(c.bits), len(c.buf)>>12+1)])
	c.buf = buf
}

// set records that the block starting at p (a multiple of 64) is clean.
func (c *encClean) set(p int) {
	k := p >> 6
	if k >= encCleanBlocks {
		return
	}
	c.bits[k>>6] |= 1 << (k & 63)
}

// clean reports whether block k was recorded clean.
func (c *encClean) clean(k int) bool {
	return uint(k) < encCleanBlocks && c.bits[k>>6]>>(k&63)&1 != 0
}

// cleanView is a record seen from a buffer that lies at off in the
// recorded one; c is nil when there is none.
type cleanView struct {
	c   *encClean
	off int
}

// view returns the record as seen from b, which must lie at at in the
// recorded buffer (at < 0: no record applies).
func (c *encClean) view(b []byte, at int) cleanView {
	if at < 0 || len(b) == 0 || at+len(b) > len(c.buf) || &c.buf[at] != &b[0] {
		return cleanView{}
	}
	return cleanView{c: c, off: at}
}
