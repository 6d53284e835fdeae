package classify

import "math/bits"

// The scan loop's prefilter. Most bytes of binary and compressed data start
// no candidate: region would step over them one at a time, branching on a
// byte class that random data makes unpredictable. Once region has seen a
// byte no text holds, it asks candIter for the next position that can
// start a candidate, found 64 bytes per step from a table of byte flags
// (candPlane, blockMask); every position skipped is one at which region's
// loop provably does nothing but step on.
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

// candPlane holds candFlags transposed for 64-byte blocks: candPlane[k][c]
// has flag j of byte c in bit 8j+k. ORing the entries of the eight bytes
// of a group (byte k from table k) gives one word whose byte j holds flag j
// of the eight bytes; transposing eight such words (blockMask) gives, for
// each flag, one word with a bit per byte of the block. The candidate
// condition is then evaluated for 64 positions at once, with shifts by
// bits. (The version before evaluated it for eight positions at a time,
// a byte per flag set, and ran at ~1.2 GB/s on random bytes against ~1.6:
// the condition cost as much as the table loads.)
var candPlane = func() (t [8][256]uint64) {
	for c := 0; c < 256; c++ {
		var s uint64
		for j := 0; j < 8; j++ {
			if candFlags[c]>>j&1 != 0 {
				s |= 1 << (8 * j)
			}
		}
		for k := 0; k < 8; k++ {
			t[k][c] = s << k
		}
	}
	return t
}()

// candPlanes is &candPlane in a variable: taken from a constant address,
// the compiler keeps the address of each of the eight rows in a register
// of its own, and blockMask then spilled its planes to the stack.
var candPlanes = &candPlane

// blockCands returns the positions of buf[p:p+64] that can start a
// candidate (the condition above), bit q for byte p+q; bytes outside buf
// have no flags. clean reports a block the encoded-value pass need not
// search past its first eight bytes (blockMask); it is false near the
// ends of buf.
func blockCands(buf []byte, p int) (m uint64, clean bool) {
	if p > 0 && p+72 <= len(buf) {
		return blockMask(buf[p-1 : p+72 : p+72])
	}
	// Near the ends of buf: the same on a copy padded with zero bytes,
	// which have no flags.
	var t [73]byte
	for q := max(p-1, 0); q < min(p+72, len(buf)); q++ {
		t[q-p+1] = buf[q]
	}
	m, _ = blockMask(t[:])
	return m, false
}

// blockMask returns the positions of b[1:65] that can start a candidate:
// the condition above for 64 positions at once, one bit per byte. b[0]
// is the byte before the block and b[65:73] the bytes after it.
//
// clean reports that no run of nine or more flagged bytes lies in b[1:73]
// and that the block holds no quote, '?' or '%' before two letters or
// digits. Every token character of the encoded-value pass has a flag, so
// then no run of nine token characters touches b[9:65] (one that did
// would have nine bytes in b[1:73]) and the block holds no percent
// escape: the pass skips those bytes, and the block's first eight too
// when the block before is clean as well (a run touching them would have
// nine bytes in that block's window or in this one's). See encClean.
func blockMask(b []byte) (m uint64, clean bool) {
	b = b[:73:73]
	var A, U, D, N, Sl, KE, P, As uint64 // flag order: sAlnum ... sAssign
	if hasPlanes64 {
		var v [8]uint64
		planes64(&b[1], &v)
		A, U, D, N, Sl, KE, P, As = v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
	} else {
		A, U, D, N, Sl, KE, P, As = planesOf(b)
	}
	nx := group8(candPlanes, b[65:73:73])
	prev := candFlags[b[0]]
	// Neighbours: the byte before (prev) and the bytes after (nx, whose
	// byte j holds flag j of the next eight bytes).
	pA := A<<1 | uint64(prev>>sAlnum&1)
	pKE := KE<<1 | uint64(prev>>sKeyEnd&1)
	pSl := Sl<<1 | uint64(prev>>sSlash&1)
	nA := nx >> (8 * sAlnum) & 0xff
	A1, A2, A3, A4 := A>>1|nA<<63, A>>2|nA<<62, A>>3|nA<<61, A>>4|nA<<60
	D1 := D>>1 | nx>>(8*sDigit)<<63
	nN := nx >> (8 * sNear) & 0xff
	N1, N2 := N>>1|nN<<63, N>>2|nN<<62
	P1 := P>>1 | nx>>(8*sPunct)<<63
	m = As&pKE | P&(D1|P1&N1) | A&N1&(A2|N2) | A&^pA&(pSl|U&D1&A2|A1&A2&A3&A4)
	// Runs of nine flagged bytes from each position, by doubling, the
	// next eight bytes in nX.
	X := A | N | Sl | KE | P | As
	nX := nx | nx>>32
	nX |= nX >> 16
	nX = (nX | nX>>8) & 0xff
	r2, r2n := X&(X>>1|nX<<63), nX&(nX>>1)
	r4, r4n := r2&(r2>>2|r2n<<62), r2n&(r2n>>2)
	r8 := r4 & (r4>>4 | r4n<<60)
	r9 := r8 & (X>>8 | nX<<56)
	pct := KE &^ (A | N | As) & A1 & A2 // quotes, '?' and '%' before two letters or digits
	return m, r9|pct == 0
}

// planesOf returns, for each flag (in the order of its bit), a word with a
// bit per byte of b[1:65], bit q for byte 1+q: the eight groups' flags
// from candPlane, transposed. It is the portable form of planes64.
func planesOf(b []byte) (v0, v1, v2, v3, v4, v5, v6, v7 uint64) {
	b = b[:73:73]
	t := candPlanes
	v0 = group8(t, b[1:9:9])
	v1 = group8(t, b[9:17:17])
	v2 = group8(t, b[17:25:25])
	v3 = group8(t, b[25:33:33])
	v4 = group8(t, b[33:41:41])
	v5 = group8(t, b[41:49:49])
	v6 = group8(t, b[49:57:57])
	v7 = group8(t, b[57:65:65])
	// The transpose of the 8×8 matrix of bytes (row g is v_g), by
	// halves, quarters and eighths, in registers: byte g of v_j becomes
	// what byte j of v_g was, so v_j has flag j of every byte of the
	// block, bit q for byte q. (A loop over an array kept it in memory
	// and cost twice as much.)
	const m32, m16, m8 = 0x00000000ffffffff, 0x0000ffff0000ffff, 0x00ff00ff00ff00ff
	x := (v0>>32 ^ v4) & m32
	v0, v4 = v0^x<<32, v4^x
	x = (v1>>32 ^ v5) & m32
	v1, v5 = v1^x<<32, v5^x
	x = (v2>>32 ^ v6) & m32
	v2, v6 = v2^x<<32, v6^x
	x = (v3>>32 ^ v7) & m32
	v3, v7 = v3^x<<32, v7^x
	x = (v0>>16 ^ v2) & m16
	v0, v2 = v0^x<<16, v2^x
	x = (v1>>16 ^ v3) & m16
	v1, v3 = v1^x<<16, v3^x
	x = (v4>>16 ^ v6) & m16
	v4, v6 = v4^x<<16, v6^x
	x = (v5>>16 ^ v7) & m16
	v5, v7 = v5^x<<16, v7^x
	x = (v0>>8 ^ v1) & m8
	v0, v1 = v0^x<<8, v1^x
	x = (v2>>8 ^ v3) & m8
	v2, v3 = v2^x<<8, v3^x
	x = (v4>>8 ^ v5) & m8
	v4, v5 = v4^x<<8, v5^x
	x = (v6>>8 ^ v7) & m8
	v6, v7 = v6^x<<8, v7^x
	return v0, v1, v2, v3, v4, v5, v6, v7
}

// group8 returns the flags of the eight bytes of w, byte j holding flag j
// of each (bit k for w[k]); t is candPlanes.
func group8(t *[8][256]uint64, w []byte) uint64 {
	w = w[:8:8]
	return t[0][w[0]] | t[1][w[1]] | t[2][w[2]] | t[3][w[3]] |
		t[4][w[4]] | t[5][w[5]] | t[6][w[6]] | t[7][w[7]]
}

// candIter walks the candidate mask block by block. Blocks are 64 bytes,
// aligned to multiples of 64 in the buffer, and the mask of the current
// block is kept, so asking again from a nearby position costs a few bit
// operations.
type candIter struct {
	p      int    // start of the current block; -1 before the first
	m      uint64 // candidate positions of block p
	buflen int
	rec    *encClean // where clean blocks are recorded; nil: nowhere
}

// next returns the first position in [i, to) that can start a candidate,
// or to. A word of up to four characters is marked at its end (before
// "+/-_ ."), so marks up to three bytes past to are looked at too: such a
// word may start before to.
func (c *candIter) next(buf []byte, i, to int) int {
	if i >= to {
		return i
	}
	if c.p < 0 || len(buf) != c.buflen || i < c.p || i >= c.p+64 {
		c.p = i &^ 63
		c.buflen = len(buf)
		var clean bool
		c.m, clean = blockCands(buf, c.p)
		if clean && c.rec != nil {
			c.rec.set(c.p)
		}
	}
	if m := c.m >> (i - c.p); m != 0 {
		return min(to, wordStart(buf, i, i+bits.TrailingZeros64(m)))
	}
	for p := c.p + 64; p < to+3; p += 64 {
		var m uint64
		var clean bool
		if p+72 <= len(buf) {
			m, clean = blockMask(buf[p-1 : p+72 : p+72]) // blockCands, without the call
		} else {
			m, clean = blockCands(buf, p)
		}
		if clean && c.rec != nil {
			c.rec.set(p)
		}
		if m != 0 {
			c.p, c.m = p, m
			return min(to, wordStart(buf, i, p+bits.TrailingZeros64(m)))
		}
	}
	return to
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
