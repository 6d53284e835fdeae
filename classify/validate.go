package classify

import "hash/crc32"

// Validators work on normalized values: ASCII digits only unless stated.
// They never allocate and never panic on any input.

// luhn reports whether the digit string passes the Luhn (mod 10) check.
func luhn(d []byte) bool {
	if len(d) < 2 {
		return false
	}
	sum := 0
	dbl := false
	for i := len(d) - 1; i >= 0; i-- {
		c := d[i]
		if c < '0' || c > '9' {
			return false
		}
		v := int(c - '0')
		if dbl {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		dbl = !dbl
	}
	return sum%10 == 0
}

// mod97 is the ISO 7064 MOD 97-10 check used by IBAN, on an upper-case
// alphanumeric string already rotated (country and check digits at the end).
func mod97(s []byte) bool {
	if len(s) < 5 {
		return false
	}
	r := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			r = (r*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			v := int(c-'A') + 10
			r = (r*100 + v) % 97
		case c >= 'a' && c <= 'z':
			v := int(c-'a') + 10
			r = (r*100 + v) % 97
		default:
			return false
		}
	}
	return r == 1
}

// ibanValid checks an IBAN given as compact alphanumerics (no spaces).
func ibanValid(s []byte) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	var rot [34]byte
	n := copy(rot[:], s[4:])
	copy(rot[n:], s[:4])
	return mod97(rot[:len(s)])
}

var verhoeffD = [10][10]uint8{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
	{2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
	{4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
	{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
	{8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
}

var verhoeffP = [8][10]uint8{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
	{5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
	{9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
	{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
}

// verhoeff reports whether the digit string (check digit last) is valid.
func verhoeff(d []byte) bool {
	if len(d) < 2 {
		return false
	}
	c := uint8(0)
	for i := 0; i < len(d); i++ {
		x := d[len(d)-1-i]
		if x < '0' || x > '9' {
			return false
		}
		c = verhoeffD[c][verhoeffP[i%8][x-'0']]
	}
	return c == 0
}

// mod11NHS is the UK NHS number check: weights 10..2 over the first nine
// digits, check digit 11 - (sum mod 11), where 11 means 0 and 10 is invalid.
// For other lengths it applies the same scheme with weights len..2.
func mod11NHS(d []byte) bool {
	if len(d) < 2 {
		return false
	}
	sum := 0
	w := len(d)
	for i := 0; i < len(d)-1; i++ {
		c := d[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * w
		w--
	}
	last := d[len(d)-1]
	if last < '0' || last > '9' {
		return false
	}
	chk := 11 - sum%11
	if chk == 11 {
		chk = 0
	}
	if chk == 10 {
		return false
	}
	return chk == int(last-'0')
}

// abaValid checks a 9-digit ABA routing number: weights 3,7,1 repeating and a
// Federal Reserve prefix (00-12 government and banks, 21-32 thrifts, 61-72
// electronic, 80 traveller's cheques).
func abaValid(d []byte) bool {
	if len(d) != 9 {
		return false
	}
	p := int(d[0]-'0')*10 + int(d[1]-'0')
	if !(p <= 12 || (p >= 21 && p <= 32) || (p >= 61 && p <= 72) || p == 80) {
		return false
	}
	w := [3]int{3, 7, 1}
	sum := 0
	for i, c := range d {
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * w[i%3]
	}
	return sum%10 == 0 && sum != 0
}

// npiValid checks a 10-digit NPI: Luhn over "80840" followed by the number.
func npiValid(d []byte) bool {
	if len(d) != 10 || (d[0] != '1' && d[0] != '2') {
		return false
	}
	var b [15]byte
	copy(b[:], "80840")
	copy(b[5:], d)
	return luhn(b[:])
}

// sinValid checks a 9-digit Canadian SIN (Luhn; 0 and 8 are not issued as
// first digits).
func sinValid(d []byte) bool {
	return len(d) == 9 && d[0] != '0' && d[0] != '8' && luhn(d)
}

// deaValid checks the 7 digits of a DEA number: (d1+d3+d5) + 2*(d2+d4+d6)
// has the check digit d7 as last digit.
func deaValid(d []byte) bool {
	if len(d) != 7 {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	s := int(d[0]-'0') + int(d[2]-'0') + int(d[4]-'0') + 2*(int(d[1]-'0')+int(d[3]-'0')+int(d[5]-'0'))
	return s%10 == int(d[6]-'0')
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// githubClassicValid checks a classic GitHub token (prefix_ + 30 random
// base62 + 6 base62 digits of the CRC32 of the random part).
func githubClassicValid(body []byte) bool {
	if len(body) != 36 {
		return false
	}
	sum := crc32.ChecksumIEEE(body[:30])
	var enc [6]byte
	for i := 5; i >= 0; i-- {
		enc[i] = base62[sum%62]
		sum /= 62
	}
	return string(enc[:]) == string(body[30:])
}
