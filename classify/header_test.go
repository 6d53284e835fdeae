package classify

import (
	"reflect"
	"testing"
)

// WriteHeader scans a plain field in one piece: it finds, counts and
// inspects exactly what the name, separator and value written one after
// the other do, whatever came before and however the cap cuts it.
func TestWriteHeaderOnePiece(t *testing.T) {
	e := testEngine(t)
	type field struct{ name, value string }
	cases := []struct {
		name   string
		fields []field
		limit  int64 // inspect cap, -1: none
	}{
		{"card in a value", []field{{"X-Card", "4111 1111 1111 1111"}}, -1},
		{"context word in the name", []field{{"X-SSN", "536-22-8741"}, {"Accept", "*/*"}}, -1},
		{"card after ordinary fields", []field{{"Host", "a.example"}, {"User-Agent", "curl/8"}, {"X-Pay", "card 5500 0000 0000 0004"}}, -1},
		{"cookie decoded, then plain", []field{{"Cookie", "c=4111%201111%201111%201111"}, {"X-Id", "078-05-1120"}}, -1},
		{"cap cuts a value", []field{{"X-A", "hello there"}, {"X-Card", "4111 1111 1111 1111"}}, 30},
		{"cap cuts a name", []field{{"X-Long-Name-Of-A-Field", "v"}}, 10},
		{"empty value", []field{{"X-Empty", ""}, {"X-Card", "5500 0000 0000 0004"}}, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := e.NewScanner()
			one, three := sc.NewStream("out"), sc.NewStream("out")
			if tc.limit >= 0 {
				one.limit, three.limit = tc.limit, tc.limit
			}
			for _, f := range tc.fields {
				one.WriteHeader([]byte(f.name), []byte(f.value))
				three.EndContent()
				three.Write([]byte(f.name))
				three.Write(headerSep)
				if hasFoldPrefix([]byte(f.name), "cookie") {
					three.WriteDecoded(KindURLEncoded, []byte(f.value))
				} else {
					three.Write([]byte(f.value))
				}
				three.EndContent()
			}
			one.Flush()
			three.Flush()
			got, want := one.Findings(nil), three.Findings(nil)
			if tc.limit < 0 && len(want) == 0 {
				t.Fatal("nothing found: the comparison would prove nothing")
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("one piece: %+v\nthree: %+v", got, want)
			}
			if one.Inspected() != three.Inspected() || one.Truncated() != three.Truncated() {
				t.Errorf("inspected %d truncated %v, three writes %d %v", one.Inspected(), one.Truncated(), three.Inspected(), three.Truncated())
			}
		})
	}
}
