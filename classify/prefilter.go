package classify

import "math/bits"

// The scan loop's prefilter. Most bytes of binary and compressed data start
// no candidate: region would step over them one at a time, branching on a
// byte class that random data makes unpredictable. Once region has seen a
// byte no text holds, it asks candIter for the next position that can
// start a candidate, found eight bytes per step from a table of byte
// flags; every position skipped is one at which region's loop provably
// does nothing but step on.
//
// The condition is derived from the detectors' minimum shapes (the
// differential test in ref_test.go checks it against the loop without the
// prefilter on random, numeric, corpus and fuzzed input). A position can
// start a candidate when it holds
//   - ':' or '=' (generic key/value) after a letter, digit, space, quote or
//     one of "%+-.:=?_" (keyNameEnd reads the key name back over those),
//     and '@' (e-mail) after the same (the local part: letters, digits and
//     ".%+-_");
//   - '+' (international phone) or '(' (national phone) before a digit, and
//     '-' (PEM header) before '-' (all three before a digit, '+' or '-');
//   - a word start (a letter or digit after a byte that is neither) whose
//     word has eight or more characters (the shortest value without
//     separators: passport numbers; cards, IBANs, NINOs, keys and base64
//     blobs are longer), or is an upper-case letter, a digit and a third
//     character (ICD-10 codes, "A01"), or follows a slash or a backslash
//     (Slack webhook paths, escapes). The mask takes five characters for
//     eight, and counts a word after '_' (which region skips as part of an
//     identifier): both cost less than checking exactly;
//   - the last character of a word followed by one of "+/-_ ." and then a
//     letter, digit or another of those (numbers in groups, grouped IBANs,
//     secret prefixes such as "sk-" or "xoxb-", spaced NINOs "AB 12",
//     base64 with '+' or '/'): the candidate is that word's start, found
//     by walking back over its letters and digits.
//
// A shorter word without those neighbours decides nothing in region, and
// every longer shape that starts with it needs one of the neighbours above.
// The letter after an escape ("\nAB") needs no flag: region reaches it
// from the escape's word start, which is one. Custom detectors run their
// own regular expressions (customRegion) and are not filtered here.
const (
	fAlnum  = 1 << iota // letter or digit
	fUpper              // upper-case letter
	fDigit              // digit
	fNear               // "+/-_ ." after a word
	fSlash              // '/' or '\' before a word
	fKeyEnd             // may end a key name before ':' or '='
	fPunct              // '+' '(' '-': a trigger before a digit, '+' or '-'
	fAssign             // ':' '=' '@': a trigger after fKeyEnd
)

// Bit numbers of the flags.
const (
	sAlnum  = 0
	sUpper  = 1
	sDigit  = 2
	sNear   = 3
	sSlash  = 4
	sKeyEnd = 5
	sPunct  = 6
	sAssign = 7
)

// candFlags is built from the byte values, not from isAlnum: package
// variables are initialised before the init function that fills isAlnum.
var candFlags = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if isLetter(b) || isDigit(b) {
			t[c] |= fAlnum | fKeyEnd
		}
		if isDigit(b) {
			t[c] |= fDigit
		}
		if isUpper(b) {
			t[c] |= fUpper
		}
		switch b {
		case '_':
			t[c] |= fNear | fKeyEnd
		case '+':
			t[c] |= fNear | fPunct | fKeyEnd
		case '/':
			t[c] |= fNear | fSlash
		case '-':
			t[c] |= fNear | fPunct | fKeyEnd
		case ' ', '.':
			t[c] |= fNear | fKeyEnd
		case '\\':
			t[c] |= fSlash
		case '(':
			t[c] |= fPunct
		case '@':
			t[c] |= fAssign
		case ':', '=':
			t[c] |= fAssign | fKeyEnd
		case '"', '\'', '?', '%':
			t[c] |= fKeyEnd
		}
	}
	return t
}()

const lsb = 0x0101010101010101

// flags8 returns the flags of buf[p:p+8], one byte each (the first in the
// low byte); bytes outside buf have none.
func flags8(buf []byte, p int) uint64 {
	if p >= 0 && p+8 <= len(buf) {
		b := buf[p : p+8 : p+8]
		return uint64(candFlags[b[0]]) | uint64(candFlags[b[1]])<<8 | uint64(candFlags[b[2]])<<16 | uint64(candFlags[b[3]])<<24 |
			uint64(candFlags[b[4]])<<32 | uint64(candFlags[b[5]])<<40 | uint64(candFlags[b[6]])<<48 | uint64(candFlags[b[7]])<<56
	}
	var v uint64
	for k := 0; k < 8; k++ {
		if q := p + k; q >= 0 && q < len(buf) {
			v |= uint64(candFlags[buf[q]]) << (8 * k)
		}
	}
	return v
}

// candMask returns, in bit 0 of each byte, the positions of the block whose
// flags are v that can start a candidate (word ends before "+/-_ ." are
// marked at the word's last character); pv and nv are the flags of the
// blocks before and after it.
func candMask(pv, v, nv uint64) uint64 {
	p1 := v<<8 | pv>>56 // flags of the byte before each position
	n1 := v>>8 | nv<<56 // of the bytes after
	n2 := v>>16 | nv<<48
	n3 := v>>24 | nv<<40
	n4 := v>>32 | nv<<32
	return (v>>sAssign&(p1>>sKeyEnd) | v>>sPunct&(n1>>sDigit|n1>>sPunct&(n1>>sNear)) | v&(n1>>sNear)&(n2|n2>>sNear) |
		v&^p1&(p1>>sSlash|v>>sUpper&(n1>>sDigit)&n2|n1&n2&n3&n4)) & lsb
}

// candIter walks the candidate mask block by block. Blocks are aligned to
// multiples of eight in the buffer and the mask of the current block is
// kept, so asking again from a nearby position costs a few bit operations.
type candIter struct {
	p      int    // start of the current block; -1 before the first
	m      uint64 // candidate positions of block p (bit 0 of each byte)
	v, nv  uint64 // flags of blocks p and p+8
	buflen int
}

// next returns the first position in [i, to) that can start a candidate,
// or to. A word of up to four characters is marked at its end (before
// "+/-_ ."), so marks up to three bytes past to are looked at too: such a
// word may start before to.
func (c *candIter) next(buf []byte, i, to int) int {
	if i >= to {
		return i
	}
	if c.p < 0 || len(buf) != c.buflen || i < c.p || i >= c.p+16 {
		c.p = i &^ 7
		c.buflen = len(buf)
		c.v = flags8(buf, c.p)
		c.nv = flags8(buf, c.p+8)
		c.m = candMask(flags8(buf, c.p-8), c.v, c.nv)
	}
	if i < c.p+8 {
		if m := c.m >> (8 * (i - c.p)); m != 0 {
			return min(to, wordStart(buf, i, i+bits.TrailingZeros64(m)>>3))
		}
	}
	// The steady state: eight table loads and the mask per block. (A
	// table of byte pairs, four loads, measured slower: 128 KiB do not
	// stay in the L1 cache.)
	p, v, nv := c.p, c.v, c.nv
	for {
		pv := v
		p += 8
		if p >= to+3 {
			c.p, c.v, c.nv, c.m = p-8, pv, nv, 0
			return to
		}
		v = nv
		if p+16 <= len(buf) {
			b := buf[p+8 : p+16 : p+16]
			nv = uint64(candFlags[b[0]]) | uint64(candFlags[b[1]])<<8 | uint64(candFlags[b[2]])<<16 | uint64(candFlags[b[3]])<<24 |
				uint64(candFlags[b[4]])<<32 | uint64(candFlags[b[5]])<<40 | uint64(candFlags[b[6]])<<48 | uint64(candFlags[b[7]])<<56
		} else {
			nv = flags8(buf, p+8)
		}
		// candMask, inlined by hand (the compiler does not).
		p1, n1, n2, n3, n4 := v<<8|pv>>56, v>>8|nv<<56, v>>16|nv<<48, v>>24|nv<<40, v>>32|nv<<32
		m := (v>>sAssign&(p1>>sKeyEnd) | v>>sPunct&(n1>>sDigit|n1>>sPunct&(n1>>sNear)) | v&(n1>>sNear)&(n2|n2>>sNear) |
			v&^p1&(p1>>sSlash|v>>sUpper&(n1>>sDigit)&n2|n1&n2&n3&n4)) & lsb
		if m == 0 {
			continue
		}
		c.p, c.v, c.nv, c.m = p, v, nv, m
		if m >>= 8 * max(0, i-p); m != 0 {
			return min(to, wordStart(buf, i, max(i, p)+bits.TrailingZeros64(m)>>3))
		}
	}
}

// wordStart moves a candidate at q back to the start of its word (not
// before i): a word end before "+/-_ ." is marked at its last character.
func wordStart(buf []byte, i, q int) int {
	for q > i && q < len(buf) && isAlnum[buf[q]] && isAlnum[buf[q-1]] {
		q--
	}
	return q
}

// allDigits8 reports whether the eight bytes of v are all ASCII digits.
func allDigits8(v uint64) bool {
	const msb = 0x8080808080808080
	x := v &^ msb
	return (x+(0x80-'0')*lsb)&^(x+(0x7f-'9')*lsb)&^v&msb == msb
}
