package classify

// maxGroups bounds the digit groups of one number ("4111 1111 1111 1111"
// has four, a 19-digit card printed 4-4-4-4-3 five); a run with more groups
// is no value. maxRunGroups bounds the groups of a run read at once (three
// printed cards on one line); a longer run is read on in pieces, each
// piece's first number being a continuation and so no candidate.
const (
	maxGroups    = 8
	maxRunGroups = 24
)

// numTok is a run of digit groups separated by single ' ', '-' or '.'.
type numTok struct {
	n      int
	gs, ge [maxRunGroups]int
	sep    [maxRunGroups]byte
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

// shape reports whether groups a.. have exactly the lengths lens and no
// other group follows before b.
func (t *numTok) shape(a, b int, lens ...int) bool {
	if b-a+1 != len(lens) {
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

// maxSpacedGroup is the longest digit group that a space joins to its
// neighbours: every printed layout (cards 4-4-4-4 and 4-6-5, phone numbers,
// SSN, NHS, Aadhaar, NPI 4-3-3) has groups of at most six digits, while a
// space after a longer run separates two numbers ("4111111111111111
// 4111-1111-1111-1111").
const maxSpacedGroup = 6

// numeric reads the run of digit groups starting at word start i (its first
// group ends at j), splits it into numbers, judges each number as a whole
// and returns the run's end. A number is a sequence of groups joined by one
// separator: '-' and '.' bind tighter than ' ', and a space joins only
// groups of up to maxSpacedGroup digits. A part of a number is never a
// candidate: no Aadhaar from twelve digits of a failed card, no card from
// the first sixteen digits of a longer number.
func (s *Scanner) numeric(buf []byte, i, j int) int {
	lim := s.lim
	t := &s.tok
	t.n = 0
	p, q := i, j
	more := false // the run goes on after the groups read
	for {
		if p != i {
			q = p
			for q < lim && isDigit(buf[q]) {
				q++
			}
		}
		t.gs[t.n], t.ge[t.n], t.sep[t.n] = p, q, 0
		t.n++
		if q+1 < lim && isNumSep(buf[q]) && isDigit(buf[q+1]) {
			if t.n == maxRunGroups {
				more = true
				break
			}
			t.sep[t.n-1] = buf[q]
			p = q + 1
			continue
		}
		break
	}
	end := t.ge[t.n-1]
	if t.n > 1 && !more && end+1 < lim && (buf[end] == '/' || buf[end] == ':') && isDigit(buf[end+1]) {
		// The last group starts a date or a time ("... 1111 12/29").
		t.n--
		end = t.ge[t.n-1]
	}
	// Amounts, versions, dates and IP addresses are most runs; no value
	// numAt knows has fewer than minValueDigits digits.
	if t.ge[t.n-1]-t.gs[0]-(t.n-1) < minValueDigits {
		return end
	}
	if t.n == 5 && t.shape(0, 4, 8, 4, 4, 4, 12) {
		return end // a UUID of digits
	}
	// The first number continues something before it: a dashed or dotted
	// identifier ("ORD-2024-..."), or a run read in pieces.
	contFirst := false
	if i >= 2 && isNumSep(buf[i-1]) && isAlnum[buf[i-2]] {
		if buf[i-1] != ' ' {
			contFirst = true
		} else if isDigit(buf[i-2]) {
			q := i - 2
			for q > s.lo && isDigit(buf[q-1]) {
				q--
			}
			contFirst = q > s.lo && !isIdent[buf[q-1]] && isNumSep(buf[q-1])
		}
	}
	// The last number ends in a word ("1234-5678-9abc", "4111...1111abc"),
	// or at the end of the view with digits still to come.
	lastOut := more || (end < lim && (isLetter(buf[end]) || buf[end] == '_')) || (end == lim && lim < len(buf) && isDigit(buf[end]))
	if t.n == 1 {
		// One group, the common case: nothing to split.
		if !contFirst && !lastOut {
			s.numAt(buf, 0, 0)
		}
		return end
	}
	for a := 0; a < t.n; {
		b := a
		for b+1 < t.n && t.joined(b) {
			b++
		}
		ok := b-a < maxGroups
		if a == 0 && contFirst || b == t.n-1 && lastOut {
			ok = false
		}
		// A number glued to another by '-' or '.' is part of an
		// identifier ("2024-05.123", "1.2-3").
		if a > 0 && t.sep[a-1] != ' ' || b < t.n-1 && t.sep[b] != ' ' {
			ok = false
		}
		if ok {
			s.numAt(buf, a, b)
		}
		a = b + 1
	}
	return end
}

// joined reports whether the separator after group k joins it to group k+1
// within one number.
func (t *numTok) joined(k int) bool {
	c := t.sep[k]
	if c != ' ' {
		// '-' and '.' join unless the neighbours use the other one.
		return (k == 0 || t.sep[k-1] == c || t.sep[k-1] == ' ') && (k+1 >= t.n-1 || t.sep[k+1] == c || t.sep[k+1] == ' ')
	}
	if t.glen(k) > maxSpacedGroup || t.glen(k+1) > maxSpacedGroup {
		return false
	}
	// A group bound by '-' or '.' on its other side belongs to that number.
	return (k == 0 || t.sep[k-1] == ' ') && (k+1 >= t.n-1 || t.sep[k+1] == ' ')
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

// numAt judges the number made of groups a..b as a whole.
func (s *Scanner) numAt(buf []byte, a, b int) {
	if s.ref != nil && s.ref.numAt != nil {
		s.ref.numAt(s, buf, a, b)
		return
	}
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
	// Every value of one group from here on needs its type's label. The
	// label is found once per number and serves every type, so it is
	// looked up before any checksum: most such numbers have none (ids,
	// amounts, timestamps in JSON arrays).
	var need uint32
	switch L {
	case 8:
		need = 1 << Passport
	case 9:
		need = 1<<ABARouting | 1<<CASIN | 1<<USITIN | 1<<USSSN | 1<<Passport
	case 10:
		need = 1<<UKNHS | 1<<USNPI | 1<<Phone
	case 12:
		need = 1 << Aadhaar
	}
	if need == 0 || s.ctxMask(buf, st)&need == 0 {
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

// numAt3 judges a number of three groups a..a+2 spanning [st, en).
func (s *Scanner) numAt3(buf []byte, a, st, en int) {
	t := &s.tok
	b := a + 2
	sep := t.sep[a]
	if !t.sameSep(a, b, " -.") {
		return
	}
	switch {
	case t.shape(a, b, 3, 2, 4):
		// SSN and ITIN: dashed or spaced alone, dotted only when labelled.
		d := s.digitsOf(buf, a, b)
		if d[0] == '9' {
			if itinValid(d) && (sep != '.' || s.ctx(buf, st, en, USITIN)) {
				s.emit(USITIN, st, en, ctxConf(s.ctx(buf, st, en, USITIN)), false, d)
			}
		} else if ssnValid(d) && (sep != '.' || s.ctx(buf, st, en, USSSN)) {
			s.emit(USSSN, st, en, ctxConf(s.ctx(buf, st, en, USSSN)), false, d)
		}
	case t.shape(a, b, 4, 4, 4):
		d := s.digitsOf(buf, a, b)
		if d[0] >= '2' && verhoeff(d) && (sep != '.' || s.ctx(buf, st, en, Aadhaar)) {
			s.emit(Aadhaar, st, en, High, false, d)
		}
	case t.shape(a, b, 3, 3, 4):
		d := s.digitsOf(buf, a, b)
		if sep != '.' && mod11NHS(d) && s.ctx(buf, st, en, UKNHS) {
			s.emit(UKNHS, st, en, High, false, d)
		} else if nanp(d) && s.ctx(buf, st, en, Phone) {
			s.emit(Phone, st, en, Medium, false, d)
		}
	case t.shape(a, b, 3, 3, 3):
		d := s.digitsOf(buf, a, b)
		if sep != '.' && sinValid(d) && s.ctx(buf, st, en, CASIN) {
			s.emit(CASIN, st, en, High, false, d)
		}
	case t.shape(a, b, 4, 3, 3):
		// NPI printed 4-3-3.
		d := s.digitsOf(buf, a, b)
		if sep != '.' && npiValid(d) && s.ctx(buf, st, en, USNPI) {
			s.emit(USNPI, st, en, High, false, d)
		}
	case t.shape(a, b, 4, 4, 1):
		// ABA routing number printed 4-4-1 (as on cheques).
		d := s.digitsOf(buf, a, b)
		if sep != '.' && abaValid(d) && s.ctx(buf, st, en, ABARouting) {
			s.emit(ABARouting, st, en, High, false, d)
		}
	}
}

// repetitive reports placeholder digit strings: one digit repeated, or
// a run of ascending or descending digits over most of the value.
func repetitive(d []byte) bool {
	same, up, down := 0, 0, 0
	for k := 1; k < len(d); k++ {
		switch {
		case d[k] == d[k-1]:
			same++
		case d[k] == d[k-1]+1 || d[k] == '0' && d[k-1] == '9':
			up++
		case d[k]+1 == d[k-1]:
			down++
		}
	}
	n := len(d) - 1
	return same*4 >= n*3 || up*4 >= n*3 || down*4 >= n*3
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
