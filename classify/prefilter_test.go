package classify

import (
	"fmt"
	"slices"
	"testing"
)

// TestBlockBoundaries puts every detector case that has findings into
// random binary at offsets around the prefilter's 64-byte blocks and the
// encoded pass's eight-byte words (the value's first byte at byte 7, 8, 63,
// 64, ... of a block, its last byte at the end of the buffer), and checks
// that the fast scanner finds what the reference finds and at least what
// the case expects, whole and as a Stream cut into writes around the
// blocks.
func TestBlockBoundaries(t *testing.T) {
	e := testEngine(t)
	fast, ref := e.NewScanner(), refScanner(e)
	rnd := contentInputs()[0].data
	var offs []int
	for _, base := range []int{0, 64, 128} {
		for d := -9; d <= 9; d++ {
			if o := base + d; o >= 0 {
				offs = append(offs, o)
			}
		}
	}
	n := 0
	for k, c := range detectorCases() {
		if c.want == nil {
			continue
		}
		val := "\xff\n" + c.in + "\n\xff"
		for _, o := range offs {
			for _, tail := range []int{0, 1, 7, 8, 9, 64, 65, 150} {
				if tail != 150 && o%3 != 0 {
					continue // the value at the buffer's end: fewer offsets
				}
				b := append([]byte(nil), rnd[k*500:k*500+o]...)
				b = append(b, val...)
				b = append(b, rnd[k*500+o:k*500+o+tail]...)
				name := fmt.Sprintf("%s at %d, %d after", c.name, o, tail)
				checkSame(t, fast, ref, name, b)
				got := typesOf(scanWith(fast, b))
				for _, w := range c.want {
					if !slices.Contains(got, w) {
						t.Fatalf("%s: found %v, want %s", name, got, w)
					}
				}
				n++
				if tail != 150 || o%4 != 0 {
					continue
				}
				for _, seg := range []int{7, 8, 63, 64, 65, 72, 73} {
					if got, want := streamWith(fast, b, seg), streamWith(ref, b, seg); got != want {
						t.Fatalf("%s, writes of %d: fast\n%s\nreference\n%s", name, seg, got, want)
					}
				}
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d placements", n)
	}
}

// TestShortBuffers checks buffers of 0 to 40 bytes of random binary, alone
// and ending in short values, against the reference: every block of them
// is a partial one.
func TestShortBuffers(t *testing.T) {
	e := testEngine(t)
	fast, ref := e.NewScanner(), refScanner(e)
	rnd := contentInputs()[0].data
	for _, tail := range []string{"", "a@b.co", "ssn 123-45-6789", "%34%31%31%31", "MTIzNDU2Nzg5", "+14155552671", "x=1"} {
		for n := 0; n <= 40; n++ {
			for k := range 8 {
				b := append(append([]byte(nil), rnd[k*97:k*97+n]...), tail...)
				checkSame(t, fast, ref, fmt.Sprintf("%d random bytes then %q", n, tail), b)
			}
		}
	}
}
