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
}

// notKeyNames end in a key name but carry pagination or CSRF state, not a
// credential.
var notKeyNames = [...]string{"page_token", "pagetoken", "next_token", "nexttoken", "sync_token", "continuation_token", "csrf_token", "xsrf_token", "cache_key", "idempotency_key", "sort_key", "partition_key", "primary_key", "foreign_key", "public_key", "publickey"}

// generic handles "name=value" and "name": "value" where name looks like a
// credential field and value is a high-entropy string. It is triggered by
// ':' and '=' at i.
func (s *Scanner) generic(buf []byte, i int) int {
	// Key name, read backwards over a closing quote and spaces. Its last
	// three letters are checked first: every key name ends in "key",
	// "token", "secret", "authorization" ..., most field names do not.
	q := keyNameEnd(buf, i, max(0, i-s.e.back))
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
	var name [40]byte
	nl := 0
	for _, c := range buf[q:ne] {
		c = lower(c)
		if c == '-' || c == '.' {
			c = '_'
		}
		name[nl] = c
		nl++
	}
	if !keyLike(name[:nl]) {
		return i + 1
	}
	// Value.
	p := i + 1
	for p < s.lim && p-i < 4 && (buf[p] == ' ' || buf[p] == '"' || buf[p] == '\'') {
		p++
	}
	if hasFoldPrefix(buf[p:s.lim], "bearer ") {
		p += 7
	} else if hasFoldPrefix(buf[p:s.lim], "token ") {
		p += 6
	}
	ve := p
	for ve < s.lim && ve-p <= 128 && isValChr[buf[ve]] {
		ve++
	}
	for ve > p && (buf[ve-1] == '.' || buf[ve-1] == '=') {
		ve--
	}
	v := buf[p:ve]
	if len(v) < 16 || len(v) > 128 || (ve < s.lim && isValChr[buf[ve]] && buf[ve] != '.' && buf[ve] != '=') {
		return i + 1
	}
	if knownPrefix(v) || looksUUID(v) || !highEntropy(v) {
		return i + 1
	}
	s.emit(GenericAPIKey, p, ve, Medium, false, v)
	return ve
}

// keyNameEnd returns the end of the field name before the ':' or '=' at i
// when the name ends like a key name ("...key", "...ken", "...ret",
// "...ion"), else -1. It is cheap because it runs at every ':' and '='.
func keyNameEnd(buf []byte, i, lo int) int {
	q := i
	for q > lo && i-q < 3 && buf[q-1] == ' ' {
		q--
	}
	if q > lo && (buf[q-1] == '"' || buf[q-1] == '\'') {
		q--
	}
	if q-3 < lo {
		return -1
	}
	k := uint32(lowerTbl[buf[q-3]])<<16 | uint32(lowerTbl[buf[q-2]])<<8 | uint32(lowerTbl[buf[q-1]])
	switch k {
	case 'k'<<16 | 'e'<<8 | 'y', 'k'<<16 | 'e'<<8 | 'n', 'r'<<16 | 'e'<<8 | 't', 'i'<<16 | 'o'<<8 | 'n':
		return q
	}
	return -1
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
	for _, p := range [...]string{"AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "sk-", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "xox", "eyJ"} {
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
