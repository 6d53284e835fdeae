package classify

import "math"

// keyNames are the suffixes of field names whose values are credentials
// (compared after lower-casing and mapping '-' and '.' to '_').
var keyNames = [...]string{
	"api_key", "apikey", "api_secret", "apisecret", "secret", "secret_key", "secretkey",
	"access_key", "accesskey", "access_token", "accesstoken", "auth_token", "authtoken",
	"client_secret", "clientsecret", "private_token", "app_key", "appkey", "master_key",
	"signing_key", "encryption_key", "token", "authorization", "x_api_key", "api_token",
	"bearer_token", "refresh_token", "session_token", "key",
	"password", "passwd", "pwd", "credentials", "credential",
}

// notKeyNames end in a key name but carry pagination or CSRF state, not a
// credential.
var notKeyNames = [...]string{"new_password_hint", "page_token", "pagetoken", "next_token", "nexttoken", "sync_token", "continuation_token", "csrf_token", "xsrf_token", "cache_key", "idempotency_key", "sort_key", "partition_key", "primary_key", "foreign_key", "public_key", "publickey"}

// generic handles "name=value", "name: value" and "name": "value" (and the
// operators :=, ?=, .=, += and =>) where name looks like a credential field
// (snake_case, kebab-case, dotted or camelCase, possibly with a suffix such
// as "_2" or "_prod") and value is a credible secret (credibleValue). It is
// triggered by ':' and '=' at i.
func (s *Scanner) generic(buf []byte, i int) int {
	if buf[i] == ':' && i+1 < len(buf) && buf[i+1] == '=' {
		return i + 1 // ":=": judged at its '='
	}
	// Key name, read backwards over an operator, a closing quote and
	// spaces. Its last three letters are checked first: every key name
	// ends in "key", "token", "secret", "authorization", "password" ... or
	// a suffix, most field names do not.
	q, quoted := keyNameEnd(buf, i, max(0, i-s.e.back))
	if q < 0 {
		return i + 1
	}
	s.view(buf, i)
	ne := q
	for q > s.lo && ne-q < 40 && (isIdent[buf[q-1]] || buf[q-1] == '-' || buf[q-1] == '.') {
		q--
	}
	if ne-q < 3 || (q > s.lo && ne-q >= 40) {
		return i + 1
	}
	var name [64]byte
	nl := 0
	for k, c := range buf[q:ne] {
		if isUpper(c) && k > 0 && (buf[q+k-1] >= 'a' && buf[q+k-1] <= 'z' || isDigit(buf[q+k-1])) && nl > 0 && name[nl-1] != '_' {
			name[nl] = '_' // camelCase: "apiToken" is "api_token"
			nl++
		}
		c = lower(c)
		if c == '-' || c == '.' {
			c = '_'
		}
		name[nl] = c
		nl++
	}
	n := trimNameSuffix(name[:nl])
	password := hasSuffix(n, "password") || hasSuffix(n, "passwd") || hasSuffix(n, "pwd")
	if !keyLike(n) {
		return i + 1
	}
	// Value.
	p := i + 1
	if buf[i] == '=' && p < s.lim && buf[p] == '>' {
		p++ // "=>"
	}
	jsLiteral := !quoted && buf[i] == ':' && p < s.lim && (buf[p] == '"' || buf[p] == '\'')
	for p < s.lim && p-i < 5 && (buf[p] == ' ' || buf[p] == '"' || buf[p] == '\'' || buf[p] == '`') {
		p++
	}
	if hasFoldPrefix(buf[p:s.lim], "bearer ") {
		p += 7
	} else if hasFoldPrefix(buf[p:s.lim], "token ") {
		p += 6
	}
	valChr := &isValChr
	if password {
		valChr = &isPassChr
	}
	ve := p
	for ve < s.lim && ve-p <= 128 && valChr[buf[ve]] {
		ve++
	}
	for ve > p && (buf[ve-1] == '.' || buf[ve-1] == '=') {
		ve--
	}
	v := buf[p:ve]
	if len(v) < 16 || len(v) > 128 || (ve < s.lim && valChr[buf[ve]] && buf[ve] != '.' && buf[ve] != '=') {
		return i + 1
	}
	if !credibleValue(v) || jsLiteral && hexOnly(v) {
		return i + 1
	}
	s.emit(GenericAPIKey, p, ve, Medium, false, v)
	return ve
}

// isPassChr is the value alphabet under password names: printable bytes
// but quotes, spaces and the separators of pairs.
var isPassChr = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		switch c {
		case '"', '\'', '`', ',', ';', '&', '<', '>':
		default:
			t[c] = true
		}
	}
	return t
}()

// credibleValue judges a value found under a credential name: it must mix
// letters and digits with the entropy of random keys (highEntropy), and
// must not be a value another detector owns, a UUID, a JWT-shaped or dotted
// identifier ("cache.2f8a9c1e4b7d6a3f.enabled": a configuration key), a
// template or a placeholder.
func credibleValue(v []byte) bool {
	if knownPrefix(v) || looksUUID(v) || placeholder(v) || templateLike(v) || dottedIdent(v) {
		return false
	}
	return highEntropy(v)
}

// templateLike reports values that are instructions or template
// references rather than keys.
func templateLike(v []byte) bool {
	if v[0] == '$' || v[0] == '{' || v[0] == '%' {
		return true
	}
	for k := range v {
		for _, w := range [...]string{"your", "replace", "changeme", "placeholder", "dummy", "redacted", "insert"} {
			if lower(v[k]) == w[0] && hasFoldPrefix(v[k:], w) {
				return true
			}
		}
	}
	return false
}

// dottedIdent reports values with dots that are names, not keys: two or
// more dot-separated segments are words of letters only, or the value is
// three base64url segments (JWT-shaped, left to the JWT detector).
func dottedIdent(v []byte) bool {
	words, segs, b64segs, st := 0, 0, 0, 0
	for k := 0; k <= len(v); k++ {
		if k < len(v) && v[k] != '.' {
			continue
		}
		seg := v[st:k]
		segs++
		if len(seg) >= 2 && allLetters(seg) {
			words++
		}
		if len(seg) >= 4 && runOf(seg, 0, len(seg), &isB64URL) == len(seg) {
			b64segs++
		}
		st = k + 1
	}
	return segs > 1 && (words >= 2 || segs == 3 && b64segs == 3)
}

// hexOnly reports a value of hexadecimal digits in one case: in a
// JavaScript object literal (`apiKey:"…"`, minified front-end code) that is
// a build hash or a public client key, not a credential.
func hexOnly(v []byte) bool {
	lowerHex, upperHex := true, true
	for _, c := range v {
		lowerHex = lowerHex && (isDigit(c) || c >= 'a' && c <= 'f')
		upperHex = upperHex && (isDigit(c) || c >= 'A' && c <= 'F')
	}
	return lowerHex || upperHex
}

func hasSuffix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[len(b)-len(s):]) == s
}

// trimNameSuffix removes a trailing "_<digits>" or environment suffix
// ("_prod", "_dev", "_test", "_live", "_staging") from a normalized name,
// up to twice: "some_api_token_123" is judged as "some_api_token".
func trimNameSuffix(n []byte) []byte {
	for r := 0; r < 2; r++ {
		k := len(n)
		for k > 0 && isDigit(n[k-1]) {
			k--
		}
		if k == len(n) {
			for _, sfx := range [...]string{"_prod", "_production", "_dev", "_test", "_live", "_staging", "_stage"} {
				if hasSuffix(n, sfx) {
					k = len(n) - len(sfx) + 1
					break
				}
			}
		}
		if k == len(n) || k < 2 || n[k-1] != '_' {
			return n
		}
		n = n[:k-1]
	}
	return n
}

// keyNameEnd returns the end of the field name before the ':' or '=' at i
// when the name ends like a key name ("...key", "...ken", "...ret",
// "...ion", "...ord", "...swd", "...pwd", "...als", "...ial") or in a
// suffix that trimNameSuffix removes, else -1; quoted says the name was
// in quotes. It is cheap because it runs at every ':' and '='.
func keyNameEnd(buf []byte, i, lo int) (int, bool) {
	q := i
	if buf[i] == '=' && q > lo && (buf[q-1] == ':' || buf[q-1] == '?' || buf[q-1] == '.' || buf[q-1] == '+') {
		q-- // ":=", "?=", ".=", "+="
	}
	for p := q; q > lo && p-q < 3 && buf[q-1] == ' '; {
		q--
	}
	quoted := false
	if q > lo && (buf[q-1] == '"' || buf[q-1] == '\'') {
		q--
		quoted = true
	}
	if q-3 < lo {
		return -1, false
	}
	e := q
	if isDigit(buf[e-1]) {
		// "_1", "_12", "_123" after a name (not "12:30").
		switch {
		case buf[e-2] == '_' || buf[e-2] == '-':
			e -= 2
		case !isDigit(buf[e-2]):
			return -1, false
		case buf[e-3] == '_' || buf[e-3] == '-':
			e -= 3
		case e-4 >= lo && isDigit(buf[e-3]) && (buf[e-4] == '_' || buf[e-4] == '-'):
			e -= 4
		default:
			return -1, false
		}
		if e-3 < lo {
			return -1, false
		}
	}
	k := uint32(lowerTbl[buf[e-3]])<<16 | uint32(lowerTbl[buf[e-2]])<<8 | uint32(lowerTbl[buf[e-1]])
	var sfx string
	switch k {
	case 'k'<<16 | 'e'<<8 | 'y', 'k'<<16 | 'e'<<8 | 'n', 'r'<<16 | 'e'<<8 | 't', 'i'<<16 | 'o'<<8 | 'n',
		'o'<<16 | 'r'<<8 | 'd', 's'<<16 | 'w'<<8 | 'd', 'p'<<16 | 'w'<<8 | 'd', 'a'<<16 | 'l'<<8 | 's', 'i'<<16 | 'a'<<8 | 'l':
		return q, quoted
	// An environment suffix after a key name.
	case 'r'<<16 | 'o'<<8 | 'd':
		sfx = "_prod"
	case 'd'<<16 | 'e'<<8 | 'v':
		sfx = "_dev"
	case 'e'<<16 | 's'<<8 | 't':
		sfx = "_test"
	case 'i'<<16 | 'v'<<8 | 'e':
		sfx = "_live"
	case 'i'<<16 | 'n'<<8 | 'g':
		sfx = "_staging"
	case 'a'<<16 | 'g'<<8 | 'e':
		sfx = "_stage"
	default:
		return -1, false
	}
	if e-len(sfx) >= lo && foldEq(buf[e-len(sfx):e], sfx) {
		return q, quoted
	}
	return -1, false
}

// foldEq reports whether b equals the lower-case s ignoring ASCII case,
// with '-' in b matching '_' in s.
func foldEq(b []byte, s string) bool {
	for k := 0; k < len(s); k++ {
		c := lowerTbl[b[k]]
		if c == '-' {
			c = '_'
		}
		if c != s[k] {
			return false
		}
	}
	return true
}

// keySuffixes groups keyNames and notKeyNames by their last three bytes,
// the ones keyNameEnd has checked, keeping their order: a name is only
// compared with the entries that can match it.
var keySuffixes = func() map[[3]byte]*keyGroup {
	m := map[[3]byte]*keyGroup{}
	get := func(k string) *keyGroup {
		var suf [3]byte
		copy(suf[:], k[len(k)-3:])
		if m[suf] == nil {
			m[suf] = &keyGroup{}
		}
		return m[suf]
	}
	for _, k := range notKeyNames {
		g := get(k)
		g.not = append(g.not, k)
	}
	for _, k := range keyNames {
		g := get(k)
		g.key = append(g.key, k)
	}
	return m
}()

type keyGroup struct{ not, key []string }

func keyLike(n []byte) bool {
	if len(n) < 3 {
		return false
	}
	g := keySuffixes[[3]byte{n[len(n)-3], n[len(n)-2], n[len(n)-1]}]
	if g == nil {
		return false
	}
	for _, k := range g.not {
		if len(n) >= len(k) && string(n[len(n)-len(k):]) == k {
			return false
		}
	}
	for _, k := range g.key {
		if len(n) >= len(k) && string(n[len(n)-len(k):]) == k {
			switch {
			case len(n) == len(k):
				return true
			case k == "key":
				// "<anything>_key" is mostly cache, sort and map keys.
			case k == "token" || k == "secret":
				if n[len(n)-len(k)-1] == '_' {
					return true
				}
			default:
				return true
			}
		}
	}
	return false
}

// knownPrefix leaves values with a dedicated detector to that detector.
func knownPrefix(v []byte) bool {
	if awsPrefix(v) {
		return true
	}
	for _, p := range [...]string{"xapp-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "sk-", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "xox", "eyJ"} {
		if hasPrefix(v, p) {
			return true
		}
	}
	return false
}

func looksUUID(v []byte) bool {
	if len(v) != 36 {
		return false
	}
	for k, c := range v {
		if k == 8 || k == 13 || k == 18 || k == 23 {
			if c != '-' {
				return false
			}
		} else if !isDigit(c) && !(lower(c) >= 'a' && lower(c) <= 'f') {
			return false
		}
	}
	return true
}

// highEntropy requires letters and digits and a Shannon entropy that random
// keys reach and words, paths and repeated placeholders do not.
func highEntropy(v []byte) bool {
	var cnt [256]uint8
	letters, digits := 0, 0
	for _, c := range v {
		cnt[c]++
		if isDigit(c) {
			digits++
		} else if isLetter(c) {
			letters++
		}
	}
	if letters == 0 || digits == 0 {
		return false
	}
	h := 0.0
	n := float64(len(v))
	for _, k := range cnt {
		if k > 0 {
			pk := float64(k) / n
			h -= pk * math.Log2(pk)
		}
	}
	need := 3.5
	if len(v) < 24 {
		need = 3.2
	}
	return h >= need
}
