package report

import (
	"math"
	"time"
)

// widths is the bucket-width ladder. Each width divides the next, so
// coarsening merges whole buckets (bucket i of width w falls entirely in
// bucket floor(i/k) of width k·w); past the last rung the width doubles.
var widths = []time.Duration{
	10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 7 * 24 * time.Hour,
}

// axis is the shared time axis of the time charts: the bucket width grows
// with the span seen so far, so the bucket count stays under max without
// knowing the span in advance (records arrive in any order across inputs).
//
// Widths of a second and more are kept in seconds, not as a Duration: a
// hostile span (year 1 to 9999) needs buckets wider than the 292 years a
// Duration holds.
type axis struct {
	rung   int
	ns     int64 // width in nanoseconds while below one second, else 0
	secs   int64 // width in seconds from one second up
	lo, hi int64 // bucket indexes seen (valid when any)
	any    bool
	max    int
	series []*series
}

func newAxis(maxBuckets int, s ...*series) axis {
	return axis{ns: int64(widths[0]), max: maxBuckets, series: s}
}

// width returns the bucket width for labels, saturated at the largest
// Duration.
func (a *axis) width() time.Duration {
	if a.secs == 0 {
		return time.Duration(a.ns)
	}
	if a.secs > int64(math.MaxInt64/time.Second) {
		return math.MaxInt64
	}
	return time.Duration(a.secs) * time.Second
}

// bucket returns t's bucket index, coarsening every series first when t
// widens the span past max buckets.
func (a *axis) bucket(t time.Time) int64 {
	b := a.index(t)
	if !a.any {
		a.lo, a.hi, a.any = b, b, true
		return b
	}
	for {
		lo, hi := min(a.lo, b), max(a.hi, b)
		if hi-lo < int64(a.max) {
			a.lo, a.hi = lo, hi
			return b
		}
		a.coarsen()
		b = a.index(t)
	}
}

func (a *axis) index(t time.Time) int64 {
	sec, nsec := t.Unix(), int64(t.Nanosecond())
	if a.secs == 0 {
		per := int64(time.Second) / a.ns // widths below 1s divide 1s
		return sec*per + nsec/a.ns
	}
	return floorDiv(sec, a.secs)
}

func (a *axis) coarsen() {
	var k int64
	switch {
	case a.rung+1 < len(widths):
		a.rung++
		next := widths[a.rung]
		if next < time.Second {
			k, a.ns = int64(next)/a.ns, int64(next)
		} else {
			old := a.secs
			if old == 0 {
				k = int64(next) / a.ns // from the last sub-second rung
			} else {
				k = int64(next/time.Second) / old
			}
			a.ns, a.secs = 0, int64(next/time.Second)
		}
	default:
		k = 2
		a.secs *= 2
	}
	a.lo, a.hi = floorDiv(a.lo, k), floorDiv(a.hi, k)
	for _, s := range a.series {
		s.rekey(k)
	}
}

// start returns the start time of bucket b.
func (a *axis) start(b int64) time.Time {
	if a.secs == 0 {
		per := int64(time.Second) / a.ns
		sec := floorDiv(b, per)
		return time.Unix(sec, (b-sec*per)*a.ns).UTC()
	}
	return time.Unix(b*a.secs, 0).UTC()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// cell is one (key, bucket) value of a series.
type cell struct {
	key    int32
	bucket int64
}

// series holds byte counts per key and bucket, at most maxCells cells; a
// value for a refused key or beyond the cell cap goes to the bucket's
// "other" (bounded by the axis's bucket cap).
type series struct {
	cells    map[cell]uint64
	other    map[int64]uint64
	maxCells int
	folded   uint64 // values that went to other because the cell cap was reached
}

func newSeries(maxCells int) *series {
	return &series{cells: make(map[cell]uint64), other: make(map[int64]uint64), maxCells: maxCells}
}

func (s *series) add(key int32, b int64, v uint64) {
	if key != otherID {
		c := cell{key, b}
		if _, ok := s.cells[c]; ok || len(s.cells) < s.maxCells {
			s.cells[c] += v
			return
		}
		s.folded++
	}
	s.other[b] += v
}

// rekey merges buckets k at a time after the axis widened.
func (s *series) rekey(k int64) {
	cells := make(map[cell]uint64, len(s.cells))
	for c, v := range s.cells {
		cells[cell{c.key, floorDiv(c.bucket, k)}] += v
	}
	other := make(map[int64]uint64, len(s.other))
	for b, v := range s.other {
		other[floorDiv(b, k)] += v
	}
	s.cells, s.other = cells, other
}
