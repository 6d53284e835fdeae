package classify

import (
	"fmt"
	"testing"
)

func TestValidators(t *testing.T) {
	cases := []struct {
		name string
		fn   func([]byte) bool
		in   string
		want bool
	}{
		{"luhn", luhn, "79927398713", true},
		{"luhn", luhn, "79927398710", false},
		{"luhn", luhn, "7992739871x", false},
		{"luhn", luhn, "0", false},
		{"mod97", ibanValid, "GB82WEST12345698765432", true},
		{"mod97", ibanValid, "GB82WEST12345698765423", false},
		{"mod97", ibanValid, "GB82", false},
		{"verhoeff", verhoeff, "2363", true},
		{"verhoeff", verhoeff, "2364", false},
		{"verhoeff transposition", verhoeff, "3263", false},
		{"mod11", mod11NHS, "9434765919", true},
		{"mod11", mod11NHS, "9434765918", false},
		{"aba", abaValid, "011000015", true},
		{"aba", abaValid, "021000021", true},
		{"aba bad prefix", abaValid, "991000019", false},
		{"npi", npiValid, "1234567893", true},
		{"npi", npiValid, "1234567890", false},
		{"dea", deaValid, "1234563", true},
		{"dea", deaValid, "1234564", false},
		{"sin luhn but 0 first", sinValid, "046454286", false},
		{"ssn", ssnValid, "123456789", true},
		{"ssn area 666", ssnValid, "666456789", false},
		{"itin", itinValid, "912701234", true},
		{"itin advertising", itinValid, "987654321", false},
		{"github crc", func(b []byte) bool { return githubClassicValid(b[4:]) }, githubToken("ghp_", "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1"), true},
		{"icd10", icd10Category, "E11", true},
		{"icd10 U07", icd10Category, "U07", true},
		{"icd10 U12", icd10Category, "U12", false},
		{"icd10 alpha", icd10Category, "O9A", true},
		{"icd10 T95", icd10Category, "T95", false},
		{"nino", isNINO, "AB123456C", true},
		{"nino prefix", isNINO, "GB123456C", false},
	}
	for _, c := range cases {
		if got := c.fn([]byte(c.in)); got != c.want {
			t.Errorf("%s(%s) = %v, want %v", c.name, maskForTest(c.in), got, c.want)
		}
	}
}

func TestCardBrands(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"4111111111111111", true}, {"4222222222222", true}, {"411111111111111", false},
		{"5105105105105100", true}, {"2223003122003222", true}, {"2721000000000000", false},
		{"378282246310005", true}, {"37828224631000", false}, {"6011111111111117", true},
		{"3530111333300000", true}, {"180000000000000", true}, {"30569309025904", true},
		{"6200000000000005", true}, {"8100000000000000", true}, {"5019717010103742", true},
		{"9111111111111111", false}, {"7111111111111111", false}, {"1111111111111111", false},
	} {
		if got := cardBrandOK([]byte(c.in)); got != c.want {
			t.Errorf("cardBrandOK(%s) = %v", maskForTest(c.in), got)
		}
	}
	for _, s := range []string{"4111111111111111", "378282246310005", "6011111111111117"} {
		if !isTestCard([]byte(s)) || !luhn([]byte(s)) {
			t.Errorf("%s not a Luhn-valid test card", maskForTest(s))
		}
	}
	for v, l := range testCards {
		if d := []byte(fmt.Sprintf("%0*d", l, v)); !cardOK(d) {
			t.Errorf("test number %s is not brand- and Luhn-valid", maskForTest(string(d)))
		}
	}
	if !looksLikeMillis([]byte("1714567890123")) || looksLikeMillis([]byte("4222222222222")) {
		t.Error("millisecond heuristic")
	}
}
