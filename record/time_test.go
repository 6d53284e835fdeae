package record

import (
	"testing"
	"time"
)

// The hand-written timestamp equals time's own formatting, over the whole
// range and at the edges of every field.
func TestTimeMarshalJSONMatchesFormat(t *testing.T) {
	cases := []time.Time{
		time.Unix(0, 0),
		time.Date(2026, 11, 22, 15, 4, 5, 123456789, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), // out of the fast path
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 1, 12, 0, 0, 1000, time.FixedZone("x", 3600)),
	}
	for ns := int64(0); ns < 4e18; ns += 123456789123457 {
		cases = append(cases, time.Unix(0, ns))
	}
	for _, c := range cases {
		got, err := Time{c}.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		want := `"` + c.UTC().Format("2006-01-02T15:04:05.000000Z") + `"`
		if string(got) != want {
			t.Errorf("%v: got %s, want %s", c, got, want)
		}
	}
}

func BenchmarkTimeMarshalJSON(b *testing.B) {
	t := TimeFromNanos(1_764_000_000_123_456_789)
	for b.Loop() {
		if _, err := t.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}
