package classify

// runOf returns the end of the run of bytes in tbl starting at p, bounded by
// lim.
func runOf(buf []byte, p, lim int, tbl *[256]bool) int {
	for p < lim && tbl[buf[p]] {
		p++
	}
	return p
}

// secret tries the credential formats that start with a fixed prefix at the
// word start i (j ends the alphanumeric word). It returns the end of a match
// or 0.
func (s *Scanner) secret(buf []byte, i, j int) int {
	b := buf[i:s.lim]
	switch buf[i] {
	case 'A':
		if j-i == 20 && (hasPrefix(b, "AKIA") || hasPrefix(b, "ASIA") || hasPrefix(b, "ABIA") || hasPrefix(b, "ACCA")) &&
			runOf(buf, i, j, &isAWS) == j && !(j < s.lim && isIdent[buf[j]]) {
			s.emit(AWSAccessKey, i, j, High, false, b[:20])
			return j
		}
	case 'g':
		if len(b) >= 40 && b[0] == 'g' && b[1] == 'h' && b[3] == '_' {
			switch b[2] {
			case 'p', 'o', 'u', 's', 'r':
				e := runOf(buf, i+4, s.lim, &isAlnum)
				if e-i == 40 && !(e < s.lim && isIdent[buf[e]]) && githubClassicValid(b[4:40]) {
					s.emit(GitHubToken, i, e, High, false, b[:40])
					return e
				}
			}
		}
		if hasPrefix(b, "github_pat_") {
			p := i + 11
			e1 := runOf(buf, p, s.lim, &isAlnum)
			if e1-p == 22 && e1 < s.lim && buf[e1] == '_' {
				e2 := runOf(buf, e1+1, s.lim, &isAlnum)
				if e2-e1-1 == 59 && !(e2 < s.lim && isIdent[buf[e2]]) {
					s.emit(GitHubToken, i, e2, High, false, buf[i:e2])
					return e2
				}
			}
		}
	case 's':
		if hasPrefix(b, "sk-ant-") {
			e := runOf(buf, i+7, s.lim, &isTok)
			body := buf[i:e]
			if (hasPrefix(body, "sk-ant-api03-") || hasPrefix(body, "sk-ant-admin01-")) && len(body) >= 90 && len(body) <= 140 &&
				body[len(body)-2] == 'A' && body[len(body)-1] == 'A' {
				s.emit(AnthropicAPIKey, i, e, High, false, body)
				return e
			}
			return 0
		}
		if hasPrefix(b, "sk-") {
			e := runOf(buf, i+3, s.lim, &isTok)
			body := buf[i:e]
			if (hasPrefix(body, "sk-proj-") || hasPrefix(body, "sk-svcacct-") || hasPrefix(body, "sk-admin-")) && len(body) >= 48 {
				s.emit(OpenAIAPIKey, i, e, High, false, body)
				return e
			}
			if len(body) == 51 && string(body[23:31]) == "T3BlbkFJ" && runOf(body, 3, 51, &isAlnum) == 51 {
				s.emit(OpenAIAPIKey, i, e, High, false, body)
				return e
			}
			return 0
		}
		return s.stripe(buf, i)
	case 'r':
		return s.stripe(buf, i)
	case 'x':
		if len(b) > 5 && hasPrefix(b, "xox") && b[4] == '-' {
			switch b[3] {
			case 'b', 'p', 'a', 'r', 's':
				e := runOf(buf, i+5, s.lim, &isSlack)
				d := runOf(buf, i+5, e, &isDigitTbl)
				if e-i >= 24 && d-i-5 >= 6 && d < e && buf[d] == '-' && !(e < s.lim && buf[e] == '_') {
					s.emit(SlackToken, i, e, High, false, buf[i:e])
					return e
				}
			}
		}
	case 'e':
		if hasPrefix(b, "eyJ") {
			return s.jwt(buf, i)
		}
	}
	return 0
}

func (s *Scanner) stripe(buf []byte, i int) int {
	b := buf[i:s.lim]
	if len(b) < 8 || b[1] != 'k' || b[2] != '_' || !(hasPrefix(b[3:], "live_") || hasPrefix(b[3:], "test_")) {
		return 0
	}
	e := runOf(buf, i+8, s.lim, &isAlnum)
	if e-i-8 < 24 || e-i-8 > 247 || (e < s.lim && isIdent[buf[e]]) {
		return 0
	}
	s.emit(StripeKey, i, e, High, false, buf[i:e])
	return e
}

// jwt checks three base64url parts whose header decodes to a JSON object
// naming an "alg".
func (s *Scanner) jwt(buf []byte, i int) int {
	e1 := runOf(buf, i, s.lim, &isB64URL)
	if e1-i < 16 || e1 >= s.lim || buf[e1] != '.' {
		return 0
	}
	e2 := runOf(buf, e1+1, s.lim, &isB64URL)
	if e2-e1-1 < 4 || e2 >= s.lim || buf[e2] != '.' {
		return 0
	}
	e3 := runOf(buf, e2+1, s.lim, &isB64URL)
	if e3 < s.lim && buf[e3] == '.' {
		return 0 // four parts: not a JWS compact serialization
	}
	hdr := buf[i:min(e1, i+300)]
	// Not s.dec: that may hold the decoded base64 piece being scanned.
	n := b64decode(s.jdec[:], hdr)
	h := s.jdec[:n]
	if n < 8 || h[0] != '{' || !containsStr(h, `"alg"`) {
		return 0
	}
	s.emit(JWT, i, e3, High, false, buf[i:e3])
	return e3
}

func containsStr(b []byte, p string) bool {
	for k := 0; k+len(p) <= len(b); k++ {
		if string(b[k:k+len(p)]) == p {
			return true
		}
	}
	return false
}

// pem finds "-----BEGIN <label>PRIVATE KEY-----" (and PGP private key
// blocks). The span is the header; the label stands for the value in
// evidence and the first base64 characters of the body are hashed.
func (s *Scanner) pem(buf []byte, i int) int {
	b := buf[i:min(len(buf), i+s.e.hold)]
	if !hasPrefix(b, "-----BEGIN ") {
		return i + 1
	}
	s.view(buf, i)
	p := 11
	for p < len(b) && p < 60 && (isUpper(b[p]) || b[p] == ' ' || isDigit(b[p])) {
		p++
	}
	if !hasPrefix(b[p:], "-----") {
		return i + 1
	}
	label := b[11:p]
	if !(len(label) >= 11 && string(label[len(label)-11:]) == "PRIVATE KEY") && string(label) != "PGP PRIVATE KEY BLOCK" {
		return i + 1
	}
	e := p + 5
	n := 0
	for q := e; q < len(b) && n < 64; q++ {
		c := b[q]
		if isB64[c] || c == '=' {
			s.nb[n] = c
			n++
		} else if c == '\\' && q+1 < len(b) && (b[q+1] == 'n' || b[q+1] == 'r') {
			q++
		} else if c != '\n' && c != '\r' && c != ' ' && c != '\t' && !(n == 0 && c == ':') {
			if n > 0 {
				break
			}
		}
	}
	s.h = hit{t: PrivateKey, start: i, end: i + e, conf: High, norm: s.nb[:n], label: pemLabel(label)}
	if s.e.enabled[PrivateKey] {
		s.send()
	}
	return i + e
}

// pemLabel returns a static string for common labels so evidence never
// allocates per match.
func pemLabel(l []byte) string {
	for _, k := range [...]string{"RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "OPENSSH PRIVATE KEY",
		"ENCRYPTED PRIVATE KEY", "PRIVATE KEY", "PGP PRIVATE KEY BLOCK"} {
		if string(l) == k {
			return k
		}
	}
	return "PRIVATE KEY"
}

// email is triggered by '@': the local part is read backwards, the domain
// forwards; the top-level domain must be alphabetic and not a file
// extension ("icon@2x.png").
func (s *Scanner) email(buf []byte, at int) int {
	s.view(buf, at)
	st := at
	for st > s.lo && at-st < 64 && isLocal[buf[st-1]] {
		st--
	}
	for st < at && !isAlnum[buf[st]] {
		st++
	}
	if st == at {
		return at + 1
	}
	p := at + 1
	labels := 0
	lastStart := p
	for p < s.lim && p-at < 254 {
		q := p
		for q < s.lim && (isAlnum[buf[q]] || buf[q] == '-') && q-p < 63 {
			q++
		}
		if q == p || buf[p] == '-' || buf[q-1] == '-' {
			break
		}
		labels++
		lastStart = p
		p = q
		if p+1 < s.lim && buf[p] == '.' && isAlnum[buf[p+1]] {
			p++
			continue
		}
		break
	}
	if labels < 2 {
		return at + 1
	}
	tld := buf[lastStart:p]
	if len(tld) < 2 || len(tld) > 24 || !allLetters(tld) || isFileExt(tld) {
		return at + 1
	}
	if p < s.lim && (isIdent[buf[p]] || buf[p] == '@') {
		return at + 1
	}
	n := 0
	for _, c := range buf[st:p] {
		if n < len(s.nb) {
			s.nb[n] = lower(c)
			n++
		}
	}
	s.emit(Email, st, p, High, false, s.nb[:n])
	return p
}

func allLetters(b []byte) bool {
	for _, c := range b {
		if !isLetter(c) {
			return false
		}
	}
	return true
}

func isFileExt(t []byte) bool {
	var l [8]byte
	if len(t) > len(l) {
		return false
	}
	for k, c := range t {
		l[k] = lower(c)
	}
	switch string(l[:len(t)]) {
	case "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "js", "css", "map", "json", "html", "txt", "woff", "ttf", "mjs", "ts":
		return true
	}
	return false
}
