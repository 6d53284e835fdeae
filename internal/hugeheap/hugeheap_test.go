package hugeheap

import (
	"errors"
	"testing"
)

func TestThpMode(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"always [madvise] never\n", "madvise"},
		{"[always] madvise never\n", "always"},
		{"always madvise [never]\n", "never"},
		{"", ""},
		{"always madvise never", ""},
		{"] [", ""},
	} {
		if got := thpMode(c.in); got != c.want {
			t.Errorf("thpMode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestAdviseOnce: the first Advise decides for the process (here: nothing,
// size 0); every later one does nothing and says so.
func TestAdviseOnce(t *testing.T) {
	if r, err := Advise(0); err != nil || r != (Result{}) {
		t.Fatalf("first Advise(0) = %+v, %v; want nothing done", r, err)
	}
	for _, n := range []int64{0, 64 << 20} {
		if r, err := Advise(n); !errors.Is(err, ErrAgain) || r != (Result{}) {
			t.Errorf("later Advise(%d) = %+v, %v; want nothing done and ErrAgain", n, r, err)
		}
	}
}
