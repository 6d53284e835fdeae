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

// Cutting a stream anywhere and continuing it from its carry-over finds
// what the uncut stream finds: the first part reports what it completed,
// the continuation the rest, each value once. The one exception is a cut
// inside a value whose prefix is a value of its own (an e-mail address
// cut after "example.co"): the first part ends with that prefix and
// reports it, the continuation the whole value.
func TestCarryOverAtEveryCut(t *testing.T) {
	e := testEngine(t)
	text := "hello, payment card 4111 1111 1111 1111 exp 12/29; employee SSN: 536-22-8741; " +
		"mail alice.liddell@example.com and key AKIAIOSFODNN7EXAMPLE end\n"
	values := map[string]string{"credit_card": "4111 1111 1111 1111", "us_ssn": "536-22-8741", "email": "alice.liddell@example.com"}
	count := func(st *Stream) map[string]int {
		m := map[string]int{}
		for _, f := range st.Findings(nil) {
			m[f.Type] += f.Count
		}
		return m
	}
	sc := e.NewScanner()
	whole := sc.NewStream("out")
	whole.Write([]byte(text))
	whole.Flush()
	want := count(whole)
	if len(want) < 3 {
		t.Fatalf("the text has too few findings to test with: %v", want)
	}
	for cut := range len(text) + 1 {
		a, b := sc.NewStream("out"), sc.NewStream("out")
		a.Write([]byte(text[:cut]))
		var c Carry
		a.CarryOver(&c)
		a.Flush()
		b.Seed(&c)
		b.Write([]byte(text[cut:]))
		b.Flush()
		got := count(a)
		for k, v := range count(b) {
			got[k] += v
		}
		for k, v := range want {
			if val := values[k]; cut > strings.Index(text, val) && cut < strings.Index(text, val)+len(val) && got[k] == v+1 {
				continue // the prefix-is-a-value exception
			}
			if got[k] != v {
				t.Errorf("cut at %d (%q|%q): %s found %d times, want %d (all %v)", cut, text[max(0, cut-8):cut], text[cut:min(len(text), cut+8)], k, got[k], v, got)
			}
		}
	}
}
