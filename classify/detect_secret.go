package classify

import "encoding/json"

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
		if j-i == 20 && awsPrefix(b) && runOf(buf, i, j, &isAWS) == j && !(j < s.lim && isIdent[buf[j]]) {
			if placeholder(b[4:20]) {
				return j
			}
			s.emit(AWSAccessKey, i, j, High, false, b[:20])
			return j
		}
	case 'T':
		if i > 0 && buf[i-1] == '/' {
			return s.slackWebhook(buf, i)
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
				if e2-e1-1 == 59 && !(e2 < s.lim && isIdent[buf[e2]]) && !placeholder(buf[p:e1]) && !placeholder(buf[e1+1:e2]) {
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
			return s.openai(buf, i)
		}
		return s.stripe(buf, i)
	case 'r':
		return s.stripe(buf, i)
	case 'x':
		if hasPrefix(b, "xox") || hasPrefix(b, "xapp-") {
			return s.slack(buf, i)
		}
	case 'e':
		// '{' then '"', ' ', '\n', '\r' or '\t': "ey" or "ew".
		if len(b) > 2 && (b[1] == 'y' || b[1] == 'w') {
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

// jwt checks a JWS compact serialization: three base64url parts whose
// header decodes to a JSON object naming an "alg" (written compact or with
// whitespace). A token longer than the view is reported from its start
// once its header and the start of its payload are seen, and its rest is
// skipped (longTok).
func (s *Scanner) jwt(buf []byte, i int) int {
	e1 := runOf(buf, i, s.lim, &isB64URL)
	if e1-i < 16 || e1 >= s.lim || buf[e1] != '.' {
		return 0
	}
	e2 := runOf(buf, e1+1, s.lim, &isB64URL)
	e3 := e2
	if e2 >= len(buf) {
		return 0 // the input ends after two parts
	}
	if e2 < s.lim {
		if e2-e1-1 < 4 || buf[e2] != '.' {
			return 0
		}
		e3 = runOf(buf, e2+1, s.lim, &isB64URL)
		if e3 < s.lim && buf[e3] == '.' {
			return 0 // more parts: not a JWS compact serialization
		}
	}
	// Not s.dec: that may hold the decoded base64 piece being scanned.
	n := b64decode(s.jdec[:], buf[i:e1])
	h := s.jdec[:n]
	if n < 8 || (e1-i)%4 == 1 || !jwtHeader(h) {
		return 0
	}
	if e3 == s.lim && s.lim < len(buf) {
		s.longTok = true
	}
	s.emit(JWT, i, e3, High, false, buf[i:e3])
	return e3
}

// jwtHeader reports whether h is a JSON object with an "alg" member.
func jwtHeader(h []byte) bool {
	p := 0
	for p < len(h) && (h[p] == ' ' || h[p] == '\n' || h[p] == '\r' || h[p] == '\t') {
		p++
	}
	return p < len(h) && h[p] == '{' && containsStr(h, `"alg"`) && json.Valid(h)
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
	n := pemBody(b[e:], s.nb[:64])
	// A header line alone (a string constant, a template, "..." or
	// "<your key>" as the body) is not a key: the body's first line has
	// 64 characters, 16 are required.
	if n < 16 || placeholder(s.nb[:n]) {
		return i + e
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
	if len(tld) < 2 || len(tld) > 24 || !allLetters(tld) && !punycodeTLD(tld) || isFileExt(tld) {
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

// pemBody copies the first base64 characters of a PEM body (after RFC 1421
// headers such as "Proc-Type:", across line breaks, literal or escaped as
// "\\n") into dst and returns how many there were.
func pemBody(b, dst []byte) int {
	q := 0
	skipBreaks := func() {
		for q < len(b) {
			switch {
			case b[q] == '\n' || b[q] == '\r' || b[q] == ' ' || b[q] == '\t':
				q++
			case b[q] == '\\' && q+1 < len(b) && (b[q+1] == 'n' || b[q+1] == 'r'):
				q += 2
			default:
				return
			}
		}
	}
	skipBreaks()
	// Encapsulated headers: "Name: value" lines up to an empty line.
	for h := 0; h < 4; h++ {
		e := q
		for e < len(b) && (isAlnum[b[e]] || b[e] == '-') {
			e++
		}
		if e == q || e >= len(b) || b[e] != ':' {
			break
		}
		for e < len(b) && b[e] != '\n' && !(b[e] == '\\' && e+1 < len(b) && b[e+1] == 'n') {
			e++
		}
		q = e
		skipBreaks()
	}
	n := 0
	for q < len(b) && n < len(dst) {
		c := b[q]
		switch {
		case isAlnum[c] || c == '+' || c == '/' || c == '=':
			dst[n] = c
			n++
			q++
		case c == '\n' || c == '\r' || c == '\\' && q+1 < len(b) && (b[q+1] == 'n' || b[q+1] == 'r'):
			skipBreaks()
		default:
			return n
		}
	}
	return n
}

// awsPrefix reports the prefixes of AWS access key and unique ids (IAM
// "Unique identifiers": AKIA access keys, ASIA temporary keys, AIDA users,
// AROA roles, AGPA groups, AIPA instance profiles, ANPA/ANVA managed
// policies and versions, ABIA/ACCA service and context keys).
func awsPrefix(b []byte) bool {
	if len(b) < 4 || b[0] != 'A' {
		return false
	}
	switch string(b[:4]) {
	case "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA", "ASCA":
		return true
	}
	return false
}

// placeholder reports values that stand for a secret in documentation,
// templates and masked logs: the documentation examples' "EXAMPLE", one
// character repeated six times in a row ("XXXXXX", "000000", "######"),
// or a run of eight consecutive characters ("ABCDEFGH", "12345678").
// Random keys of these lengths have such runs with negligible probability.
func placeholder(v []byte) bool {
	same, seq := 1, 1
	for k := 1; k < len(v); k++ {
		if v[k] == v[k-1] {
			same++
			if same >= 6 {
				return true
			}
		} else {
			same = 1
		}
		if v[k] == v[k-1]+1 && isAlnum[v[k]] {
			seq++
			if seq >= 8 {
				return true
			}
		} else {
			seq = 1
		}
	}
	for k := 0; k+7 <= len(v); k++ {
		if (v[k] == 'E' || v[k] == 'e') && hasFoldPrefix(v[k:], "example") {
			return true
		}
	}
	return false
}

// openai checks "sk-" keys. OpenAI keys (legacy sk-<20>T3BlbkFJ<20>,
// sk-proj-, sk-svcacct-, sk-admin- and the older sk-<name>-) carry the
// marker T3BlbkFJ (base64 of "OpenAI") with at least 20 random characters
// on each side; keys without it, or shorter, are other vendors' or fakes.
// Project and service-account keys of 48 characters or more are still
// accepted without the marker (their prefix is specific, and the inspection
// scenario of the pipeline tests carries one); admin keys are not: fake
// "sk-admin-" strings were the false positives seen on test corpora.
func (s *Scanner) openai(buf []byte, i int) int {
	e := runOf(buf, i+3, s.lim, &isTok)
	body := buf[i:e]
	if len(body) > 300 || e < s.lim && isIdent[buf[e]] {
		return 0
	}
	if (hasPrefix(body, "sk-proj-") || hasPrefix(body, "sk-svcacct-")) && len(body) >= 48 && !placeholder(body[8:]) {
		s.emit(OpenAIAPIKey, i, e, High, false, body)
		return e
	}
	m := -1
	for k := 3; k+8 <= len(body); k++ {
		if body[k] == 'T' && string(body[k:k+8]) == "T3BlbkFJ" {
			m = k
			break
		}
	}
	if m < 23 || len(body)-m-8 < 20 || placeholder(body[3:]) {
		return 0
	}
	s.emit(OpenAIAPIKey, i, e, High, false, body)
	return e
}

// slack checks Slack tokens of every family: xoxb- (bot), xoxp- (user),
// xoxa- and xoxr- (workspace access and refresh), xoxs-, xoxo-, xoxc-,
// xoxe- and xoxe.xoxb-/xoxe.xoxp- (rotation), and xapp- (app-level). A
// token is dash-separated segments, at least one of digits (team, user or
// version ids), ending in a random secret of eight or more characters; a
// secret that is a placeholder or is followed by a masking character
// ('#', '*') is rejected.
func (s *Scanner) slack(buf []byte, i int) int {
	b := buf[i:s.lim]
	p := 0
	switch {
	case hasPrefix(b, "xoxe.xoxb-") || hasPrefix(b, "xoxe.xoxp-"):
		p = 10
	case hasPrefix(b, "xapp-"):
		p = 5
	case len(b) > 5 && b[4] == '-':
		switch b[3] {
		case 'b', 'p', 'a', 'r', 's', 'o', 'c', 'e':
			p = 5
		}
	}
	if p == 0 {
		return 0
	}
	e := runOf(buf, i+p, s.lim, &isSlack)
	if e-i < 24 || e < s.lim && (isIdent[buf[e]] || buf[e] == '#' || buf[e] == '*') {
		return 0
	}
	digitSeg, segs, last := false, 0, i+p
	for q := i + p; q <= e; q++ {
		if q == e || buf[q] == '-' {
			if q > last {
				segs++
				if runOf(buf, last, q, &isDigitTbl) == q {
					digitSeg = true
				}
			}
			if q < e {
				last = q + 1
			}
		}
	}
	if segs < 2 || !digitSeg || e-last < 8 || placeholder(buf[last:e]) {
		return 0
	}
	s.emit(SlackToken, i, e, High, false, buf[i:e])
	return e
}

// slackWebhook checks the path of a Slack incoming webhook or workflow URL
// at i, the team id after "hooks.slack.com/services/", "/workflows/" or
// "/triggers/": segments of letters and digits separated by '/', the last
// a secret of 20 or more characters.
func (s *Scanner) slackWebhook(buf []byte, i int) int {
	const host = "hooks.slack.com/"
	ok := false
	for _, k := range [...]string{"services/", "workflows/", "triggers/"} {
		if i-len(host)-len(k) >= max(0, s.lo) && string(buf[i-len(k):i]) == k && string(buf[i-len(k)-len(host):i-len(k)]) == host {
			ok = true
		}
	}
	if !ok {
		return 0
	}
	segs, last, q := 0, i, i
	for {
		e := runOf(buf, q, s.lim, &isAlnum)
		if e == q {
			return 0
		}
		segs++
		last = q
		q = e
		if q+1 < s.lim && buf[q] == '/' && isAlnum[buf[q+1]] {
			q++
			continue
		}
		break
	}
	if segs < 3 || q-last < 20 || q < s.lim && (isIdent[buf[q]] || buf[q] == '#' || buf[q] == '*') || placeholder(buf[last:q]) {
		return 0
	}
	s.emit(SlackToken, i, q, High, false, buf[i:q])
	return q
}

// punycodeTLD reports an internationalized top-level domain in its ASCII
// form ("xn--p1ai" for .рф).
func punycodeTLD(t []byte) bool {
	return len(t) >= 5 && hasFoldPrefix(t, "xn--") && runOf(t, 4, len(t), &isAlnum) == len(t)
}
