package classify

import (
	"fmt"
	"strings"
)

// formSamples is the part of the labelled corpus that issue 12 added:
// values in layouts the detectors missed (recall) and the false-positive
// shapes seen on real traffic with variations of each class (precision).
// It is kept apart from buildSamples so the benchmark corpus, which embeds
// buildSamples, stays comparable across revisions.
func formSamples(seed uint64, n int) []sample {
	g := newGen(seed)
	var out []sample
	pos := func(kind, typ, doc string, spans ...[2]int) {
		out = append(out, sample{typ: typ, kind: "form " + kind, doc: []byte(doc), vs: spans[0][0], ve: spans[0][1], more: spans[1:]})
	}
	wrapPos := func(kind, typ, field, v string) {
		doc, vs := g.wrap(field, v)
		pos(kind, typ, doc, [2]int{vs, vs + len(v)})
	}
	neg := func(kind, doc string) {
		out = append(out, sample{kind: "fp " + kind, doc: []byte(doc)})
	}
	line := func(label, v string) string {
		switch g.r.IntN(4) {
		case 0:
			return label + " " + v
		case 1:
			return label + ": " + v
		case 2:
			return `"` + label + `":"` + v + `"`
		}
		return label + "=" + v
	}
	cardLabels := []string{"card", "credit card", "cc", "card number", "Card No", "card_number", "creditCard"}
	for k := 0; k < n; k++ {
		// Recall.
		wrapPos("off-range card", "credit_card", g.pick(cardLabels...), g.offRangeCard())
		{
			c := func() string {
				for {
					if v := g.card(); len(v) == 16 {
						return v
					}
				}
			}
			a, b, d := c(), c(), c()
			bd := b[:4] + "-" + b[4:8] + "-" + b[8:12] + "-" + b[12:]
			dd := d[:4] + " " + d[4:8] + " " + d[8:12] + " " + d[12:]
			pre := g.pick("cards: ", "on file ", "")
			doc := pre + a + g.pick(" ", ", ", "  ") + bd + g.pick(" ", " ; ", "  ") + dd + "\n"
			s1 := len(pre)
			s2 := strings.Index(doc, bd)
			s3 := strings.Index(doc, dd)
			pos("three cards one line", "credit_card", doc, [2]int{s1, s1 + 16}, [2]int{s2, s2 + len(bd)}, [2]int{s3, s3 + len(dd)})
		}
		wrapPos("long jwt", "jwt", g.pick("authorization", "id_token", "jwt"), g.jwtLong())
		wrapPos("jwt header with whitespace", "jwt", g.pick("authorization", "token", "data"), g.jwtSpaced())
		wrapPos("slack webhook", "slack_token", g.pick("webhook", "url", "value"), g.slackWebhook())
		wrapPos("slack token family", "slack_token", g.pick("slack", "token", "value"), g.slackAny())
		{
			tok := g.pick(g.slack(), g.slackAny())
			pre := "GET https://slack.com/api/" + g.pick("chat.postMessage", "auth.test", "conversations.list") + "?token="
			pos("slack token in url", "slack_token", pre+tok+"&channel=C"+g.str(8, "ABCDEFGHIJ0123456789")+" HTTP/1.1\r\n", [2]int{len(pre), len(pre) + len(tok)})
		}
		{
			doc, vs, ve := g.genericForm()
			pos("generic key syntax", "generic_api_key", doc, [2]int{vs, ve})
		}
		wrapPos("aws prefix", "aws_access_key", g.pick("aws_access_key_id", "value", "principal", "id"), g.awsAnyPrefix())
		{
			s := strings.ReplaceAll(strings.ToUpper(g.iban()), " ", "")
			var b strings.Builder
			for i := 0; i < len(s); i += 4 {
				if i > 0 {
					b.WriteByte('-')
				}
				b.WriteString(s[i:min(len(s), i+4)])
			}
			wrapPos("iban with dashes", "iban", g.pick("iban", "account", "value"), b.String())
		}
		wrapPos("ssn with dots", "us_ssn", g.pick("ssn", "SSN", "social security no"), strings.ReplaceAll(strings.ReplaceAll(g.ssn(), "-", "."), " ", "."))
		wrapPos("punycode e-mail", "email", g.pick("email", "value"), g.pick("ivan", "li.wei", "k.schmidt")+fmt.Sprint(g.r.IntN(100))+"@"+
			g.pick("example.xn--p1ai", "xn--80ak6aa92e.xn--p1ai", "example.xn--fiqs8s", "mail.example.xn--90ais"))
		{
			v := g.nino()
			v = strings.ReplaceAll(v, " ", "")
			switch g.r.IntN(3) {
			case 0:
				v = strings.ToLower(v)
			case 1:
				v = v[:2] + " " + v[2:8] + " " + v[8:]
			default:
				v = strings.ToLower(v[:2] + " " + v[2:4] + " " + v[4:6] + " " + v[6:8] + " " + v[8:])
			}
			wrapPos("nino lower or spaced", "uk_nino", g.pick("nino", "national insurance number", "NI number"), v)
		}
		{
			v := g.npi()
			wrapPos("npi 4-3-3", "us_npi", g.pick("npi", "NPI", "provider_npi"), v[:4]+" "+v[4:7]+" "+v[7:])
		}
		{
			v := g.aba()
			sep := g.pick(" ", "-")
			wrapPos("aba 4-4-1", "aba_routing", g.pick("routing number", "ABA", "routing"), v[:4]+sep+v[4:8]+sep+v[8:])
		}
		{
			v := strings.NewReplacer(" ", ".", "-", ".").Replace(g.aadhaar())
			wrapPos("aadhaar dotted", "aadhaar", g.pick("aadhaar", "Aadhaar No", "uid"), v)
		}
		wrapPos("mbi lower-case", "us_mbi", g.pick("mbi", "medicare id", "MBI"), strings.ToLower(g.mbi()))
		wrapPos("provider identifier", "us_npi", g.pick("provider identifier", "Provider Identifier", "national provider identifier"), g.npi())
		wrapPos("openai named key", "openai_api_key", g.pick("openai_key", "value", "OPENAI_API_KEY"), g.openaiNamed())

		// Precision: context bound to the value it labels.
		other := g.pick("sku", "order", "qty", "item", "invoice", "ref")
		nine := g.ssnValidNine()
		ctxLine := line(g.pick("ssn", "SSN", "social security", "routing number", "passport", "itin", "SIN"), g.pick("078-05-1120", "000-12-3456", "987-65-4321", "n/a"))
		switch g.r.IntN(3) {
		case 0:
			neg("context on the next line", line(other, nine)+g.pick("\n", "\r\n", `\n`)+ctxLine+"\n")
		case 1:
			neg("context on the previous line", ctxLine+g.pick("\n", "\r\n")+line(other, nine)+"\n")
		default:
			neg("context of another value", `{"`+other+`":"`+nine+`","ssn":"`+g.pick("078-05-1120", "n/a", "")+`"}`)
		}
		neg("routing label, invalid routing", g.pick("routing number ", "Routing: ", "ABA ")+nine+"\n"+line("ssn", "n/a")+"\n")
		neg("card label, failed card", g.pick("card on file: ", "Card: ", "cc=", `"card_number":"`)+g.cardFailAadhaar()+"\n")
		{
			v := g.groupedIBAN(true)
			pre := g.pick("IBAN: ", "account ", "pay to ", "")
			pos("grouped iban with card-like digits", "iban", pre+v+"\n", [2]int{len(pre), len(pre) + len(v)})
			neg("invalid iban with card-like digits", g.pick("IBAN: ", "account ", "")+g.groupedIBAN(false)+"\n")
		}
		{
			c := g.formatCard(g.card())
			pre := g.pick("card number: ", "Card: ", "cc ")
			pos("order number after a card line", "credit_card", pre+c+g.pick("\n", "\r\n")+g.pick("order ", "Order #", "ref: ")+g.maestro12()+"\n", [2]int{len(pre), len(pre) + len(c)})
			neg("order number after a card label line", pre+"on file"+g.pick("\n", "\r\n")+g.pick("order ", "Order #", "ref: ")+g.maestro12()+"\n")
		}
		// Placeholders and documentation examples.
		neg("placeholder secret", g.pick("aws_access_key_id=", "key: ", `"AccessKeyId":"`)+g.pick(
			"AKIAIOSFODNN7EXAMPLE", "AKIAI44QH8DHBEXAMPLE", "AKIAXXXXXXXXXXXXXXXX", "ASIAXXXXXXXXXXXXXXXX", "AKIA0000000000000000", "AKIAABCDEFGHIJKLMNOP")+"\n")
		neg("placeholder github", "GITHUB_TOKEN="+g.pick("github_pat_"+strings.Repeat("x", 22)+"_"+strings.Repeat("x", 59),
			"github_pat_"+strings.Repeat("X", 82), "ghp_"+strings.Repeat("x", 36), "ghp_"+strings.Repeat("0", 36))+"\n")
		neg("placeholder slack", g.pick("SLACK_TOKEN=", "token: ")+"xox"+g.pick("b", "p")+"-"+g.pick("123456789012-1234567890123-"+strings.Repeat("#", 24),
			strings.Repeat("x", 12)+"-"+strings.Repeat("x", 13)+"-"+strings.Repeat("x", 24), "123456789012-1234567890123-"+strings.Repeat("*", 24),
			"000000000000-0000000000000-"+strings.Repeat("X", 24))+"\n")
		neg("pem header without body", g.pick(`"-----BEGIN PRIVATE KEY-----"`, "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
			"-----BEGIN RSA PRIVATE KEY-----\n...\n", "-----BEGIN OPENSSH PRIVATE KEY-----\n<your key here>\n",
			`if (pem.startsWith("-----BEGIN EC PRIVATE KEY-----")) {`, "key = \"-----BEGIN PRIVATE KEY-----\\n\" + body"))
		neg("openai-like without marker", "OPENAI_API_KEY="+g.pick("sk-admin-"+g.str(40+g.r.IntN(60), alnum), "sk-admin-"+g.str(20, alnum)+"_"+g.str(40, alnum),
			"sk-"+g.pick("None", "batch")+"-"+g.str(60, alnum), "sk-admin-"+g.str(8, alnum)+"T3BlbkFJ"+g.str(8, alnum))+"\n")
		{
			hdr := g.pick(`{"alg":"HS256"`, `{alg:"HS256"}`, `{"alg":"HS256",}`, `{"alg" "HS256"}`, `{"alg":"HS256"}}`, `{"typ":"JWT","alg":HS256}`)
			neg("jwt header not json", "token="+b64url(hdr)+"."+b64url(`{"sub":"1"}`)+"."+g.str(43, alnum+"-_")+"\n")
		}
		{
			seg := g.str(16, hexLower)
			neg("xml entry key", g.pick(`<entry key="`, `<add key="`, `<property key="`)+g.pick("cache", "feature", "job")+"."+seg+"."+
				g.pick("enabled", "state", "ttl")+`" value="`+g.pick("executed", "true", "300")+`"/>`+"\n")
		}
		neg("front-end hex key", g.pick("var c={", "window.cfg={", "t.exports={")+g.pick("apiKey", "appKey", "writeKey", "token", "clientToken", "api_key")+
			`:"`+g.str(g.pick32or40or64(), hexLower)+`",`+g.pick("authDomain", "appId", "host", "region")+`:"`+g.pick("x.firebaseapp.com", "1:2:web:3", "eu")+`"}`)
		neg("placeholder generic", g.pick("api_key", "password", "clientSecret", "token")+g.pick(": ", "=", ` := "`)+g.pick(
			"xxxxxxxxxxxxxxxxxxxxxxxx", "<your-api-key-here-123>", "${SECRET_KEY_1234567890}", "{{ .Values.apiKey1234 }}", "************************",
			"0123456789abcdef0123", "REPLACE_WITH_YOUR_KEY_2", "your_api_key_goes_here1")+"\n")
	}
	return out
}

// pick32or40or64 is the length of an MD5, SHA-1 or SHA-256 hex digest.
func (g *gen) pick32or40or64() int { return []int{32, 40, 64}[g.r.IntN(3)] }
