package classify

// ibanLen holds the IBAN length per country code (SWIFT IBAN registry),
// indexed by (first letter, second letter); 0 means no IBAN country.
var ibanLen [26 * 26]uint8

func init() {
	const reg = "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24DE22DJ27DK18DO28" +
		"EE20EG29ES24FI18FK18FO18FR27GB22GE22GI23GL18GR27GT28HN28HR21HU28IE22IL23IQ23IS26IT27" +
		"JO30KW30KZ20LB28LC32LI21LT20LU20LV21LY25MC27MD24ME22MK19MN20MR27MT31MU30NI28NL18NO15" +
		"OM23PK24PL28PS29PT25QA29RO24RS22RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25SV28TL23TN24" +
		"TR26UA29VA22VG24XK20YE30"
	for k := 0; k+4 <= len(reg); k += 4 {
		ibanLen[int(reg[k]-'A')*26+int(reg[k+1]-'A')] = (reg[k+2]-'0')*10 + reg[k+3] - '0'
	}
}

// ibanBBAN is the BBAN structure per country from the SWIFT IBAN registry
// (n digits, a upper-case letters, c alphanumerics). It keeps hexadecimal
// identifiers such as "be26086376bb4c6a" (16 characters, Belgian length,
// 1 in 97 pass mod 97) from reading as IBANs.
var ibanBBAN = map[string]string{
	"AD": "8n12c", "AE": "3n16n", "AL": "8n16c", "AT": "16n", "AZ": "4a20c", "BA": "16n", "BE": "12n", "BG": "4a6n8c",
	"BH": "4a14c", "BR": "23n1a1c", "CH": "5n12c", "CR": "18n", "CY": "8n16c", "CZ": "20n", "DE": "18n", "DK": "14n",
	"DO": "4c20n", "EE": "16n", "EG": "25n", "ES": "20n", "FI": "14n", "FO": "14n", "FR": "10n11c2n", "GB": "4a14n",
	"GE": "2a16n", "GI": "4a15c", "GL": "14n", "GR": "7n16c", "GT": "4c20c", "HR": "17n", "HU": "24n", "IE": "4a14n",
	"IL": "19n", "IQ": "4a15n", "IS": "22n", "IT": "1a10n12c", "JO": "4a4n18c", "KW": "4a22c", "KZ": "3n13c", "LB": "4n20c",
	"LC": "4a24c", "LI": "5n12c", "LT": "16n", "LU": "3n13c", "LV": "4a13c", "MC": "10n11c2n", "MD": "20c", "ME": "18n",
	"MK": "3n10c2n", "MR": "23n", "MT": "4a5n18c", "MU": "4a19n3a", "NL": "4a10n", "NO": "11n", "PK": "4a16c", "PL": "24n",
	"PS": "4a21c", "PT": "21n", "QA": "4a21c", "RO": "4a16c", "RS": "18n", "SA": "2n18c", "SC": "4a20n3a", "SE": "20n",
	"SI": "15n", "SK": "20n", "SM": "1a10n12c", "TN": "20n", "TR": "5n17c", "UA": "6n19c", "VG": "4a16n", "XK": "16n",
}

// bbanOK checks the BBAN (upper-cased) against the country's structure;
// countries without an entry only get the length and mod 97 checks.
func bbanOK(country string, b []byte) bool {
	spec, ok := ibanBBAN[country]
	if !ok {
		return true
	}
	p := 0
	for k := 0; k < len(spec); {
		n := 0
		for k < len(spec) && isDigit(spec[k]) {
			n = n*10 + int(spec[k]-'0')
			k++
		}
		if k >= len(spec) {
			return false
		}
		kind := spec[k]
		k++
		for ; n > 0; n-- {
			if p >= len(b) {
				return false
			}
			c := b[p]
			p++
			switch kind {
			case 'n':
				if !isDigit(c) {
					return false
				}
			case 'a':
				if !isUpper(c) {
					return false
				}
			}
		}
	}
	return p == len(b)
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 32
	}
	return c
}

// iban parses an IBAN at i, compact or printed in groups of four separated
// by single spaces or dashes, upper or lower case, and checks its length,
// BBAN structure and mod 97. A value with an IBAN's structure that fails
// mod 97 is judged as an IBAN (not reported) and consumed whole, so its
// digit groups are never read as a card or an Aadhaar number; the return
// value is then the end of the value too.
func (s *Scanner) iban(buf []byte, i int) int {
	c0, c1 := upper(buf[i]), upper(buf[i+1])
	if !isUpper(c0) || !isUpper(c1) {
		return 0
	}
	L := int(ibanLen[int(c0-'A')*26+int(c1-'A')])
	if L == 0 {
		return 0
	}
	p, n := i, 0
	var sep byte
	lowerCase := buf[i] >= 'a'
	for n < L && p < s.lim {
		c := buf[p]
		if isAlnum[c] {
			// An IBAN is written in one case; mixed case is a random token.
			if isLetter(c) && (c >= 'a') != lowerCase {
				return 0
			}
			s.nb[n] = upper(c)
			n++
			p++
			continue
		}
		if (c == ' ' || c == '-') && n > 0 && n%4 == 0 && p+1 < s.lim && isAlnum[buf[p+1]] && (sep == 0 || sep == c) {
			sep = c
			p++
			continue
		}
		break
	}
	if n != L || (p < s.lim && (isAlnum[buf[p]] || buf[p] == '_')) {
		return 0
	}
	if !isDigit(s.nb[2]) || !isDigit(s.nb[3]) || !bbanOK(string(s.nb[:2]), s.nb[4:n]) {
		return 0
	}
	if !ibanValid(s.nb[:n]) {
		return p
	}
	s.emit(IBAN, i, p, High, false, s.nb[:n])
	return p
}

// mbiLetter is the Medicare Beneficiary Identifier alphabet (no S L O I B Z).
func mbiLetter(c byte) bool {
	return isUpper(c) && c != 'S' && c != 'L' && c != 'O' && c != 'I' && c != 'B' && c != 'Z'
}

// mbi parses a Medicare Beneficiary Identifier, compact ("1EG4TE5MK73") or
// dashed ("1EG4-TE5-MK73"), in upper or lower case (one case); it has no
// check digit, so context is required.
func (s *Scanner) mbi(buf []byte, i, j int) int {
	n, p := 0, i
	var cases uint8
	for p < s.lim && n < 11 {
		c := buf[p]
		if isAlnum[c] {
			if isLetter(c) {
				cases |= 1 << (c >> 5 & 1) // bit 0 upper, bit 1 lower
			}
			s.nb[n] = upper(c)
			n++
			p++
			continue
		}
		if c == '-' && (n == 4 || n == 7) && p+1 < s.lim {
			p++
			continue
		}
		break
	}
	if n != 11 || (p < s.lim && isIdent[buf[p]]) {
		return 0
	}
	if p-i != 11 && p-i != 13 || cases == 3 {
		return 0
	}
	d := s.nb[:11]
	if d[0] < '1' || d[0] > '9' || !mbiLetter(d[1]) || !(mbiLetter(d[2]) || isDigit(d[2])) || !isDigit(d[3]) ||
		!mbiLetter(d[4]) || !(mbiLetter(d[5]) || isDigit(d[5])) || !isDigit(d[6]) ||
		!mbiLetter(d[7]) || !mbiLetter(d[8]) || !isDigit(d[9]) || !isDigit(d[10]) {
		return 0
	}
	if !s.ctx(buf, i, p, USMBI) {
		return 0
	}
	s.emit(USMBI, i, p, Medium, false, d)
	return p
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

func allUpper(b []byte) bool {
	for _, c := range b {
		if !isUpper(c) {
			return false
		}
	}
	return len(b) > 0
}

// alphaWord handles identifiers that start with a letter: IBAN, PAN, NINO,
// DEA, passport numbers and ICD-10 codes. j is the end of the alphanumeric
// word. It returns the end of a match or 0.
func (s *Scanner) alphaWord(buf []byte, i, j int) int {
	L := j - i
	w := buf[i:j]
	if L >= 4 && isLetter(w[0]) && isLetter(w[1]) && isDigit(w[2]) && isDigit(w[3]) {
		if e := s.iban(buf, i); e > 0 {
			return e
		}
	}
	if !isUpper(w[0]) || (j < s.lim && buf[j] == '_') {
		return 0
	}
	switch L {
	case 10: // Indian PAN: AAAPL1234C, 4th letter is the holder type.
		if allUpper(w[:5]) && allDigits(w[5:9]) && isUpper(w[9]) && isPANHolder(w[3]) && s.ctx(buf, i, j, INPAN) {
			s.emit(INPAN, i, j, Medium, false, w)
			return j
		}
	case 9:
		if e := s.ninoAt(buf, i); e > 0 {
			return e
		}
		if isDEAPrefix(w[0], w[1]) && deaValid(w[2:]) && s.ctx(buf, i, j, USDEA) {
			s.emit(USDEA, i, j, High, false, w)
			return j
		}
		if (allDigits(w[1:]) || (isUpper(w[1]) && allDigits(w[2:]))) && s.ctx(buf, i, j, Passport) {
			s.emit(Passport, i, j, Medium, false, w)
			return j
		}
	case 8:
		if allDigits(w[1:]) && s.ctx(buf, i, j, Passport) {
			s.emit(Passport, i, j, Medium, false, w)
			return j
		}
	case 2:
		if j+1 < s.lim && buf[j] == ' ' && isDigit(buf[j+1]) {
			if e := s.ninoAt(buf, i); e > 0 {
				return e
			}
		}
	}
	if L >= 3 && L <= 7 && icd10Category(w) {
		e := j
		if L == 3 && j+1 < s.lim && buf[j] == '.' && isAlnum[buf[j+1]] {
			e = j + 1
			for e < s.lim && e-j <= 5 && isAlnum[buf[e]] {
				e++
			}
			if e-j > 5 {
				return 0
			}
		}
		for _, c := range buf[i+3 : e] {
			if c != '.' && !isDigit(c) && !isUpper(c) {
				return 0
			}
		}
		if e < s.lim && isIdent[buf[e]] {
			return 0
		}
		if s.ctx(buf, i, e, ICD10) {
			s.emit(ICD10, i, e, Medium, false, buf[i:e])
			return e
		}
	}
	return 0
}

func isPANHolder(c byte) bool {
	switch c {
	case 'A', 'B', 'C', 'F', 'G', 'H', 'J', 'L', 'P', 'T':
		return true
	}
	return false
}

func isDEAPrefix(a, b byte) bool {
	switch a {
	case 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'P', 'R', 'S', 'T', 'U', 'X':
	default:
		return false
	}
	return isUpper(b) || b == '9'
}

// isNINO checks a compact UK National Insurance number (HMRC rules: no D F I
// Q U V, no O second, no BG GB KN NK NT TN ZZ prefixes, suffix A-D).
func isNINO(w []byte) bool {
	if len(w) != 9 || !isUpper(w[0]) || !isUpper(w[1]) || !allDigits(w[2:8]) || w[8] < 'A' || w[8] > 'D' {
		return false
	}
	switch w[0] {
	case 'D', 'F', 'I', 'Q', 'U', 'V':
		return false
	}
	switch w[1] {
	case 'D', 'F', 'I', 'O', 'Q', 'U', 'V':
		return false
	}
	switch string(w[:2]) {
	case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
		return false
	}
	return true
}

// ninoAt handles a UK National Insurance number at i, compact
// ("QQ123456C"), spaced in pairs ("QQ 12 34 56 C") or as 2-6-1
// ("QQ 123456 C"), in upper or lower case (one case).
func (s *Scanner) ninoAt(buf []byte, i int) int {
	w := s.nb[:9]
	n, p := 0, i
	var cases uint8
	spaced := false
	for p < s.lim && n < 9 {
		c := buf[p]
		if isAlnum[c] {
			if isLetter(c) {
				cases |= 1 << (c >> 5 & 1)
			}
			w[n] = upper(c)
			n++
			p++
			continue
		}
		// A space after the prefix, between digit pairs, or before the
		// suffix letter; either in every place or only around the digits.
		if c == ' ' && (n == 2 || n == 4 || n == 6 || n == 8) && p+1 < s.lim && isAlnum[buf[p+1]] {
			if n == 2 {
				spaced = true
			} else if !spaced {
				break
			}
			p++
			continue
		}
		break
	}
	if n != 9 || cases == 3 || p < s.lim && isIdent[buf[p]] {
		return 0
	}
	if L := p - i; L != 9 && L != 11 && L != 13 {
		return 0
	}
	if !isNINO(w) || !s.ctx(buf, i, p, UKNINO) {
		return 0
	}
	s.emit(UKNINO, i, p, Medium, false, w)
	return p
}

// lowerID handles the identifiers that are also written in lower case
// (the word [i, j) has no upper-case letter): Medicare MBIs and UK NINOs.
func (s *Scanner) lowerID(buf []byte, i, j int) int {
	if isDigit(buf[i]) {
		return s.mbi(buf, i, j)
	}
	return s.ninoAt(buf, i)
}

// lowerIDMaybe is the scan loop's one-line filter before lowerIDShape: the
// word's length and the byte after it (next) fit a lower-case NINO or MBI
// ("ab 12…", "ab123456c", "1eg4-…", "1eg4te5mk73"). It is small enough
// to inline, so most words leave the loop without a call.
func lowerIDMaybe(L int, kinds uint8, next byte) bool {
	if kinds == lowerOnly {
		return L == 2 && next == ' '
	}
	return L == 9 || L == 11 || L == 4 && next == '-'
}

// lowerIDShape is the cheap test the scan loop makes before lowerID: an
// MBI-shaped word (11 characters from a digit, or 4 and a dash), a
// NINO-shaped one (9 characters from a letter) or a two-letter word
// followed by a space and a digit (a spaced NINO).
func lowerIDShape(buf []byte, i, j, lim int, kinds uint8) bool {
	L := j - i
	if kinds == lowerOnly {
		return L == 2 && j+1 < lim && buf[j] == ' ' && isDigit(buf[j+1])
	}
	if isDigit(buf[i]) {
		// MBI: digit, letter, letter or digit, digit (then '-' and a
		// letter when dashed).
		return kinds != digitBit && L >= 4 && isLetter(buf[i+1]) && isDigit(buf[i+3]) &&
			(L == 11 || L == 4 && j+1 < lim && buf[j] == '-' && isLetter(buf[j+1]))
	}
	// NINO: two letters, six digits, a letter.
	return L == 9 && isLetter(buf[i+1]) && isDigit(buf[i+2]) && isLetter(buf[i+8])
}
