package classify

import (
	"strings"
	"testing"
)

// findTypes scans parts as two streams, the second seeded with the first's
// carry-over, and returns each stream's finding types.
func carryScan(t *testing.T, e *Engine, first, second string, seed bool) (a, b []string) {
	t.Helper()
	sc := e.NewScanner()
	s1, s2 := sc.NewStream("out"), sc.NewStream("out")
	s1.Write([]byte(first))
	var c Carry
	s1.CarryOver(&c)
	s1.Flush()
	if seed {
		s2.Seed(&c)
	}
	s2.Write([]byte(second))
	s2.Flush()
	for _, f := range s1.Findings(nil) {
		a = append(a, f.Type)
	}
	for _, f := range s2.Findings(nil) {
		b = append(b, f.Type)
	}
	if c.Len() > 2048 {
		t.Errorf("carry of %d bytes: more than the window", c.Len())
	}
	return a, b
}

func TestCarryOverJoinsAPause(t *testing.T) {
	e := testEngine(t)
	cases := []struct {
		name          string
		first, second string
		seed          bool
		a, b          string // finding types, comma-joined
	}{
		{"card split, seeded: found once, on the continuation", "payment card 4111 1111", " 1111 1111 exp 12/29\n", true, "", "credit_card"},
		{"card split, not seeded: lost", "payment card 4111 1111", " 1111 1111 exp 12/29\n", false, "", ""},
		{"card whole before the pause: reported by the first stream only", "payment card 4111 1111 1111 1111", " thanks, bye\n", true, "credit_card", ""},
		{"card whole after the pause", "hello there ", "payment card 4111 1111 1111 1111\n", true, "", "credit_card"},
		{"ssn split with its context word", "employee SSN: 536-22", "-8741 on file\n", true, "", "us_ssn"},
		{"empty first stream", "", "payment card 4111 1111 1111 1111\n", true, "", "credit_card"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := carryScan(t, e, tc.first, tc.second, tc.seed)
			if strings.Join(a, ",") != tc.a || strings.Join(b, ",") != tc.b {
				t.Errorf("first %v, continuation %v; want %q, %q", a, b, tc.a, tc.b)
			}
		})
	}
}

// A stream that stopped (flushed, or at inspect_bytes) carries nothing; a
// stream that already wrote is not seeded.
func TestCarryOverOfStoppedStream(t *testing.T) {
	e := testEngine(t)
	sc := e.NewScanner()
	s := sc.NewStream("out")
	s.Write([]byte("card 4111 1111"))
	s.Flush()
	var c Carry
	s.CarryOver(&c)
	if c.Len() != 0 || c.Pending() {
		t.Fatalf("flushed stream carries %d bytes", c.Len())
	}
	s2 := sc.NewStream("out")
	s2.Write([]byte("card 4111 1111"))
	s2.CarryOver(&c)
	if !c.Pending() {
		t.Fatal("digits held back are not pending")
	}
	s3 := sc.NewStream("out")
	s3.Write([]byte("x"))
	s3.Seed(&c)
	s3.Write([]byte(" 1111 1111\n"))
	s3.Flush()
	if f := s3.Findings(nil); len(f) != 0 {
		t.Fatalf("a stream seeded after writing joined the carry: %v", f)
	}
}
