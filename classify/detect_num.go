package classify

// maxGroups bounds the digit groups of one numeric token ("4111 1111 1111
// 1111" has four); longer sequences are split into tokens of this size.
const maxGroups = 8

// numTok is a run of digit groups separated by single ' ', '-' or '.'.
type numTok struct {
	n      int
	gs, ge [maxGroups]int
	sep    [maxGroups]byte
}

func (t *numTok) glen(k int) int { return t.ge[k] - t.gs[k] }

// sameSep reports whether the separators between groups a..b are all one of
// the allowed bytes and equal.
func (t *numTok) sameSep(a, b int, allowed string) bool {
	c := t.sep[a]
	ok := false
	for k := 0; k < len(allowed); k++ {
		ok = ok || allowed[k] == c
	}
	if !ok {
		return false
	}
	for k := a; k < b; k++ {
		if t.sep[k] != c {
			return false
		}
	}
	return true
}

func (t *numTok) shape(a int, lens ...int) bool {
	if a+len(lens) > t.n {
		return false
	}
	for k, l := range lens {
		if t.glen(a+k) != l {
			return false
		}
	}
	return true
}

// digitsOf copies the digits of groups a..b into the scratch buffer.
func (s *Scanner) digitsOf(buf []byte, a, b int) []byte {
	t := &s.tok
	n := 0
	for k := a; k <= b; k++ {
		for p := t.gs[k]; p < t.ge[k] && n < len(s.nb); p++ {
			s.nb[n] = buf[p]
			n++
		}
	}
	return s.nb[:n]
}

// minValueDigits is the fewest digits of any value numAt reports (an
// 8-digit passport number; cards have 12 or more, SSNs and SINs 9).
const minValueDigits = 8

// numValueLen reports whether a lone digit group of length L can be a value
// (numAt): every other length only starts values of several groups.
func numValueLen(L int) bool {
	return L >= 8 && L <= 19 && L != 11
}

func isNumSep(c byte) bool { return c == ' ' || c == '-' || c == '.' }

// numeric parses the numeric token starting at word start i, whose first
// group of digits ends at j, tries every detector on every group
// sub-sequence, and returns the token's end.
func (s *Scanner) numeric(buf []byte, i, j int) int {
	lim := s.lim
	t := &s.tok
	t.n = 0
	p, q := i, j
	for {
		if p != i {
			q = p
			for q < lim && isDigit(buf[q]) {
				q++
			}
		}
		t.gs[t.n], t.ge[t.n], t.sep[t.n] = p, q, 0
		t.n++
		if t.n < maxGroups && q+1 < lim && isNumSep(buf[q]) && isDigit(buf[q+1]) {
			t.sep[t.n-1] = buf[q]
			p = q + 1
			continue
		}
		break
	}
	end := t.ge[t.n-1]
	// A token continuing a dashed or dotted identifier ("ORD-2024-..."),
	// a UUID, or a dashed token glued to letters at its end ("1234-5678-9abc")
	// is an identifier, not a number.
	if i >= 2 && (buf[i-1] == '-' || buf[i-1] == '.') && isAlnum[buf[i-2]] {
		return end
	}
	if t.n == 5 && t.shape(0, 8, 4, 4, 4, 12) {
		return end
	}
	if end < lim && (isLetter(buf[end]) || buf[end] == '_') {
		if t.n > 1 && t.sep[t.n-2] == '-' {
			return end
		}
		t.n-- // "123abc": the last group is part of a word
	}
	// Amounts, versions, dates and IP addresses are most tokens; no value
	// numAt knows has fewer than minValueDigits digits.
	if t.n == 0 || t.ge[t.n-1]-t.gs[0]-(t.n-1) < minValueDigits {
		return end
	}
	for a := 0; a < t.n; {
		if b := s.numAt(buf, a); b >= a {
			a = b + 1
		} else {
			a++
		}
	}
	return end
}

func cardShape(t *numTok, a, b int) bool {
	if !t.sameSep(a, b, " -") {
		return false
	}
	ng := b - a + 1
	if ng == 3 && t.glen(a) == 4 && t.glen(a+1) == 6 && (t.glen(b) == 5 || t.glen(b) == 4) {
		return true // Amex 4-6-5, Diners 4-6-4
	}
	if ng < 4 {
		return false // 4-4-4 alone is an Aadhaar layout, not a printed card
	}
	for k := a; k < b; k++ {
		if t.glen(k) != 4 {
			return false
		}
	}
	return t.glen(b) >= 1 && t.glen(b) <= 4
}

func cardOK(d []byte) bool {
	return len(d) >= 12 && len(d) <= 19 && cardBrandOK(d) && luhn(d)
}

func ssnValid(d []byte) bool {
	if len(d) != 9 {
		return false
	}
	area := prefixN(d, 3)
	group := int(d[3]-'0')*10 + int(d[4]-'0')
	serial := prefixN(d[5:], 4)
	if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
		return false
	}
	switch string(d) {
	case "078051120", "219099999", "457555462":
		return false
	}
	if area == 987 && group == 65 && serial >= 4320 && serial <= 4329 {
		return false
	}
	return true
}

func itinValid(d []byte) bool {
	if len(d) != 9 || d[0] != '9' {
		return false
	}
	g := int(d[3]-'0')*10 + int(d[4]-'0')
	if string(d[:5]) == "98765" && d[5] == '4' && d[6] == '3' && d[7] == '2' {
		return false // advertising numbers 987-65-4320..4329
	}
	return (g >= 50 && g <= 65) || (g >= 70 && g <= 88) || (g >= 90 && g <= 92) || (g >= 94 && g <= 99)
}

// nanp checks a 10-digit North American number: area code and exchange
// start with 2-9.
func nanp(d []byte) bool {
	return len(d) == 10 && d[0] >= '2' && d[3] >= '2'
}

func ctxConf(ok bool) Confidence {
	if ok {
		return High
	}
	return Medium
}

// numAt tries the detectors whose value starts at group a. It returns the
// last group consumed, or -1.
func (s *Scanner) numAt(buf []byte, a int) int {
	t := &s.tok
	st := t.gs[a]
	// No detector's value starts with a group of another length; groups of
	// 1, 3 and 4 digits only start values of several groups. The scan's
	// shortcuts rely on this: keep numValueLen and minValueDigits in step.
	switch t.glen(a) {
	case 1:
		if buf[st] != '1' || t.n < a+4 {
			return -1
		}
	case 3, 4:
		if t.n < a+3 {
			return -1
		}
	case 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19:
	default:
		return -1
	}
	for b := min(t.n-1, a+4); b > a; b-- {
		if !cardShape(t, a, b) {
			continue
		}
		if d := s.digitsOf(buf, a, b); cardOK(d) {
			s.emit(CreditCard, st, t.ge[b], High, isTestCard(d), d)
			return b
		}
	}
	L := t.glen(a)
	if L >= 12 && L <= 19 {
		d := s.digitsOf(buf, a, a)
		// 14-16 digits are the lengths nearly all cards have. Other lengths
		// collide with EAN-13/UPC barcodes, 19-digit trace IDs and 13-digit
		// millisecond times, so unseparated they need card context.
		if cardOK(d) && !looksLikeMillis(d) && (L >= 14 && L <= 16 || s.ctx(buf, st, t.ge[a], CreditCard)) {
			s.emit(CreditCard, st, t.ge[a], High, isTestCard(d), d)
			return a
		}
	}
	if t.shape(a, 3, 2, 4) && t.sameSep(a, a+2, "- ") {
		d, en := s.digitsOf(buf, a, a+2), t.ge[a+2]
		if d[0] == '9' {
			if itinValid(d) {
				s.emit(USITIN, st, en, ctxConf(s.ctx(buf, st, en, USITIN)), false, d)
				return a + 2
			}
		} else if ssnValid(d) {
			s.emit(USSSN, st, en, ctxConf(s.ctx(buf, st, en, USSSN)), false, d)
			return a + 2
		}
	}
	if t.shape(a, 4, 4, 4) && t.sameSep(a, a+2, " -") {
		d, en := s.digitsOf(buf, a, a+2), t.ge[a+2]
		if d[0] >= '2' && verhoeff(d) {
			s.emit(Aadhaar, st, en, High, false, d)
			return a + 2
		}
	}
	if t.shape(a, 3, 3, 4) && t.sameSep(a, a+2, " -.") {
		d, en := s.digitsOf(buf, a, a+2), t.ge[a+2]
		if t.sep[a] != '.' && mod11NHS(d) && s.ctx(buf, st, en, UKNHS) {
			s.emit(UKNHS, st, en, High, false, d)
			return a + 2
		}
		if nanp(d) && s.ctx(buf, st, en, Phone) {
			s.emit(Phone, st, en, Medium, false, d)
			return a + 2
		}
	}
	if t.shape(a, 3, 3, 3) && t.sameSep(a, a+2, " -") {
		d, en := s.digitsOf(buf, a, a+2), t.ge[a+2]
		if sinValid(d) && s.ctx(buf, st, en, CASIN) {
			s.emit(CASIN, st, en, High, false, d)
			return a + 2
		}
	}
	if t.shape(a, 1, 3, 3, 4) && buf[st] == '1' && t.sameSep(a, a+3, " -.") {
		d, en := s.digitsOf(buf, a, a+3), t.ge[a+3]
		if nanp(d[1:]) && s.ctx(buf, st, en, Phone) {
			s.emit(Phone, st, en, Medium, false, d)
			return a + 3
		}
	}
	en := t.ge[a]
	switch L {
	case 8:
		if s.ctx(buf, st, en, Passport) {
			s.emit(Passport, st, en, Medium, false, s.digitsOf(buf, a, a))
			return a
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
		default:
			return -1
		}
		return a
	case 10:
		d := s.digitsOf(buf, a, a)
		switch {
		case mod11NHS(d) && s.ctx(buf, st, en, UKNHS):
			s.emit(UKNHS, st, en, High, false, d)
		case npiValid(d) && s.ctx(buf, st, en, USNPI):
			s.emit(USNPI, st, en, High, false, d)
		case nanp(d) && s.ctx(buf, st, en, Phone):
			s.emit(Phone, st, en, Medium, false, d)
		default:
			return -1
		}
		return a
	case 12:
		d := s.digitsOf(buf, a, a)
		if d[0] >= '2' && verhoeff(d) && s.ctx(buf, st, en, Aadhaar) {
			s.emit(Aadhaar, st, en, High, false, d)
			return a
		}
	}
	return -1
}

// phoneIntl handles "+<country code> <number>" (E.164 with optional
// separators): 8 to 15 digits, context-gated.
func (s *Scanner) phoneIntl(buf []byte, i int) int {
	if i > 0 && (isAlnum[buf[i-1]]) {
		return i + 1
	}
	s.view(buf, i)
	p := i + 1
	if p >= s.lim || buf[p] < '1' || buf[p] > '9' {
		return i + 1
	}
	n := 0
	last := p
	for p < s.lim && p-i < 24 {
		c := buf[p]
		if isDigit(c) {
			if n < len(s.nb) {
				s.nb[n] = c
			}
			n++
			p++
			last = p
			continue
		}
		if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') && p+1 < s.lim && (isDigit(buf[p+1]) || buf[p+1] == '(') {
			p++
			continue
		}
		break
	}
	if n < 8 || n > 15 || (last < s.lim && (isAlnum[buf[last]] || buf[last] == '_')) {
		return last
	}
	if !s.ctx(buf, i, last, Phone) {
		return last
	}
	s.emit(Phone, i, last, Medium, false, s.nb[:n])
	return last
}

// phoneParen handles the North American "(415) 555-2671" form.
func (s *Scanner) phoneParen(buf []byte, i int) int {
	s.view(buf, i)
	b := buf[i:s.lim]
	if len(b) < 13 || !isDigit(b[1]) || !isDigit(b[2]) || !isDigit(b[3]) || b[4] != ')' {
		return i + 1
	}
	p := 5
	if b[p] == ' ' {
		p++
	}
	if p+8 > len(b) {
		return i + 1
	}
	for k := 0; k < 3; k++ {
		if !isDigit(b[p+k]) {
			return i + 1
		}
	}
	if b[p+3] != '-' && b[p+3] != ' ' && b[p+3] != '.' {
		return i + 1
	}
	for k := 4; k < 8; k++ {
		if !isDigit(b[p+k]) {
			return i + 1
		}
	}
	e := p + 8
	if e < len(b) && (isAlnum[b[e]] || b[e] == '_') {
		return i + 1
	}
	d := s.nb[:10]
	copy(d, b[1:4])
	copy(d[3:], b[p:p+3])
	copy(d[6:], b[p+4:p+8])
	if !nanp(d) || !s.ctx(buf, i, i+e, Phone) {
		return i + 1
	}
	s.emit(Phone, i, i+e, Medium, false, d)
	return i + e
}
