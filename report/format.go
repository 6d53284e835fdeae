package report

import (
	"math"
	"strconv"
	"time"
)

// humanBytes formats n with SI units ("12.3 MB"), the way the charts'
// axes are ticked.
func humanBytes(n uint64) string {
	const units = "kMGTPE"
	if n < 1000 {
		return strconv.FormatUint(n, 10) + " B"
	}
	f := float64(n)
	i := -1
	for f >= 999.95 && i < len(units)-1 {
		f /= 1000
		i++
	}
	prec := 1
	if f >= 100 {
		prec = 0
	}
	return strconv.FormatFloat(f, 'f', prec, 64) + " " + units[i:i+1] + "B"
}

// count formats n with thin thousands separators ("1 234 567").
func count(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 4 {
		return s
	}
	out := make([]byte, 0, len(s)+len(s)/3*3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, "\u2009"...)
		}
		out = append(out, s[i])
	}
	return string(out)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 MST")
}

// fmtDuration rounds a span to what a reader needs ("2h 15m", "340ms").
func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	default:
		return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64) + " days"
	}
}

// tickLayout picks a time label layout for a bucket width.
func tickLayout(width time.Duration) string {
	switch {
	case width < time.Second:
		return "15:04:05.000"
	case width < time.Minute:
		return "15:04:05"
	case width < 24*time.Hour:
		return "Jan 02 15:04"
	default:
		return "2006-01-02"
	}
}

// niceCeil rounds v up to 1, 2, 5 or 10 times a power of ten, so axis
// ticks fall on round numbers.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func pct(part, whole uint64) string {
	if whole == 0 {
		return "0"
	}
	return strconv.FormatFloat(100*float64(part)/float64(whole), 'f', 1, 64)
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
