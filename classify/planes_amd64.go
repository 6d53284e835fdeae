package classify

import "golang.org/x/sys/cpu"

// hasPlanes64 says planes64 may be used: the CPU has AVX2.
var hasPlanes64 = cpu.X86.HasAVX2

// planes64 stores in v, for each flag (in the order of its bit), a word
// with a bit per byte of the 64 bytes at src, bit q for byte q: what
// planesOf computes with 72 table loads and a transpose, here with 32-byte
// vectors (AVX2): a nibble lookup per high nibble that holds flags, and a
// byte mask per flag. ~3x less time per block than planesOf on random
// bytes (BENCHMARKS.md, session 11).
//
//go:noescape
func planes64(src *byte, v *[8]uint64)

// nibbleFlags holds candFlags as planes64 reads it: row h-2 (for the high
// nibbles 2 to 7, the only ones with flags: candFlags is zero below 0x20
// and from 0x80) has, at index l and again at 16+l (one copy per 128-bit
// lane, which VPSHUFB looks up in), the flags of byte h<<4|l.
var nibbleFlags = func() (t [6][32]byte) {
	for h := 2; h < 8; h++ {
		for l := 0; l < 16; l++ {
			f := candFlags[h<<4|l]
			t[h-2][l], t[h-2][16+l] = f, f
		}
	}
	return t
}()

// nibbleHigh holds, in row h-2, the high nibble h in every byte; low4 the
// mask of a low nibble in every byte. planes64 compares and masks with them.
var (
	nibbleHigh = func() (t [6][32]byte) {
		for h := 2; h < 8; h++ {
			for i := range t[h-2] {
				t[h-2][i] = byte(h)
			}
		}
		return t
	}()
	low4 = [32]byte{15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15}
)
