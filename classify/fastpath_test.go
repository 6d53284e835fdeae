package classify

import (
	"strings"
	"testing"
)

// The scan's fast paths (eight-byte word starts in context windows, whole
// base64 quanta, key-name suffix groups, the digit-count cut-off) must give
// exactly the answers of the plain definitions they replace. These tests
// compare them with straightforward reference versions.

// maskRef is the definition of ctxIndex.mask: every built-in context word
// at every position whose previous byte is not alphanumeric.
func maskRef(b []byte) uint32 {
	var m uint32
	for p := 0; p+1 < len(b); p++ {
		if p > 0 && isAlnum[b[p-1]] {
			continue
		}
		for t := Type(0); t <= cardLabelBit; t++ {
			words := cardLabels
			if t < numBuiltin {
				words = builtinContext[t]
			}
			for _, w := range words {
				if e := foldMatch(b[p:], strings.ToLower(w)); e > 0 && (p+e >= len(b) || !isAlnum[b[p+e]]) {
					m |= 1 << t
				}
			}
		}
	}
	return m
}

func TestCtxMaskReference(t *testing.T) {
	x := newCtxIndex()
	cases := []string{
		"", "s", "ss", "ssn", "ssn:", "xssn", "ssnx", "SSN 123", "ss # 1", "ss#", "Social_Security no",
		"card\xffnumber", "\x80card", "card\x80", "pan_no pancard", "icd-10 dx", "01234567card", "0123456card",
		"visa ", "aadhaar.uid", "nhs-number", "national_health", "tel", "(tel)", "passportnumber 12",
	}
	for _, c := range cases {
		if got, want := x.mask([]byte(c)), maskRef([]byte(c)); got != want {
			t.Errorf("mask(%q) = %#x, want %#x", c, got, want)
		}
	}
	// Words glued in random order, with bytes at and above 0x80, at every
	// alignment relative to the eight-byte blocks.
	g := newGen(7)
	parts := []string{"ssn", "SSN", "ss#", "ss #", "social_security", "Social-Sec", "x", "é", "\xff", "\x80", "1", "_", " ",
		".", "pan", "pancard", "cc", "dx", "card", "Card9", "nhs", "ni no", "icd-10", "Z", "z", "9"}
	n := 50000
	if testing.Short() {
		n = 5000
	}
	for k := 0; k < n; k++ {
		var b []byte
		for p := g.r.IntN(14); p > 0; p-- {
			b = append(b, parts[g.r.IntN(len(parts))]...)
		}
		if got, want := x.mask(b), maskRef(b); got != want {
			t.Fatalf("mask(%q) = %#x, want %#x", b, got, want)
		}
	}
}

// b64decodeRef is the definition of b64decode: one character at a time.
func b64decodeRef(dst, src []byte) int {
	n := 0
	var acc uint32
	bits := 0
	for _, c := range src {
		v := b64Val[c]
		if v == 0xff {
			break
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			if n < len(dst) {
				dst[n] = byte(acc >> uint(bits))
				n++
			}
		}
	}
	return n
}

func TestB64DecodeReference(t *testing.T) {
	g := newGen(11)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
	for k := 0; k < 20000; k++ {
		src := []byte(g.str(g.r.IntN(80), alphabet))
		if len(src) > 0 && g.r.IntN(3) == 0 {
			src[g.r.IntN(len(src))] = "=.\n\x00\xff"[g.r.IntN(5)]
		}
		dstLen := g.r.IntN(70)
		got, want := make([]byte, dstLen), make([]byte, dstLen)
		gn, wn := b64decode(got, src), b64decodeRef(want, src)
		if gn != wn || string(got[:gn]) != string(want[:wn]) {
			t.Fatalf("b64decode(%q, dst %d) = %q, want %q", src, dstLen, got[:gn], want[:wn])
		}
	}
}

// keyLikeRef is the definition of keyLike over the full name lists.
func keyLikeRef(n []byte) bool {
	for _, k := range notKeyNames {
		if len(n) >= len(k) && string(n[len(n)-len(k):]) == k {
			return false
		}
	}
	for _, k := range keyNames {
		if len(n) >= len(k) && string(n[len(n)-len(k):]) == k {
			switch {
			case len(n) == len(k):
				return true
			case k == "key":
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

func TestKeyLikeReference(t *testing.T) {
	var names []string
	for _, k := range append(keyNames[:], notKeyNames[:]...) {
		names = append(names, k, "x"+k, "x_"+k, k[1:], k[:len(k)-1], "my"+k+"s")
	}
	names = append(names, "", "a", "ey", "key", "monkey", "version", "session", "next_page_token")
	for _, n := range names {
		if got, want := keyLike([]byte(n)), keyLikeRef([]byte(n)); got != want {
			t.Errorf("keyLike(%q) = %v, want %v", n, got, want)
		}
	}
}

// TestNumericDigitCutoff checks minValueDigits against every value shape:
// each detector's shortest value still reaches numAt.
func TestNumericDigitCutoff(t *testing.T) {
	e := testEngine(t)
	for _, c := range []struct{ in, typ string }{
		{"passport 12345678", "passport"},
		{"ssn 078-05-1121", "us_ssn"},
		{"SIN: 130 692 544", "ca_sin"},
		{"phone 1 415 555 2671", "phone"},
	} {
		found := false
		e.ScanAll([]byte(c.in), func(m Match) { found = found || m.Type == c.typ })
		if !found {
			t.Errorf("%q: no %s", c.in, c.typ)
		}
	}
}
