package classify

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strings"
)

// gen produces labelled values for tests and the accuracy corpus. All
// values are synthetic: checksums are computed, never copied from real data.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g *gen) digits(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return b
}

func (g *gen) pick(l ...string) string { return l[g.r.IntN(len(l))] }

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (g *gen) str(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

// fixLuhn sets the last digit so d passes Luhn.
func fixLuhn(d []byte) {
	d[len(d)-1] = '0'
	for c := byte('0'); c <= '9'; c++ {
		d[len(d)-1] = c
		if luhn(d) {
			return
		}
	}
}

// card returns a brand-valid, Luhn-valid number (not a known test number).
func (g *gen) card() string {
	type brand struct {
		prefix string
		n      int
	}
	bs := []brand{{"4", 16}, {"4", 13}, {"4", 19}, {"51", 16}, {"55", 16}, {"2221", 16}, {"2720", 16}, {"34", 15}, {"37", 15},
		{"6011", 16}, {"644", 16}, {"65", 16}, {"3528", 16}, {"3589", 16}, {"1800", 15}, {"2131", 15}, {"300", 14}, {"36", 14},
		{"38", 14}, {"62", 16}, {"62", 19}, {"81", 16}, {"6304", 16}, {"5018", 12}}
	for {
		b := bs[g.r.IntN(len(bs))]
		d := append([]byte(b.prefix), g.digits(b.n-len(b.prefix))...)
		fixLuhn(d)
		if cardBrandOK(d) && !isTestCard(d) {
			return string(d)
		}
	}
}

// formatCard prints a card compact, or grouped with spaces or dashes.
func (g *gen) formatCard(d string) string {
	sep := g.pick("", " ", "-")
	if sep == "" || len(d) == 12 {
		return d
	}
	var groups []int
	switch len(d) {
	case 15:
		groups = []int{4, 6, 5}
	case 14:
		groups = []int{4, 6, 4}
	default:
		for n := len(d); n > 0; n -= 4 {
			groups = append(groups, min(4, n))
		}
	}
	var b strings.Builder
	p := 0
	for i, l := range groups {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(d[p : p+l])
		p += l
	}
	return b.String()
}

// cardNearMiss is brand-shaped but fails Luhn, or passes Luhn with no
// brand range.
func (g *gen) cardNearMiss() string {
	for {
		d := []byte(g.card())
		if g.r.IntN(2) == 0 {
			d[len(d)-1] = '0' + (d[len(d)-1]-'0'+1+byte(g.r.IntN(9)))%10
		} else {
			d[0] = g.pick("0", "9", "7")[0]
			fixLuhn(d)
		}
		if !cardOK(d) {
			return string(d)
		}
	}
}

func (g *gen) ssn() string {
	for {
		d := g.digits(9)
		if ssnValid(d) && d[0] != '9' {
			sep := g.pick("-", " ")
			return string(d[:3]) + sep + string(d[3:5]) + sep + string(d[5:])
		}
	}
}

func (g *gen) ssnInvalid() string {
	area := g.pick("000", "666", "900", "950", "999")
	switch g.r.IntN(4) {
	case 0: // 9xx areas with ITIN groups (50-99) are ITINs, not near misses
		return fmt.Sprintf("%s-%02d-%04d", area, 1+g.r.IntN(48), 1+g.r.IntN(9998))
	case 1:
		return fmt.Sprintf("%03d-00-%04d", 1+g.r.IntN(665), 1+g.r.IntN(9998))
	case 2:
		return fmt.Sprintf("%03d-%02d-0000", 1+g.r.IntN(665), 1+g.r.IntN(98))
	}
	return g.pick("078-05-1120", "219-09-9999", "457-55-5462", "987-65-4321")
}

func (g *gen) itin() string {
	grp := []int{50, 55, 65, 70, 78, 88, 90, 92, 94, 99}[g.r.IntN(10)]
	return fmt.Sprintf("9%02d-%02d-%04d", g.r.IntN(100), grp, g.r.IntN(10000))
}

func ibanFix(country string, bban string) string {
	s := []byte(country + "00" + bban)
	for c := 0; c < 100; c++ {
		s[2], s[3] = byte('0'+c/10), byte('0'+c%10)
		if ibanValid(s) {
			return string(s)
		}
	}
	panic("no IBAN check digits")
}

func (g *gen) iban() string {
	type cc struct {
		c    string
		bban func() string
	}
	ccs := []cc{
		{"GB", func() string { return g.str(4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") + string(g.digits(14)) }},
		{"DE", func() string { return string(g.digits(18)) }},
		{"FR", func() string {
			return string(g.digits(10)) + g.str(11, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") + string(g.digits(2))
		}},
		{"NL", func() string { return g.str(4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") + string(g.digits(10)) }},
		{"ES", func() string { return string(g.digits(20)) }},
		{"CH", func() string { return string(g.digits(17)) }},
		{"NO", func() string { return string(g.digits(11)) }},
	}
	c := ccs[g.r.IntN(len(ccs))]
	s := ibanFix(c.c, c.bban())
	switch g.r.IntN(3) {
	case 1:
		var b strings.Builder
		for i := 0; i < len(s); i += 4 {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(s[i:min(len(s), i+4)])
		}
		return b.String()
	case 2:
		return strings.ToLower(s)
	}
	return s
}

func (g *gen) ibanInvalid() string {
	s := []byte(strings.ReplaceAll(strings.ToUpper(g.iban()), " ", ""))
	k := 4 + g.r.IntN(len(s)-4)
	if isDigit(s[k]) {
		s[k] = '0' + (s[k]-'0'+1)%10
	} else {
		s[k] = 'A' + (s[k]-'A'+1)%26
	}
	return string(s)
}

func (g *gen) verhoeffNum(n int) []byte {
	for {
		d := g.digits(n)
		if d[0] < '2' {
			continue
		}
		for c := byte('0'); c <= '9'; c++ {
			d[n-1] = c
			if verhoeff(d) {
				return d
			}
		}
	}
}

func (g *gen) aadhaar() string {
	d := g.verhoeffNum(12)
	sep := g.pick(" ", "-", " ")
	return string(d[:4]) + sep + string(d[4:8]) + sep + string(d[8:])
}

func (g *gen) nhs() string {
	for {
		d := g.digits(10)
		for c := byte('0'); c <= '9'; c++ {
			d[9] = c
			if mod11NHS(d) {
				if g.r.IntN(2) == 0 {
					return string(d)
				}
				return string(d[:3]) + " " + string(d[3:6]) + " " + string(d[6:])
			}
		}
	}
}

func (g *gen) npi() string {
	for {
		d := append([]byte{byte('1' + g.r.IntN(2))}, g.digits(9)...)
		for c := byte('0'); c <= '9'; c++ {
			d[9] = c
			if npiValid(d) {
				return string(d)
			}
		}
	}
}

func (g *gen) dea() string {
	for {
		p := string("ABCFGMPRX"[g.r.IntN(9)]) + string(rune('A'+g.r.IntN(26)))
		d := g.digits(7)
		for c := byte('0'); c <= '9'; c++ {
			d[6] = c
			if deaValid(d) {
				return p + string(d)
			}
		}
	}
}

func (g *gen) sin() string {
	for {
		d := append([]byte{byte('1' + g.r.IntN(7))}, g.digits(8)...)
		fixLuhn(d)
		if sinValid(d) {
			sep := g.pick(" ", "-", "")
			if sep == "" {
				return string(d)
			}
			return string(d[:3]) + sep + string(d[3:6]) + sep + string(d[6:])
		}
	}
}

func (g *gen) aba() string {
	for {
		d := g.digits(9)
		p := []string{"01", "02", "03", "11", "12", "21", "26", "31", "32", "61", "71"}[g.r.IntN(11)]
		copy(d, p)
		for c := byte('0'); c <= '9'; c++ {
			d[8] = c
			if abaValid(d) {
				return string(d)
			}
		}
	}
}

func (g *gen) nino() string {
	const first, second = "ABCEGHJKLMNPRSTWXYZ", "ABCEGHJKLMNPRSTWXYZ"
	for {
		p := string(first[g.r.IntN(len(first))]) + string(second[g.r.IntN(len(second))])
		v := p + string(g.digits(6)) + string("ABCD"[g.r.IntN(4)])
		if isNINO([]byte(v)) {
			if g.r.IntN(3) == 0 {
				return v[:2] + " " + v[2:4] + " " + v[4:6] + " " + v[6:8] + " " + v[8:]
			}
			return v
		}
	}
}

func (g *gen) mbi() string {
	const c = "ACDEFGHJKMNPQRTUVWXY"
	const an = c + "0123456789"
	v := string(rune('1'+g.r.IntN(9))) + g.str(1, c) + g.str(1, an) + string(g.digits(1)) + g.str(1, c) + g.str(1, an) +
		string(g.digits(1)) + g.str(2, c) + string(g.digits(2))
	if g.r.IntN(2) == 0 {
		return v[:4] + "-" + v[4:7] + "-" + v[7:]
	}
	return v
}

func (g *gen) pan() string {
	const up = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	return g.str(3, up) + string("ABCFGHLJPT"[g.r.IntN(10)]) + g.str(1, up) + string(g.digits(4)) + g.str(1, up)
}

func (g *gen) passport() string {
	switch g.r.IntN(3) {
	case 0:
		return string(g.digits(9))
	case 1:
		return g.str(1, "ABCDEFGHJKLMNPRSTUVWXYZ") + string(g.digits(8))
	}
	return g.str(2, "ABCDEFGHJKLMNPRSTUVWXYZ") + string(g.digits(7))
}

func (g *gen) icd10() string {
	return g.pick("E11.65", "I10", "J45.909", "F32.9", "M54.5", "Z79.4", "C50.911", "K21.9", "N18.3", "E78.5", "G43.909", "O9A.119", "U07.1")
}

func (g *gen) email() string {
	return g.pick("john.doe", "a.smith", "mary_k", "ops+alerts", "x9user", "li.wei") + fmt.Sprint(g.r.IntN(1000)) + "@" +
		g.pick("example.com", "mail.example.org", "corp.example.co.uk", "example.net")
}

func (g *gen) phone() string {
	area := 200 + g.r.IntN(800)
	ex := 200 + g.r.IntN(800)
	num := g.r.IntN(10000)
	switch g.r.IntN(5) {
	case 0:
		return fmt.Sprintf("(%03d) %03d-%04d", area, ex, num)
	case 1:
		return fmt.Sprintf("%03d-%03d-%04d", area, ex, num)
	case 2:
		return fmt.Sprintf("+1 %03d %03d %04d", area, ex, num)
	case 3:
		return fmt.Sprintf("+44 20 %04d %04d", g.r.IntN(10000), g.r.IntN(10000))
	}
	return fmt.Sprintf("%03d.%03d.%04d", area, ex, num)
}

func (g *gen) aws() string {
	return g.pick("AKIA", "ASIA") + g.str(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
}

func githubToken(prefix, random string) string {
	sum := crc32.ChecksumIEEE([]byte(random))
	var enc [6]byte
	for i := 5; i >= 0; i-- {
		enc[i] = base62[sum%62]
		sum /= 62
	}
	return prefix + random + string(enc[:])
}

func (g *gen) github() string {
	if g.r.IntN(4) == 0 {
		return "github_pat_" + g.str(22, alnum) + "_" + g.str(59, alnum)
	}
	return githubToken(g.pick("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), g.str(30, alnum))
}

func (g *gen) githubInvalid() string {
	t := []byte(g.github())
	if t[0] == 'g' && t[3] == '_' {
		t[len(t)-1] = alnum[(strings.IndexByte(alnum, t[len(t)-1])+1)%len(alnum)]
	} else {
		t = t[:len(t)-3]
	}
	return string(t)
}

func (g *gen) openai() string {
	if g.r.IntN(2) == 0 {
		return "sk-" + g.str(20, alnum) + "T3BlbkFJ" + g.str(20, alnum)
	}
	return "sk-proj-" + g.str(74, alnum+"_-") + "T3BlbkFJ" + g.str(74, alnum+"_-")
}

func (g *gen) anthropic() string {
	return "sk-ant-api03-" + g.str(93, alnum+"_-") + "AA"
}

func (g *gen) slack() string {
	return "xox" + g.pick("b", "p", "a") + "-" + string(g.digits(12)) + "-" + string(g.digits(13)) + "-" + g.str(24, alnum)
}

func (g *gen) stripe() string {
	return g.pick("sk_live_", "sk_test_", "rk_live_") + g.str(24+g.r.IntN(75), alnum)
}

func (g *gen) pemKey() string {
	return "-----BEGIN " + g.pick("RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED ") + "PRIVATE KEY-----\n" + g.str(64, alnum+"+/") + "\n" + g.str(64, alnum+"+/") + "\n"
}

func b64url(s string) string {
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b strings.Builder
	var acc uint32
	bits := 0
	for i := 0; i < len(s); i++ {
		acc = acc<<8 | uint32(s[i])
		bits += 8
		for bits >= 6 {
			bits -= 6
			b.WriteByte(a[acc>>uint(bits)&63])
		}
	}
	if bits > 0 {
		b.WriteByte(a[acc<<uint(6-bits)&63])
	}
	return b.String()
}

func (g *gen) jwt() string {
	h := b64url(`{"alg":"` + g.pick("HS256", "RS256", "ES256") + `","typ":"JWT"}`)
	p := b64url(fmt.Sprintf(`{"sub":"%d","name":"user%d","iat":%d}`, g.r.IntN(1e6), g.r.IntN(1000), 1700000000+g.r.IntN(1e7)))
	return h + "." + p + "." + g.str(43, alnum+"-_")
}

func (g *gen) genericKey() string {
	return g.str(32+g.r.IntN(9), alnum)
}

// Generators for the forms of issue 12: values the detectors must find in
// other layouts, and look-alikes that must not be reported.

const hexLower = "0123456789abcdef"

// offRangeCard is Luhn-valid, 15-19 digits, outside every known issuer
// range: a card only when a card label names it.
func (g *gen) offRangeCard() string {
	for {
		d := append([]byte(g.pick("0", "7", "9", "1", "84", "29")), g.digits(13+g.r.IntN(5))...)
		fixLuhn(d)
		if !cardBrandOK(d) && len(d) >= 15 && len(d) <= 19 {
			return string(d)
		}
	}
}

// cardFailAadhaar is a 4-4-4-4 printed number that fails Luhn while one of
// its 4-4-4 sub-windows passes Verhoeff: a sub-window must never be reported.
func (g *gen) cardFailAadhaar() string {
	for {
		d := []byte(g.card())
		if len(d) != 16 {
			continue
		}
		d[15] = '0' + (d[15]-'0'+1+byte(g.r.IntN(9)))%10
		if cardOK(d) {
			continue
		}
		if !(d[0] >= '2' && verhoeff(d[:12])) && !(d[4] >= '2' && verhoeff(d[4:])) {
			continue
		}
		sep := g.pick(" ", "-")
		return string(d[:4]) + sep + string(d[4:8]) + sep + string(d[8:12]) + sep + string(d[12:])
	}
}

// groupedIBAN prints an Italian IBAN (valid or with a wrong check) in groups
// whose digit tail holds a card-shaped or Aadhaar-shaped run that validates.
func (g *gen) groupedIBAN(valid bool) string {
	for {
		bban := g.str(1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") + string(g.digits(22))
		s := []byte(ibanFix("IT", bban))
		if !valid {
			s[2] = '0' + (s[2]-'0'+1)%10
		}
		// digits after the first two groups: 2811 1010 0000 0123 456
		tail := string(s[8:])
		hit := false
		for k := 0; k+12 <= len(tail) && k <= 12; k += 4 {
			if tail[k] >= '2' && verhoeff([]byte(tail[k:k+12])) {
				hit = true
			}
		}
		for k := 0; k+16 <= len(tail); k += 4 {
			if cardOK([]byte(tail[k : k+16])) {
				hit = true
			}
		}
		if !hit {
			continue
		}
		var b strings.Builder
		sep := g.pick(" ", " ", "-")
		for i := 0; i < len(s); i += 4 {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(string(s[i:min(len(s), i+4)]))
		}
		return b.String()
	}
}

// maestro12 is a Luhn-valid 12-digit Maestro-range number (an order number
// when no card label names it).
func (g *gen) maestro12() string {
	for {
		d := append([]byte(g.pick("5018", "5020", "6304")), g.digits(8)...)
		fixLuhn(d)
		if cardOK(d) {
			return string(d)
		}
	}
}

// ssnValidNine is a 9-digit number that passes the SSN rules but not ABA.
func (g *gen) ssnValidNine() string {
	for {
		d := g.digits(9)
		if ssnValid(d) && d[0] != '9' && !abaValid(d) {
			return string(d)
		}
	}
}

func (g *gen) jwtLong() string {
	h := b64url(`{"alg":"RS256","typ":"JWT","kid":"` + g.str(20, alnum) + `"}`)
	var claims strings.Builder
	claims.WriteString(`{"sub":"` + fmt.Sprint(g.r.IntN(1e6)) + `"`)
	for claims.Len() < 500+g.r.IntN(1500) {
		fmt.Fprintf(&claims, `,"%s":"%s"`, g.str(6, "abcdefghijklmnop"), g.str(24, alnum))
	}
	claims.WriteString("}")
	return h + "." + b64url(claims.String()) + "." + g.str(342, alnum+"-_")
}

func (g *gen) jwtSpaced() string {
	h := b64url("{\n  \"alg\": \"" + g.pick("HS256", "RS256") + "\",\n  \"typ\": \"JWT\"\n}")
	if g.r.IntN(2) == 0 {
		h = b64url(`{ "alg": "ES256", "typ": "JWT" }`)
	}
	p := b64url(fmt.Sprintf("{\n  \"sub\": \"%d\",\n  \"iat\": %d\n}", g.r.IntN(1e6), 1700000000+g.r.IntN(1e7)))
	return h + "." + p + "." + g.str(43, alnum+"-_")
}

func (g *gen) slackWebhook() string {
	return "https://hooks.slack.com/services/T" + g.str(8+g.r.IntN(3), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") +
		"/B" + g.str(8+g.r.IntN(3), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") + "/" + g.str(24, alnum)
}

// slackAny returns a token of one of the Slack families.
func (g *gen) slackAny() string {
	d := func(n int) string { return string(g.digits(n)) }
	switch g.r.IntN(6) {
	case 0:
		return "xoxp-" + d(12) + "-" + d(12) + "-" + d(13) + "-" + g.str(32, hexLower)
	case 1:
		return "xoxa-2-" + d(12) + "-" + d(13) + "-" + g.str(64, hexLower)
	case 2:
		return "xoxr-" + d(12) + "-" + d(13) + "-" + g.str(32, alnum)
	case 3:
		return "xapp-1-A" + g.str(10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") + "-" + d(13) + "-" + g.str(64, hexLower)
	case 4:
		return "xoxe.xoxp-1-" + g.str(150, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
	}
	return "xoxs-" + d(12) + "-" + d(12) + "-" + d(13) + "-" + g.str(64, hexLower)
}

func (g *gen) awsAnyPrefix() string {
	return g.pick("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA") +
		g.str(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
}

func (g *gen) openaiNamed() string {
	return "sk-" + g.pick("None", "myservice", "prod-app", "batch") + "-" + g.str(20+g.r.IntN(40), alnum) + "T3BlbkFJ" + g.str(20+g.r.IntN(40), alnum)
}

// genericForm returns a document assigning a generated key under a
// credential-like name in one of many syntaxes, and the value's offsets.
func (g *gen) genericForm() (string, int, int) {
	v := g.genericKey()
	names := []string{"apiToken", "clientSecret", "accessToken", "authToken", "secretKey", "privateToken", "ApiKey",
		"some_api_token_123", "db_password", "password", "passwd", "credentials", "SMTP_PASSWORD", "stripeApiKey", "app_secret_2",
		"x-auth-token", "api.key", "service_api_key_prod"}
	n := names[g.r.IntN(len(names))]
	var pre, post string
	switch g.r.IntN(9) {
	case 0:
		pre, post = n+` := "`, `"`+"\n"
	case 1:
		pre, post = `'`+n+`' => '`, `',`+"\n"
	case 2:
		pre, post = envName(n)+" ?= ", "\n"
	case 3:
		pre, post = `$`+strings.ToLower(envName(n))+` .= "`, `";`+"\n"
	case 4:
		pre, post = "  "+n+": ", "\n  region: eu-west-1\n"
	case 5:
		pre, post = `{"`+n+`": "`, `", "ttl": 300}`
	case 6:
		pre, post = n+" = '", "'\n"
	case 7:
		pre, post = "export "+envName(n)+`="`, `"`+"\n"
	default:
		pre, post = `config.`+n+` = "`, `";`
	}
	return pre + v + post, len(pre), len(pre) + len(v)
}

// envName spells a field name as an environment variable (apiToken ->
// API_TOKEN, x-auth-token -> X_AUTH_TOKEN).
func envName(n string) string {
	var b strings.Builder
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c == '.' || c == '-' {
			c = '_'
		}
		if isUpper(c) && i > 0 && !isUpper(n[i-1]) && n[i-1] != '_' {
			b.WriteByte('_')
		}
		b.WriteByte(upper(c))
	}
	return b.String()
}
