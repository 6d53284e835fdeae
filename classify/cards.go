package classify

// prefixN returns the integer value of the first n digits of d.
func prefixN(d []byte, n int) int {
	v := 0
	for i := 0; i < n && i < len(d); i++ {
		v = v*10 + int(d[i]-'0')
	}
	return v
}

// cardBrandOK reports whether a digit string has the IIN range and length of
// an issuing network (ISO/IEC 7812 ranges as published by the networks).
func cardBrandOK(d []byte) bool {
	n := len(d)
	if n < 12 || n > 19 {
		return false
	}
	p1 := int(d[0] - '0')
	p2 := prefixN(d, 2)
	p3 := prefixN(d, 3)
	p4 := prefixN(d, 4)
	p6 := prefixN(d, 6)
	switch p1 {
	case 1:
		return n == 15 && p4 == 1800 // old JCB
	case 2:
		if n == 16 && p4 >= 2221 && p4 <= 2720 { // Mastercard 2-series
			return true
		}
		return n == 15 && p4 == 2131 // old JCB
	case 3:
		switch {
		case p2 == 34 || p2 == 37: // Amex
			return n == 15
		case p4 >= 3528 && p4 <= 3589: // JCB
			return n >= 16 && n <= 19
		case (p3 >= 300 && p3 <= 305) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39: // Diners
			return n >= 14 && n <= 19
		}
		return false
	case 4: // Visa (and Visa Electron, Switch 49xx, all Visa lengths)
		return n == 13 || n == 16 || n == 19
	case 5:
		switch {
		case p2 >= 51 && p2 <= 55: // Mastercard
			return n == 16
		case p2 == 50 || (p2 >= 56 && p2 <= 58): // Maestro, Dankort 5019
			return n >= 12
		}
		return false
	case 6:
		switch {
		case p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65: // Discover
			return n >= 16
		case p6 >= 622126 && p6 <= 622925: // Discover/UnionPay co-brand
			return n >= 16
		case p2 == 62: // UnionPay
			return n >= 16
		case p4 == 6304 || p4 == 6759 || (p4 >= 6761 && p4 <= 6763) || p4 == 6333 || p4 == 6334 || p4 == 6767 || p6 == 633110: // Maestro, Switch, Solo
			return n >= 12
		}
		return false
	case 8:
		return p2 == 81 && n >= 16 // UnionPay 81
	}
	return false
}

// testCards are issuer and processor test numbers (Stripe, PayPal, Adyen,
// Braintree documentation). They are reported, flagged test_number, because
// seeing them on the wire usually means a test system talks to production.
var testCards = map[uint64]uint8{}

func init() {
	for _, s := range []string{
		"4111111111111111", "4242424242424242", "4012888888881881", "4222222222222",
		"4000056655665556", "4000000000000002", "4000000000000077", "4000000000000093",
		"4000000000003220", "4000002500003155", "4000000000009995", "4000000000000127",
		"4917610000000000", "4462030000000000", "4988438843884305", "4444333322221111",
		"5555555555554444", "5105105105105100", "5200828282828210", "2223003122003222",
		"2222400010000008", "5454545454545454", "5500000000000004", "2223000048400011",
		"378282246310005", "371449635398431", "378734493671000", "340000000000009", "370000000000002",
		"6011111111111117", "6011000990139424", "6011000000000004", "6445644564456445",
		"3530111333300000", "3566002020360505", "3566111111111113",
		"30569309025904", "38520000023237", "36227206271667", "3056930009020004", "36259600000004",
		"6200000000000005", "6205500000000000004", "6250941006528599",
		"5019717010103742", "6331101999990016", "6759649826438453",
	} {
		testCards[digitsValue(s)] = uint8(len(s))
	}
}

func digitsValue[T ~string | ~[]byte](s T) uint64 {
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v*10 + uint64(s[i]-'0')
	}
	return v
}

func isTestCard(d []byte) bool {
	l, ok := testCards[digitsValue(d)]
	return ok && int(l) == len(d)
}

// looksLikeMillis reports whether a 13-digit run is a Unix time in
// milliseconds between 2001 and 2065, the most common 13-digit number in logs.
func looksLikeMillis(d []byte) bool {
	if len(d) != 13 {
		return false
	}
	v := digitsValue(d)
	return v >= 1_000_000_000_000 && v < 3_000_000_000_000
}
