package classify

// Byte classes drive the single pass over the input: most bytes are class
// cNone or continue a word and cost one table load.
const (
	cNone uint8 = iota
	cDigit
	cUpper
	cLower
	cAt     // '@' e-mail
	cAssign // ':' '=' key/value (generic API keys)
	cDash   // '-' PEM header
	cPlus   // '+' international phone
	cParen  // '(' national phone
)

var (
	cls      [256]uint8
	isAlnum  [256]bool
	isIdent  [256]bool // alnum or '_': a word continues through it
	isB64    [256]bool // standard and URL-safe base64 alphabets
	b64Val   [256]uint8
	isLocal  [256]bool // e-mail local part
	isValChr [256]bool // generic key values
	isCtl    [256]bool // bytes that make decoded base64 "binary"

	isTok      [256]bool // [A-Za-z0-9_-]
	isAWS      [256]bool // [A-Z0-9]
	isSlack    [256]bool // [A-Za-z0-9-]
	isB64URL   [256]bool // [A-Za-z0-9_-]
	isDigitTbl [256]bool
	lowerTbl   [256]byte
	kindBit    [256]uint8 // 1<<cls for letters and digits, 0 otherwise
	// secretFirst marks lower-case letters that start a secret prefix
	// (ghp_, github_pat_, sk-, sk_, rk_, xox).
	secretFirst = [256]bool{'g': true, 's': true, 'r': true, 'x': true}
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		switch {
		case b >= '0' && b <= '9':
			cls[c] = cDigit
		case b >= 'A' && b <= 'Z':
			cls[c] = cUpper
		case b >= 'a' && b <= 'z':
			cls[c] = cLower
		}
		isAlnum[c] = cls[c] != cNone
		isIdent[c] = isAlnum[c] || b == '_'
		isB64[c] = isAlnum[c] || b == '+' || b == '/' || b == '-' || b == '_'
		isLocal[c] = isAlnum[c] || b == '.' || b == '_' || b == '%' || b == '+' || b == '-'
		isValChr[c] = isAlnum[c] || b == '_' || b == '-' || b == '+' || b == '/' || b == '=' || b == '.' || b == '~'
		isCtl[c] = (b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7f
		b64Val[c] = 0xff
		isTok[c] = isAlnum[c] || b == '_' || b == '-'
		isAWS[c] = isDigit(b) || isUpper(b)
		isSlack[c] = isAlnum[c] || b == '-'
		isB64URL[c] = isTok[c]
		isDigitTbl[c] = isDigit(b)
		lowerTbl[c] = lower(b)
		if isAlnum[c] {
			kindBit[c] = 1 << cls[c]
		}
	}
	cls['@'] = cAt
	cls[':'] = cAssign
	cls['='] = cAssign
	cls['-'] = cDash
	cls['+'] = cPlus
	cls['('] = cParen
	for i := 0; i < 64; i++ {
		b64Val["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i]] = uint8(i)
	}
	b64Val['-'] = 62
	b64Val['_'] = 63
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLetter(c byte) bool {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
}
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// hasPrefix reports whether b starts with the literal p (case-sensitive).
func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// hasFoldPrefix reports whether b starts with the lower-case literal p,
// ignoring ASCII case in b.
func hasFoldPrefix(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lower(b[i]) != p[i] {
			return false
		}
	}
	return true
}

// b64decode decodes standard or URL-safe base64 (no padding needed) into
// dst, stopping at the first byte outside the alphabet or at '='. It returns
// the decoded length; dst must hold len(src)*3/4+2 bytes.
func b64decode(dst, src []byte) int {
	// Whole quanta first, four characters to three bytes; a quantum with a
	// byte outside the alphabet (0xff in b64Val) is left to the loop below,
	// which restarts cleanly on a quantum boundary.
	n, k := 0, 0
	for ; k+4 <= len(src) && n+3 <= len(dst); k += 4 {
		a, b, c, d := b64Val[src[k]], b64Val[src[k+1]], b64Val[src[k+2]], b64Val[src[k+3]]
		if (a|b|c|d)&0x80 != 0 {
			break
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst[n], dst[n+1], dst[n+2] = byte(v>>16), byte(v>>8), byte(v)
		n += 3
	}
	var acc uint32
	bits := 0
	for _, c := range src[k:] {
		v := b64Val[c]
		if v == 0xff {
			break
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			if n < len(dst) {
				dst[n] = byte(acc >> uint(bits))
				n++
			}
		}
	}
	return n
}
