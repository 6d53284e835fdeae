package classify

import (
	"encoding/binary"
	"math/bits"
)

// kwSet is a small set of lower-case context words. Context is only looked
// up for candidates that already passed their format and checksum, so a
// direct scan of the two windows with a first-byte filter beats building an
// automaton (BenchmarkContext compares it with cloudflare/ahocorasick).
type kwSet struct {
	first [256]bool
	words []string
}

func newKwSet(words []string) *kwSet {
	if len(words) == 0 {
		return nil
	}
	k := &kwSet{}
	for _, w := range words {
		lw := make([]byte, len(w))
		for i := 0; i < len(w); i++ {
			lw[i] = lower(w[i])
		}
		k.words = append(k.words, string(lw))
		k.first[lw[0]] = true
		if isLetter(lw[0]) {
			k.first[lw[0]-32] = true
		}
	}
	return k
}

// find reports whether any word occurs in b with no letter or digit
// directly before or after it ("ssn" matches "ssn:" and "user_ssn", not
// "classname"; "cc" does not match inside the hex "4acc5e"). A space in a
// word also matches '_', '-' and '.', so "social insurance" matches
// "social_insurance".
func (k *kwSet) find(b []byte) bool {
	x, _ := k.findAt(b, 0)
	return x >= 0
}

// findAt returns the first occurrence at or after from, or -1.
func (k *kwSet) findAt(b []byte, from int) (int, int) {
	for x := from; x < len(b); x++ {
		if !k.first[b[x]] || (x > 0 && isAlnum[b[x-1]]) {
			continue
		}
		for _, w := range k.words {
			if e := foldMatch(b[x:], w); e > 0 {
				if x+e < len(b) && isAlnum[b[x+e]] {
					continue
				}
				return x, x + e
			}
		}
	}
	return -1, -1
}

// foldMatch matches the lower-case word w at the start of b ignoring ASCII
// case, with a space in w matching any one of " _-.". It returns the match
// length or 0.
func foldMatch(b []byte, w string) int {
	if len(b) < len(w) {
		return 0
	}
	for i := 0; i < len(w); i++ {
		c := lower(b[i])
		if w[i] == ' ' {
			if c != ' ' && c != '_' && c != '-' && c != '.' {
				return 0
			}
		} else if c != w[i] {
			return 0
		}
	}
	return len(w)
}

// ctxIndex finds the context words of all built-in types in one pass over
// a window and returns a bit mask of the types whose words occur. A
// candidate often needs several types' context (a 9-digit number may be a
// routing number, SIN, ITIN, SSN or passport number); one pass serves all.
type ctxIndex struct {
	pair  [1 << 16 / 64]uint64 // bit set of lower-cased first two bytes of words
	rank  [1 << 16 / 64]uint16 // bits set in pair before each of its words
	words [][]ctxWord          // by rank of the first two bytes in pair
}

type ctxWord struct {
	w   string
	bit uint32
}

func newCtxIndex() *ctxIndex {
	x := &ctxIndex{}
	byPair := map[uint16][]ctxWord{}
	for t := Type(0); t <= cardLabelBit; t++ {
		words := cardLabels
		if t < numBuiltin {
			words = builtinContext[t]
		}
		for _, w := range words {
			lw := make([]byte, len(w))
			for i := 0; i < len(w); i++ {
				lw[i] = lower(w[i])
			}
			for _, second := range []byte{lw[1], ' ', '_', '-', '.'} {
				if lw[1] != ' ' && second != lw[1] {
					continue
				}
				k := uint16(lw[0])<<8 | uint16(second)
				x.pair[k/64] |= 1 << (k % 64)
				byPair[k] = append(byPair[k], ctxWord{string(lw), 1 << t})
			}
		}
	}
	n := 0
	for i, bs := range x.pair {
		x.rank[i] = uint16(n)
		for bs != 0 {
			k := uint16(i*64 + bits.TrailingZeros64(bs))
			x.words = append(x.words, byPair[k])
			bs &= bs - 1
			n++
		}
	}
	return x
}

// mask returns the types whose context words occur in b (same boundary
// rules as kwSet.find). Windows are scanned for every candidate that passed
// its checksum, so word starts (a letter or digit after a byte that is
// neither, or at 0) are found eight bytes at a time, and only those whose
// first two bytes begin a context word are compared.
func (x *ctxIndex) mask(b []byte) uint32 {
	n := len(b)
	var m uint32
	var prev uint64 // 0x80 if the byte before the block is alphanumeric
	p := 0
	for ; p+8 <= n; p += 8 {
		v := binary.LittleEndian.Uint64(b[p:])
		al := alnum8(v)
		starts := al &^ (al<<8 | prev)
		prev = al >> 56
		for starts != 0 {
			q := p + bits.TrailingZeros64(starts)>>3
			starts &= starts - 1
			if q+1 < n {
				if k := x.pairOf(b, q); x.pair[k>>6]>>(k&63)&1 != 0 {
					m = x.at(b, q, k, m)
				}
			}
		}
	}
	start := p == 0 || !isAlnum[b[p-1]]
	for ; p+1 < n; p++ {
		if start && isAlnum[b[p]] {
			if k := x.pairOf(b, p); x.pair[k>>6]>>(k&63)&1 != 0 {
				m = x.at(b, p, k, m)
			}
		}
		start = !isAlnum[b[p]]
	}
	return m
}

// pairOf returns the lower-cased bytes b[p], b[p+1] as a pair key.
func (x *ctxIndex) pairOf(b []byte, p int) uint16 {
	return uint16(lowerTbl[b[p]])<<8 | uint16(lowerTbl[b[p+1]])
}

// at adds to m the context words starting at b[p]; k is the pair key of
// b[p:p+2], which is in x.pair.
func (x *ctxIndex) at(b []byte, p int, k uint16, m uint32) uint32 {
	r := int(x.rank[k>>6]) + bits.OnesCount64(x.pair[k>>6]&(1<<(k&63)-1))
	for _, cw := range x.words[r] {
		if m&cw.bit != 0 {
			continue
		}
		if e := foldMatch(b[p:], cw.w); e > 0 && (p+e >= len(b) || !isAlnum[b[p+e]]) {
			m |= cw.bit
		}
	}
	return m
}

// alnum8 sets the high bit of each byte of v (eight input bytes, the first
// in the low byte) that is an ASCII letter or digit. Clearing the high bits
// first keeps the per-byte additions from carrying into the next byte;
// bytes from 0x80 up are masked out at the end.
func alnum8(v uint64) uint64 {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	x := v &^ msb
	l := x | 0x20*lsb // letters folded to lower case
	letter := (l + (0x80-'a')*lsb) &^ (l + (0x7f-'z')*lsb)
	digit := (x + (0x80-'0')*lsb) &^ (x + (0x7f-'9')*lsb)
	return (letter | digit) &^ v & msb
}

// cardLabelBit is the ctxIndex bit of cardLabels, the words that name a
// value as a card number. They make a Luhn-valid number outside every known
// issuer range a card (confidence medium); the wider CreditCard context
// ("payment", "pan", "debit") does not.
const cardLabelBit = numBuiltin

var cardLabels = []string{"card", "cc", "ccn", "card number", "cardnumber", "card no", "credit card", "creditcard", "card_number", "card num", "pan"}

var builtinContext = [numBuiltin][]string{
	CreditCard: {"card", "visa", "mastercard", "amex", "credit", "debit", "cc", "ccn", "pan", "payment", "maestro", "unionpay", "jcb", "discover", "diners", "cardnumber", "card_number"},
	USSSN:      {"ssn", "ss#", "ss #", "social security", "social sec", "socialsecurity", "soc sec"},
	USITIN:     {"itin", "taxpayer", "tax id", "tin"},
	Aadhaar:    {"aadhaar", "aadhar", "uidai", "uid"},
	UKNHS:      {"nhs", "national health", "nhsno", "nhs_number"},
	USNPI:      {"npi", "national provider", "provider id", "provider_id", "provider identifier", "provider number"},
	CASIN:      {"sin", "social insurance", "assurance sociale", "nas"},
	ABARouting: {"routing", "aba", "rtn", "transit number", "routing transit"},
	Phone:      {"phone", "tel", "telephone", "mobile", "cell", "cellphone", "fax", "whatsapp", "sms", "msisdn", "phone number"},
	Passport:   {"passport", "travel document", "passport_no", "passportnumber"},
	UKNINO:     {"nino", "national insurance", "ni number", "ni no", "nin"},
	USMBI:      {"mbi", "medicare", "beneficiary"},
	INPAN:      {"pan", "permanent account", "income tax", "pancard", "pan_no"},
	ICD10:      {"icd", "icd10", "icd-10", "icd_10", "diagnosis", "diagnoses", "diag", "dx", "condition", "clinical"},
	USDEA:      {"dea", "prescriber", "dea#", "registrant"},
}
