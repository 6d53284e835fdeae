package classify

import (
	"math/rand/v2"
	"testing"
)

// checkPlanes fails when planes64 and planesOf disagree on the 64 bytes of
// b[1:65] (b is 73 bytes, as blockMask takes it).
func checkPlanes(t *testing.T, b []byte) {
	t.Helper()
	if !hasPlanes64 {
		t.Skip("no AVX2: planes64 is not used")
	}
	var got [8]uint64
	planes64(&b[1], &got)
	v0, v1, v2, v3, v4, v5, v6, v7 := planesOf(b)
	want := [8]uint64{v0, v1, v2, v3, v4, v5, v6, v7}
	if got != want {
		t.Fatalf("planes64 %x, planesOf %x, for % x", got, want, b[1:65])
	}
}

func TestPlanes64MatchesPlanesOf(t *testing.T) {
	checkTableLayout(t)
	// planes64 looks up only the high nibbles 2 to 7: a flag on a byte
	// outside 0x20-0x7f needs another row in planes_amd64.s.
	for c, f := range candFlags {
		if (c < 0x20 || c >= 0x80) && f != 0 {
			t.Fatalf("candFlags[%#x] = %#x: planes64 has no row for its high nibble", c, f)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	cases := map[string]func(b []byte, i int){
		// every byte value at every position of the block
		"each value": func(b []byte, i int) {
			for q := range b {
				b[q] = byte(i + q*7)
			}
		},
		"random":  func(b []byte, _ int) { fillRandom(r, b, 256) },
		"ascii":   func(b []byte, _ int) { fillRandom(r, b, 128) },
		"flagged": func(b []byte, _ int) { fillFrom(r, b, "aZ09_+/-. \\(@:=\"'?%`{~[!") },
		"high":    func(b []byte, _ int) { fillFrom(r, b, "\x80\xa0\xb0\xc0\xe0\xf0\xff\x7f\x1f\x20\x30\x40") },
	}
	for name, fill := range cases {
		t.Run(name, func(t *testing.T) {
			b := make([]byte, 73)
			for i := 0; i < 4096; i++ {
				fill(b, i)
				checkPlanes(t, b)
			}
		})
	}
}

func fillRandom(r *rand.Rand, b []byte, n int) {
	for q := range b {
		b[q] = byte(r.IntN(n))
	}
}

func fillFrom(r *rand.Rand, b []byte, alphabet string) {
	for q := range b {
		b[q] = alphabet[r.IntN(len(alphabet))]
	}
}

// FuzzPlanes64 compares the vector planes with the portable ones on any
// 64 bytes.
func FuzzPlanes64(f *testing.F) {
	f.Add([]byte("The quick brown fox: sk-live_0123456789 +1 (555) 010-9999, a@b.example"))
	f.Add([]byte{0x00, 0x1f, 0x20, 0x2f, 0x30, 0x3f, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := make([]byte, 73)
		copy(b, data)
		checkPlanes(t, b)
	})
}
