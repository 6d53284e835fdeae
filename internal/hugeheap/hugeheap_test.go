package hugeheap

import "testing"

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

func TestAdviseNothing(t *testing.T) {
	for _, n := range []int64{0, -1} {
		r, err := Advise(n)
		if err != nil || r != (Result{}) {
			t.Errorf("Advise(%d) = %+v, %v; want nothing done", n, r, err)
		}
	}
}
