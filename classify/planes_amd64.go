package classify

import "golang.org/x/sys/cpu"

// hasPlanes64 says planes64 may be used: the CPU has AVX2.
var hasPlanes64 = cpu.X86.HasAVX2

// planes64 stores in v, for each flag (in the order of its bit), a word
// with a bit per byte of the 64 bytes at src, bit q for byte q: what
// planesOf computes with 72 table loads and a transpose, here with 32-byte
// vectors (AVX2): a nibble lookup per high nibble that holds flags, and a
// byte mask per flag. The scanner runs 1.14x faster on random and
// compressed bytes with it (BENCHMARKS.md, session 11).
func planes64(src *byte, v *[8]uint64) { planes64Tables(src, v, &planeTables) }

// planes64Tables is planes64 with its constants (planes_amd64.s), passed
// in rather than named there so that the Go side owns every use of them.
//
//go:noescape
func planes64Tables(src *byte, v *[8]uint64, t *nibbleTables)

// nibbleTables are the constants planes64 reads.
type nibbleTables struct {
	// flags holds candFlags in the form VPSHUFB looks up: row h-2 (for
	// the high nibbles 2 to 7, the only ones with flags: candFlags is zero
	// below 0x20 and from 0x80) has, at index l and again at 16+l (one
	// copy per 128-bit lane), the flags of byte h<<4|l.
	flags [6][32]byte
	// high holds, in row h-2, the high nibble h in every byte.
	high [6][32]byte
	// low4 is the mask of a low nibble in every byte.
	low4 [32]byte
}

var planeTables = func() (t nibbleTables) {
	for h := 2; h < 8; h++ {
		for l := 0; l < 16; l++ {
			f := candFlags[h<<4|l]
			t.flags[h-2][l], t.flags[h-2][16+l] = f, f
		}
		for i := range t.high[h-2] {
			t.high[h-2][i] = byte(h)
		}
	}
	for i := range t.low4 {
		t.low4[i] = 15
	}
	return t
}()
