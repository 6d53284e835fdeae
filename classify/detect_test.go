package classify

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

func testEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := NewEngine(Config{HMACKey: []byte("test-key")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func scanAll(e *Engine, s string) []Match {
	var out []Match
	e.ScanAll([]byte(s), func(m Match) { out = append(out, m) })
	return out
}

func typesOf(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Type+"/"+m.Confidence.String())
	}
	return out
}

type detCase struct {
	name string
	in   string
	want []string // "type/confidence"; nil means nothing may be reported
}

func detectorCases() []detCase {
	g := newGen(7)
	jwt := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	gh := githubToken("ghp_", "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1")
	cc := []detCase{
		// credit_card: every accepted format, and near misses.
		{"visa compact", "card 4111111111111111 ok", []string{"credit_card/high"}},
		{"visa spaced", "4111 1111 1111 1111", []string{"credit_card/high"}},
		{"visa dashed", "4111-1111-1111-1111", []string{"credit_card/high"}},
		{"visa 13 ctx", "visa=4222222222222;", []string{"credit_card/high"}},
		{"visa 13 no ctx", "ean=4222222222222;", nil},
		{"visa 19 trace id", "dd.trace_id=4000000000000000006", nil},
		{"amex 4-6-5", "3782 822463 10005", []string{"credit_card/high"}},
		{"diners 4-6-4", "3056 930902 5904", []string{"credit_card/high"}},
		{"mastercard 2-series", "2223003122003222", []string{"credit_card/high"}},
		{"unionpay 19", "card 6205500000000000004", []string{"credit_card/high"}},
		{"unionpay 19 grouped", "6205 5000 0000 0000 004", []string{"credit_card/high"}},
		{"jcb", `{"pan":"3530111333300000"}`, []string{"credit_card/high"}},
		{"card in csv", "1,4242424242424242,12/29\n", []string{"credit_card/high"}},
		{"card then cvv, one separator", "4111 1111 1111 1111 123", nil}, // one 19-digit number that fails Luhn
		{"card then cvv after a comma", "4111 1111 1111 1111, 123", []string{"credit_card/high"}},
		{"card then expiry and cvv", "4111 1111 1111 1111 12/29 123", []string{"credit_card/high"}},
		{"luhn fail", "4111111111111112", nil},
		{"no brand", "9111111111111119", nil},
		{"visa bad length", "411111111111116", nil},
		{"part of longer run", "41111111111111110", nil},
		{"glued to letters", "id4111111111111111", nil},
		{"glued after", "4111111111111111abc", nil},
		{"identifier underscore", "order_4111111111111111", nil},
		{"mixed separators", "4111 1111-1111 1111", nil},
		{"odd grouping", "41 111111 11111111", nil},
		{"millis timestamp", "ts=1700000000005", nil},
		{"json escaped newline raw", `"a\n4111111111111111"`, []string{"credit_card/high"}},
		// us_ssn / us_itin
		{"ssn dashed", "SSN: 123-45-6789", []string{"us_ssn/high"}},
		{"ssn dashed no ctx", "value 123-45-6789 here", []string{"us_ssn/medium"}},
		{"ssn spaced", "ssn 123 45 6789", []string{"us_ssn/high"}},
		{"ssn plain ctx", "social security number 123456789", []string{"us_ssn/medium"}},
		{"ssn plain no ctx", "value 123456789 here", nil},
		{"ssn area 000", "ssn 000-12-3456", nil},
		{"ssn area 666", "ssn 666-12-3456", nil},
		{"ssn group 00", "ssn 123-00-4567", nil},
		{"ssn serial 0000", "ssn 123-45-0000", nil},
		{"ssn advertising", "ssn 078-05-1120", nil},
		{"ssn advertising 987", "ssn 987-65-4325", nil},
		{"ssn mixed sep", "ssn 123-45 6789", nil},
		{"itin", "ITIN 912-70-1234", []string{"us_itin/high"}},
		{"itin bad group", "ITIN 912-40-1234", nil},
		// iban
		{"iban gb", "IBAN GB82WEST12345698765432", []string{"iban/high"}},
		{"iban spaced", "GB82 WEST 1234 5698 7654 32", []string{"iban/high"}},
		{"iban lower", "de89370400440532013000", []string{"iban/high"}},
		{"iban fr", "FR1420041010050500013M02606", []string{"iban/high"}},
		{"iban bad check", "GB82WEST12345698765433", nil},
		{"iban bad length", "GB82WEST1234569876543", nil},
		{"iban unknown country", "QQ82WEST12345698765432", nil},
		// aadhaar
		{"aadhaar spaced", "2341 2341 2346", verhoeffCase("2341 2341 234")},
		{"aadhaar plain ctx", "aadhaar: 234123412346", verhoeffCaseCtx("234123412346")},
		{"aadhaar starts 1", "1341 2341 2346", nil},
		// uk_nhs
		{"nhs ctx", "NHS number 943 476 5919", []string{"uk_nhs/high"}},
		{"nhs compact ctx", "nhs_number=9434765919", []string{"uk_nhs/high"}},
		{"nhs no ctx", "ref 943 476 5919", nil},
		{"nhs bad check", "NHS number 943 476 5918", nil},
		// us_npi
		{"npi", "NPI: 1234567893", []string{"us_npi/high"}},
		{"npi bad", "NPI: 1234567894", nil},
		{"npi no ctx", "id 1234567893", nil},
		// us_dea
		{"dea", "DEA# AB1234563", []string{"us_dea/high"}},
		{"dea bad", "DEA# AB1234564", nil},
		{"dea no ctx", "sku AB1234563", nil},
		// ca_sin
		{"sin", "SIN: 130 692 544", sinCase("130692544")},
		{"sin starts 0", "SIN: 046 454 286", nil},
		{"sin no ctx", "code 130 692 544", nil},
		// aba
		{"aba", "routing number 021000021", []string{"aba_routing/high"}},
		{"aba bad", "routing number 021000022", nil},
		{"aba no ctx", "id 021000021 x", nil},
		// uk_nino, us_mbi, in_pan, passport, icd10
		{"nino", "National Insurance: AB123456C", []string{"uk_nino/medium"}},
		{"nino spaced", "NINO AB 12 34 56 C", []string{"uk_nino/medium"}},
		{"nino bad prefix", "NINO GB123456C", nil},
		{"nino no ctx", "ref AB123456C", nil},
		{"mbi", "Medicare MBI 1EG4-TE5-MK73", []string{"us_mbi/medium"}},
		{"mbi compact", "mbi=1EG4TE5MK73", []string{"us_mbi/medium"}},
		{"mbi bad letter", "mbi=1SG4TE5MK73", nil},
		{"pan", "PAN: ABCPE1234F", []string{"in_pan/medium"}},
		{"pan bad holder", "PAN: ABCDE1234F", nil},
		{"passport", "passport no C03005988", []string{"passport/medium"}},
		{"passport digits", "Passport: 123456789", []string{"passport/medium"}},
		{"passport no ctx", "ref C03005988", nil},
		{"icd10", "diagnosis: E11.65", []string{"icd10/medium"}},
		{"icd10 covid", "dx U07.1", []string{"icd10/medium"}},
		{"icd10 no ctx", "model E11.65", nil},
		{"icd10 bad category", "diagnosis: E99.1", nil},
		// email and phone
		{"email", "contact: john.doe@example.com.", []string{"email/high"}},
		{"email subdomain", "<a.smith@mail.example.co.uk>", []string{"email/high"}},
		{"email retina asset", "icon@2x.png", nil},
		{"email no tld", "user@localhost", nil},
		{"npm version", "react@18.2.0", nil},
		{"phone paren", "phone: (415) 555-2671", []string{"phone/medium"}},
		{"phone dashed", "tel 415-555-2671", []string{"phone/medium"}},
		{"phone intl", "mobile +44 20 7946 0958", []string{"phone/medium"}},
		{"phone e164", `"phone":"+14155552671"`, []string{"phone/medium"}},
		{"phone no ctx", "id 415-555-2671", nil},
		{"phone bad area", "phone 115-555-2671", nil},
		// secrets
		{"aws", "aws_access_key_id=AKIAY34FZKBOKMUTVV7A", []string{"aws_access_key/high"}},
		{"aws documentation example", "aws_access_key_id=AKIAIOSFODNN7EXAMPLE", nil},
		{"aws asia", "ASIAY34FZKBOKMUTVV7A", []string{"aws_access_key/high"}},
		{"aws short", "AKIAIOSFODNN7EXAMPL", nil},
		{"aws lower", "AKIAiosfodnn7example", nil},
		{"github classic", "token " + gh, []string{"github_token/high"}},
		{"github bad crc", "x " + gh[:len(gh)-1] + "Z", nil},
		{"github pat", "github_pat_11AQZ3KXY0k4Lm9Pq2Rs7T_" + strings.Repeat("aB3", 19) + "xy", []string{"github_token/high"}},
		{"openai legacy", "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", []string{"openai_api_key/high"}},
		{"openai proj", "OPENAI_API_KEY=sk-proj-" + strings.Repeat("Ab1_", 20) + "T3BlbkFJ" + strings.Repeat("xY9-", 20), []string{"openai_api_key/high"}},
		{"openai proj without marker", "OPENAI_API_KEY=sk-proj-" + strings.Repeat("Ab1_", 20), []string{"openai_api_key/high"}},
		{"openai named without marker", "sk-None-" + strings.Repeat("Qm4tZ8pL2x", 6), nil},
		{"openai short", "sk-abc", nil},
		{"anthropic", "x-api-key: sk-ant-api03-" + strings.Repeat("aB3-", 23) + "xAA", []string{"anthropic_api_key/high"}},
		{"anthropic no AA", "sk-ant-api03-" + strings.Repeat("aB3-", 23) + "xAB", nil},
		{"slack", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", []string{"slack_token/high"}},
		{"slack short", "xoxb-123", nil},
		{"stripe", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", []string{"stripe_key/high"}},
		{"stripe rk", "rk_test_4eC39HqLyjWDarjtT1zdp7dcXX", []string{"stripe_key/high"}},
		{"stripe short", "sk_live_4eC39Hq", nil},
		{"pem rsa", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n", []string{"private_key/high"}},
		{"pem openssh json", `{"k":"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA"}`, []string{"private_key/high"}},
		{"pem public", "-----BEGIN PUBLIC KEY-----\nMIIB", nil},
		{"pem cert", "-----BEGIN CERTIFICATE-----\nMIIB", nil},
		{"jwt", "Authorization: Bearer " + jwt, []string{"jwt/high"}},
		{"jwt bad header", "eyJub3RhbGciOiJ4In0.eyJzdWIiOiIxIn0.sig", nil},
		{"generic json", `{"api_key": "Zx9fK2mQ7vL3pR8sT1wY4bN6"}`, []string{"generic_api_key/medium"}},
		{"generic env", "CLIENT_SECRET=h7Gk2LmP9qRsT4vWx8YzA1bC3dE5", []string{"generic_api_key/medium"}},
		{"generic header", "X-Api-Key: 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", []string{"generic_api_key/medium"}},
		{"generic low entropy", `{"api_key": "aaaaaaaaaaaaaaaaaaaaaaaa1"}`, nil},
		{"generic word", `{"token": "this-is-not-a-secret"}`, nil},
		{"generic uuid", `{"token": "550e8400-e29b-41d4-a716-446655440000"}`, nil},
		{"generic page token", `{"next_page_token": "Zx9fK2mQ7vL3pR8sT1wY4bN6"}`, nil},
		{"generic not key name", `{"request_id": "Zx9fK2mQ7vL3pR8sT1wY4bN6"}`, nil},
		// Issue 12, precision: context labels only the value it precedes
		// on its line, never across a line break or another value.
		{"sku then ssn line", "sku 604118237\nssn 078-05-1120", nil},
		{"sku after ssn line", "ssn: 078-05-1120\r\nsku 604118237", nil},
		{"sku then ssn escaped newline", `"sku 604118237\nssn 078-05-1120"`, nil},
		{"sku then ssn json", `{"sku":"604118237","ssn":"n/a"}`, nil},
		{"ssn label after the value", "604118237 (ssn)", nil},
		{"ssn label before another value", "ssn 078-05-1120 604118237", nil},
		{"ssn label, pair before", "ssn=n/a qty=604118237", nil},
		{"ssn label in the previous csv cell", "ssn,n/a,604118237", nil},
		{"routing label, invalid routing", "routing number 307481552\nssn: n/a", nil},
		{"routing label, invalid routing, ssn after", "routing number 307481552 ssn", nil},
		{"ssn label json", `{"id":7,"ssn":"604118237"}`, []string{"us_ssn/medium"}},
		{"ssn label csv header cell", "2024-05-01,12,ssn,604118237,ok", []string{"us_ssn/medium"}},
		{"ssn label prose", "her Social Security No. is 604118237.", []string{"us_ssn/medium"}},
		{"passport label of object", `{"passport": {"number": "123456789"}}`, []string{"passport/medium"}},
		{"passport label of list", `{"passport": ["123456789"]}`, []string{"passport/medium"}},
		{"phone label, html cells", "<td>Phone</td><td>415-555-2671</td>", []string{"phone/medium"}},
		// A number is its whole run of groups.
		{"failed card is no aadhaar", "card on file: 5203-4871-2260-9315", nil},
		{"failed spaced card is no aadhaar", "Card: 5203 4871 2260 9315", nil},
		{"failed card behind aadhaar digits", "cc=2341-2341-2346-1234", nil},
		{"aadhaar in a longer run", "ref 1234 2341 2341 2346", nil},
		{"invalid iban with card digits", "IBAN: IT61 X054 2811 1010 0000 0123 456", nil},
		{"invalid iban dashed", "IT61-X054-2811-1010-0000-0123-456", nil},
		{"iban with card-like digits", "IT60 X054 2811 1010 0000 0123 456", []string{"iban/high"}},
		{"order number after card label line", "card number:\norder 501800000009", nil},
		{"order number after card line", "card number: 4111111111111111\norder 501800000009", []string{"credit_card/high"}},
		{"maestro 12 labelled", "card number: 501800000009", []string{"credit_card/high"}},
		{"card glued to uuid tail", "93702892-7443-4732-8443-e611d9752976", nil},
		{"card then price", "4111111111111111.00", nil},
		{"identifier then card", "ORD-2024-0501 4111111111111111", []string{"credit_card/high"}},
		// Placeholders and documentation examples.
		{"aws example 2", "AKIAI44QH8DHBEXAMPLE", nil},
		{"aws xs", "AKIAXXXXXXXXXXXXXXXX", nil},
		{"aws zeros", "ASIA0000000000000000", nil},
		{"aws alphabet", "AKIAABCDEFGHIJKLMNOP", nil},
		{"github pat xs", "github_pat_" + strings.Repeat("x", 22) + "_" + strings.Repeat("x", 59), nil},
		{"slack hashes", "xoxb-123456789012-1234567890123-" + strings.Repeat("#", 24), nil},
		{"slack stars", "xoxp-123456789012-123456789012-" + strings.Repeat("*", 32), nil},
		{"slack xs", "xoxb-" + strings.Repeat("x", 12) + "-" + strings.Repeat("x", 13) + "-" + strings.Repeat("x", 24), nil},
		{"slack words", "xoxb-your-bot-token-goes-here", nil},
		{"pem header alone", "-----BEGIN PRIVATE KEY-----", nil},
		{"pem header and footer", "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", nil},
		{"pem dots", "-----BEGIN RSA PRIVATE KEY-----\n...\n", nil},
		{"pem in code", `if (s.startsWith("-----BEGIN EC PRIVATE KEY-----")) {`, nil},
		{"pem escaped in code", `k = "-----BEGIN PRIVATE KEY-----\n" + body`, nil},
		{"pem encrypted headers", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F1D\n\nMIIEpQIBAAKCAQEAx8Ymq2\n", []string{"private_key/high"}},
		{"openai admin no marker", "sk-admin-" + strings.Repeat("Qm4tZ8pL2x", 5), nil},
		{"openai admin short", "sk-admin-Qm4tZ8pLT3BlbkFJh5Rg1Ty6", nil},
		{"openai svcacct placeholder", "sk-svcacct-" + strings.Repeat("x", 60), nil},
		{"jwt header unterminated", "token=" + b64url(`{"alg":"HS256"`) + "." + b64url(`{"sub":"1"}`) + ".Qm4tZ8pL2xW9kV3nB7cJ", nil},
		{"jwt header bare words", "token=" + b64url(`{alg:"HS256"}`) + "." + b64url(`{"sub":"1"}`) + ".Qm4tZ8pL2xW9kV3nB7cJ", nil},
		{"jwt header trailing comma", b64url(`{"alg":"HS256",}`) + "." + b64url(`{"sub":"1"}`) + ".Qm4tZ8pL2xW9kV3nB7cJ", nil},
		{"xml entry key", `<entry key="a.b" value="executed"/>`, nil},
		{"xml entry dotted key with hex", `<entry key="cache.2f8a9c1e4b7d6a3f.enabled" value="executed"/>`, nil},
		{"dotnet appsettings key", `<add key="Feature.Ab12Cd34Ef56Gh78.State" value="on" />`, nil},
		{"minified js hex key", `var c={apiKey:"3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",authDomain:"x.firebaseapp.com"}`, nil},
		{"minified js sha1 token", `t.exports={token:"da39a3ee5e6b4b0d3255bfef95601890afd80709",host:"eu"}`, nil},
		{"js member hex", `e.writeKey="3F9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C";`, nil},
		{"generic placeholder template", "api_key: ${SECRET_KEY_1234567890}", nil},
		{"generic placeholder words", `password := "your_api_key_goes_here1"`, nil},
		{"generic placeholder sequence", "token=0123456789abcdef0123", nil},
		// Issue 12, recall.
		{"off-range card labelled", "card number: " + luhnFixed("7048213957264018330"), []string{"credit_card/medium"}},
		{"off-range card cc", "cc=" + luhnFixed("904821395726401830"), []string{"credit_card/medium"}},
		{"off-range card unlabelled", "id=" + luhnFixed("7048213957264018330"), nil},
		{"off-range card 14 digits", "card " + luhnFixed("70482139572640"), nil},
		{"off-range card zeros", "card 000000000000000", nil},
		{"three cards one line", "4111111111111111 4111-1111-1111-1111 4111 1111 1111 1111", []string{"credit_card/high", "credit_card/high", "credit_card/high"}},
		{"jwt whitespace header", b64url("{\n  \"alg\": \"HS256\",\n  \"typ\": \"JWT\"\n}") + "." + b64url(`{"sub":"1"}`) + ".Qm4tZ8pL2xW9kV3nB7cJ", []string{"jwt/high"}},
		{"jwt long", "Authorization: Bearer " + g.jwtLong() + " next 4111111111111111", []string{"jwt/high", "credit_card/high"}},
		{"slack webhook", "https://hooks.slack.com/services/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", []string{"slack_token/high"}},
		{"slack workflow", `{"u":"https://hooks.slack.com/workflows/T0ABC12DEF/A0XYZ34GHI/412345678901234567/Qm4tZ8pL2xW9kV3nB7cJh5Rg"}`, []string{"slack_token/high"}},
		{"slack token in url", "GET /api/auth.test?token=xoxp-123456789012-123456789012-123456789012-3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c&pretty=1", []string{"slack_token/high"}},
		{"slack app token", "xapp-1-A0ABCDEFGHI-1234567890123-3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", []string{"slack_token/high"}},
		{"slack rotation token", "xoxe.xoxp-1-Mi0yLTE0MjQ5NzY3NjU0LTE0MjQ5NzY3NjU0LTE0MjQ5NzY3NjU0", []string{"slack_token/high"}},
		{"slack workspace token", "xoxa-2-123456789012-1234567890123-3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", []string{"slack_token/high"}},
		{"generic camelCase", `apiToken = "Zx9fK2mQ7vL3pR8sT1wY4bN6"`, []string{"generic_api_key/medium"}},
		{"generic clientSecret yaml", "  clientSecret: Zx9fK2mQ7vL3pR8sT1wY4bN6\n", []string{"generic_api_key/medium"}},
		{"generic go :=", `apiKey := "Zx9fK2mQ7vL3pR8sT1wY4bN6"`, []string{"generic_api_key/medium"}},
		{"generic php =>", `'api_key' => 'Zx9fK2mQ7vL3pR8sT1wY4bN6',`, []string{"generic_api_key/medium"}},
		{"generic make ?=", "API_KEY ?= Zx9fK2mQ7vL3pR8sT1wY4bN6", []string{"generic_api_key/medium"}},
		{"generic php .=", `$api_key .= "Zx9fK2mQ7vL3pR8sT1wY4bN6";`, []string{"generic_api_key/medium"}},
		{"generic password", `password: "Zx9fK2mQ7vL3pR8sT1wY4bN6"`, []string{"generic_api_key/medium"}},
		{"generic password symbols", `DB_PASSWD=Zx9f!K2m@Q7v#L3p$R8s`, []string{"generic_api_key/medium"}},
		{"generic credentials", `{"credentials": "Zx9fK2mQ7vL3pR8sT1wY4bN6"}`, []string{"generic_api_key/medium"}},
		{"generic keyword mid-name", "some_api_token_123=Zx9fK2mQ7vL3pR8sT1wY4bN6", []string{"generic_api_key/medium"}},
		{"generic env suffix", "STRIPE_SECRET_KEY_PROD=Zx9fK2mQ7vL3pR8sT1wY4bN6", []string{"generic_api_key/medium"}},
		{"generic json hex key", `{"api_key":"3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"}`, []string{"generic_api_key/medium"}},
		{"generic password hash name", `password_hash: "Zx9fK2mQ7vL3pR8sT1wY4bN6"`, nil},
		{"generic token type", `token_type: "Zx9fK2mQ7vL3pR8sT1wY4bN6"`, nil},
		{"aws agpa", "AGPAY34FZKBOKMUTVV7A", []string{"aws_access_key/high"}},
		{"aws aroa in json", `{"RoleId":"AROAY34FZKBOKMUTVV7A"}`, []string{"aws_access_key/high"}},
		{"aws anva", "id ANVAY34FZKBOKMUTVV7A", []string{"aws_access_key/high"}},
		{"aws in generic name", "secret_key=AIDAY34FZKBOKMUTVV7A", []string{"aws_access_key/high"}},
		{"iban dashed", "IBAN DE89-3704-0044-0532-0130-00", []string{"iban/high"}},
		{"iban mixed separators", "DE89 3704-0044 0532 0130 00", nil},
		{"ssn dotted", "ssn 123.45.6789", []string{"us_ssn/high"}},
		{"ssn dotted unlabelled", "v 123.45.6789", nil},
		{"email punycode tld", "mail ivan@example.xn--p1ai", []string{"email/high"}},
		{"email punycode domain", "li@xn--80ak6aa92e.xn--p1ai.", []string{"email/high"}},
		{"nino lower", "NINO ab123456c", []string{"uk_nino/medium"}},
		{"nino 2-6-1", "NINO AB 123456 C", []string{"uk_nino/medium"}},
		{"nino lower pairs", "ni number: ab 12 34 56 c", []string{"uk_nino/medium"}},
		{"nino mixed case", "NINO Ab123456c", nil},
		{"npi 4-3-3", "NPI 1234 567 893", []string{"us_npi/high"}},
		{"npi 4-3-3 unlabelled", "id 1234 567 893", nil},
		{"aba 4-4-1", "routing 0210 0002 1", []string{"aba_routing/high"}},
		{"aba 4-4-1 dashed", "ABA: 0210-0002-1", []string{"aba_routing/high"}},
		{"aadhaar dotted", "aadhaar 2341.2341.2346", verhoeffCase("2341 2341 234")},
		{"aadhaar dotted unlabelled", "v 2341.2341.2346", nil},
		{"mbi lower", "MBI 1eg4-te5-mk73", []string{"us_mbi/medium"}},
		{"mbi lower compact", "medicare id: 1eg4te5mk73", []string{"us_mbi/medium"}},
		{"npi provider identifier", "provider identifier 1234567893", []string{"us_npi/high"}},
		{"openai named", "sk-None-Qm4tZ8pL2xW9kV3nB7cJT3BlbkFJh5Rg1Ty6Uo0Ie8WaSdZq", []string{"openai_api_key/high"}},
		{"openai named 2", "OPENAI_API_KEY=sk-myservice-Qm4tZ8pL2xW9kV3nB7cJ4kD2T3BlbkFJh5Rg1Ty6Uo0Ie8WaSdZq9x", []string{"openai_api_key/high"}},
		// base64 blobs (depth 1)
		{"base64 card", "data=" + b64std("card number 4111111111111111 exp 12/29"), []string{"credit_card/high"}},
		{"base64 nested twice", "d=" + b64std(b64std("card number 4111111111111111 exp 12/29")), nil},
		{"base64 random", "blob " + b64std(string(g.digits(60))), nil},
	}
	return cc
}

// luhnFixed returns d with its last digit set so that it passes Luhn.
func luhnFixed(d string) string {
	b := []byte(d)
	fixLuhn(b)
	return string(b)
}

func b64std(s string) string {
	return strings.NewReplacer("-", "+", "_", "/").Replace(b64url(s))
}

func verhoeffCase(prefix string) []string {
	d := []byte(strings.ReplaceAll(prefix, " ", "") + "0")
	for c := byte('0'); c <= '9'; c++ {
		d[len(d)-1] = c
		if verhoeff(d) {
			if c == '6' {
				return []string{"aadhaar/high"}
			}
		}
	}
	return nil
}

func verhoeffCaseCtx(s string) []string {
	if verhoeff([]byte(s)) {
		return []string{"aadhaar/high"}
	}
	return nil
}

func sinCase(s string) []string {
	if sinValid([]byte(s)) {
		return []string{"ca_sin/high"}
	}
	return nil
}

func TestDetectors(t *testing.T) {
	e := testEngine(t)
	for _, c := range detectorCases() {
		t.Run(c.name, func(t *testing.T) {
			got := typesOf(scanAll(e, c.in))
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestGeneratedValues checks many generated values of every type in every
// format, with context, and their near misses without context.
func TestGeneratedValues(t *testing.T) {
	e := testEngine(t)
	g := newGen(11)
	type gc struct {
		typ  string
		ctx  string
		make func() string
	}
	gens := []gc{
		{"credit_card", "card", func() string { return g.formatCard(g.card()) }},
		{"us_ssn", "ssn", g.ssn}, {"us_itin", "itin", g.itin}, {"iban", "", g.iban},
		{"aadhaar", "", g.aadhaar}, {"uk_nhs", "NHS no", g.nhs}, {"us_npi", "npi", g.npi},
		{"us_dea", "DEA", g.dea}, {"ca_sin", "SIN", g.sin}, {"aba_routing", "routing", g.aba},
		{"uk_nino", "NINO", g.nino}, {"us_mbi", "MBI", g.mbi}, {"in_pan", "PAN", g.pan},
		{"passport", "passport", g.passport}, {"icd10", "diagnosis", g.icd10}, {"email", "", g.email},
		{"phone", "phone", g.phone}, {"aws_access_key", "", g.aws}, {"github_token", "", g.github},
		{"openai_api_key", "", g.openai}, {"anthropic_api_key", "", g.anthropic}, {"slack_token", "", g.slack},
		{"stripe_key", "", g.stripe}, {"private_key", "", g.pemKey}, {"jwt", "", g.jwt},
		{"generic_api_key", "api_key=", g.genericKey},
	}
	for _, gg := range gens {
		for k := 0; k < 200; k++ {
			v := gg.make()
			in := "x " + gg.ctx + " " + v + " y"
			if gg.typ == "generic_api_key" {
				in = "x " + gg.ctx + v + " y"
			}
			ms := scanAll(e, in)
			if len(ms) != 1 || ms[0].Type != gg.typ {
				t.Fatalf("%s #%d (%s len %d): got %v", gg.typ, k, maskForTest(v), len(v), typesOf(ms))
			}
			if strings.Contains(ms[0].Evidence, v) && len(v) > 6 {
				t.Fatalf("%s: evidence leaks the value", gg.typ)
			}
		}
	}
	neg := map[string]func() string{"card": g.cardNearMiss, "ssn": g.ssnInvalid, "iban": g.ibanInvalid, "github": g.githubInvalid}
	for name, f := range neg {
		for k := 0; k < 500; k++ {
			v := f()
			ms := scanAll(e, "ssn iban card: "+v+" .")
			if name == "card" && offRangeLabelled(v) {
				if got := typesOf(ms); len(got) != 1 || got[0] != "credit_card/medium" {
					t.Fatalf("labelled off-range card %s reported as %v", maskForTest(v), got)
				}
				continue
			}
			if len(ms) != 0 {
				t.Fatalf("%s near miss %s reported as %v", name, maskForTest(v), typesOf(ms))
			}
		}
	}
}

// maskForTest keeps failure messages free of full values.
func maskForTest(v string) string {
	if len(v) <= 4 {
		return "****"
	}
	return strings.Repeat("*", len(v)-4) + v[len(v)-4:]
}

// chunkReader returns its input in the given chunk sizes.
type chunkReader struct {
	b     []byte
	sizes []int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := len(r.b)
	if len(r.sizes) > 0 {
		n = min(n, r.sizes[0])
		r.sizes = r.sizes[1:]
	}
	n = min(n, len(p))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

func readerMatches(t testing.TB, e *Engine, in []byte, sizes ...int) []Match {
	var out []Match
	if err := ScanReader(&chunkReader{b: in, sizes: sizes}, e, func(m Match) { out = append(out, m) }); err != nil {
		t.Fatal(err)
	}
	return out
}

func streamFindings(e *Engine, parts ...[]byte) string {
	st := e.NewScanner().NewStream("out")
	for _, p := range parts {
		st.Write(p)
	}
	st.Flush()
	var b bytes.Buffer
	for _, f := range st.Findings(nil) {
		fmt.Fprintf(&b, "%s %s %d %s %v %v;", f.Type, f.Class, f.Count, f.Confidence, f.Evidence, f.Hashes)
	}
	return b.String()
}

// matchKey renders matches in offset order: ScanReader reports the values
// inside encoded tokens per chunk, ScanAll after the rest, so only the set
// of matches is the same however the input was cut.
func matchKey(ms []Match) string {
	ms = slices.Clone(ms)
	slices.SortStableFunc(ms, func(a, b Match) int {
		if a.Start != b.Start {
			return cmp.Compare(a.Start, b.Start)
		}
		if a.End != b.End {
			return cmp.Compare(a.End, b.End)
		}
		return strings.Compare(a.Type, b.Type)
	})
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%s[%d,%d)%s %s %s|", m.Type, m.Start, m.End, m.Confidence, m.Evidence, m.Hash)
	}
	return b.String()
}

// TestSplitEveryOffset feeds every positive case split in two at every
// offset, through ScanReader (offsets) and Stream (findings), padded so the
// value also lands at window and chunk boundaries.
func TestSplitEveryOffset(t *testing.T) {
	e := testEngine(t)
	for _, c := range detectorCases() {
		for _, pad := range []int{0, 1, 600, chunk - 10} {
			in := []byte(strings.Repeat(" ", pad) + c.in)
			want := matchKey(scanAllB(e, in))
			wantF := streamFindings(e, in)
			start := 0
			if pad > 50 {
				start = pad - 50
			}
			for k := start; k <= len(in); k++ {
				if got := matchKey(readerMatches(t, e, in, k, len(in))); got != want {
					t.Fatalf("%s pad %d split %d: reader %q, whole %q", c.name, pad, k, got, want)
				}
				if got := streamFindings(e, in[:k], in[k:]); got != wantF {
					t.Fatalf("%s pad %d split %d: stream %q, whole %q", c.name, pad, k, got, wantF)
				}
			}
		}
	}
}

func scanAllB(e *Engine, b []byte) []Match {
	var out []Match
	e.ScanAll(b, func(m Match) { out = append(out, m) })
	return out
}

// TestBase64JWT covers a JWT inside a base64 blob: its header is decoded
// while the blob's decoded piece is being scanned.
func TestBase64JWT(t *testing.T) {
	e := testEngine(t)
	g := newGen(3)
	in := "x=" + b64std("token "+g.jwt()+" and card 4111111111111111 end")
	got := typesOf(scanAll(e, in))
	if strings.Join(got, ",") != "jwt/high,credit_card/high" {
		t.Fatalf("got %v", got)
	}
}

func TestConfig(t *testing.T) {
	for _, c := range []Config{{ContextWindow: 300}, {ContextWindow: -1}, {MinBase64: 8}, {Disable: []string{"nope"}}} {
		if _, err := NewEngine(c, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	e, err := NewEngine(Config{Disable: []string{"email"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms := scanAll(e, "a@example.com 4111111111111111")
	if len(ms) != 1 || ms[0].Type != "credit_card" || ms[0].Hash != "" {
		t.Fatalf("disabled email or unkeyed hash: %+v", ms)
	}
	ms = scanAll(testEngine(t), "sk_live_4eC39HqLyjWDarjtT1zdp7dc j.doe@example.com")
	if len(ms) != 2 || ms[0].Evidence != "sk_l****" || ms[1].Evidence != "j***@example.com" ||
		!strings.HasPrefix(ms[0].Hash, "hmac:") || len(ms[0].Hash) != 5+32 {
		t.Fatalf("masking: %+v", ms)
	}
	var js []byte
	js = ms[0].AppendJSON(js)
	if !strings.HasPrefix(string(js), `{"type":"stripe_key","class":"SECRET","start":0,"end":32,"confidence":"high","evidence":"sk_l****"`) {
		t.Fatalf("json %s", js)
	}
}
