package classify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

// maxNorm bounds the normalized value kept for masking and hashing; longer
// values (JWTs, long keys) are hashed over their first maxNorm bytes.
const maxNorm = 160

// maskInto writes the masked evidence of a normalized value into dst and
// returns its length. It never copies more of the value than the masking
// policy allows: last four digits of account numbers, first letter and
// domain of e-mails, first four characters of secrets, the tail of others.
func maskInto(dst *[maxNorm + 8]byte, mk maskKind, v []byte, label []byte) int {
	n := 0
	put := func(c byte) {
		if n < len(dst) {
			dst[n] = c
			n++
		}
	}
	switch mk {
	case maskEmail:
		at := -1
		for i := len(v) - 1; i >= 0; i-- {
			if v[i] == '@' {
				at = i
				break
			}
		}
		if at <= 0 {
			for range min(len(v), 8) {
				put('*')
			}
			return n
		}
		put(v[0])
		put('*')
		put('*')
		put('*')
		for _, c := range v[at:] {
			put(c)
		}
	case maskSecret:
		k := min(4, len(v)/3)
		for _, c := range v[:k] {
			put(c)
		}
		put('*')
		put('*')
		put('*')
		put('*')
	case maskLabel:
		for _, c := range label {
			put(c)
		}
	default:
		keep := 4
		if mk == maskTail {
			switch {
			case len(v) >= 9:
				keep = 4
			case len(v) >= 7:
				keep = 3
			default:
				keep = 2
			}
		}
		if keep > len(v)/2 {
			keep = len(v) / 2
		}
		for range len(v) - keep {
			put('*')
		}
		for _, c := range v[len(v)-keep:] {
			put(c)
		}
	}
	return n
}

// hmacer computes "hmac:<hex of the first 16 bytes>" of normalized values.
// One per Scanner, so the keyed state is set up once, not per value.
type hmacer struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func newHMACer(key []byte) *hmacer {
	if len(key) == 0 {
		return nil
	}
	return &hmacer{h: hmac.New(sha256.New, key)}
}

// hashString returns the keyed hash label of v. It allocates the returned
// string; it is only called for matches, never per scanned byte.
func (m *hmacer) hashString(v []byte) string {
	m.h.Reset()
	m.h.Write(v)
	s := m.h.Sum(m.sum[:0])
	var out [5 + 32]byte
	copy(out[:], "hmac:")
	hex.Encode(out[5:], s[:16])
	return string(out[:])
}
