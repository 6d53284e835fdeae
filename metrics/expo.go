package metrics

import (
	"math"
	"strconv"
)

// maxLabelLen bounds a label value. Every legitimate value is shorter (rule
// ids are at most 64 bytes, interface names 15).
const maxLabelLen = 64

// maxSeries bounds the series of one family in one scrape. Label values come
// from configuration, so this only matters if a configuration is absurd;
// series past it are folded into label value "other" rather than dropped,
// so totals stay right.
const maxSeries = 1000

// expo writes the Prometheus text exposition format (version 0.0.4). Only
// scrapes use it, so it favours clarity over avoiding allocations.
type expo struct {
	b    []byte
	last *family
}

func newExpo(sizeHint int) *expo {
	return &expo{b: make([]byte, 0, sizeHint)}
}

// head writes f's HELP and TYPE lines the first time f is written. The
// format requires a family's samples to be contiguous; the writers keep them
// so, and TestCatalogIsWhatIsServed proves it.
func (e *expo) head(f *family) {
	if e.last == f {
		return
	}
	e.last = f
	e.b = append(e.b, "# HELP "...)
	e.b = append(e.b, f.name...)
	e.b = append(e.b, ' ')
	e.b = appendHelp(e.b, f.help)
	e.b = append(e.b, "\n# TYPE "...)
	e.b = append(e.b, f.name...)
	e.b = append(e.b, ' ')
	e.b = append(e.b, f.typ...)
	e.b = append(e.b, '\n')
}

// u writes one sample of f with an integer value. lv are the label values,
// in the order of f.labels; a sample whose label count does not match f is
// a bug and is not written (the catalog tests catch it).
func (e *expo) u(f *family, v uint64, lv ...string) {
	if len(lv) != len(f.labels) {
		return
	}
	e.start(f, lv)
	e.b = strconv.AppendUint(e.b, v, 10)
	e.b = append(e.b, '\n')
}

// f writes one sample with a float value.
func (e *expo) f(f *family, v float64, lv ...string) {
	if len(lv) != len(f.labels) {
		return
	}
	e.start(f, lv)
	e.b = appendFloat(e.b, v)
	e.b = append(e.b, '\n')
}

// start writes f's header if due and a sample's series, with sanitised
// label values.
func (e *expo) start(f *family, lv []string) {
	e.head(f)
	for i, v := range lv {
		if s := sanitize(v); s != v {
			lv = append([]string(nil), lv...)
			lv[i] = s
		}
	}
	e.b = appendSeries(e.b, f.name, "", f.labels, lv)
	e.b = append(e.b, ' ')
}

// appendSeries appends name+suffix and the label set {k="v",…}; values are
// escaped as the format requires.
func appendSeries(b []byte, name, suffix string, keys, vals []string) []byte {
	b = append(b, name...)
	b = append(b, suffix...)
	if len(keys) == 0 {
		return b
	}
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		b = append(b, '=', '"')
		b = appendEscaped(b, vals[i])
		b = append(b, '"')
	}
	return append(b, '}')
}

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendHelp escapes a HELP text (backslash and newline only, per format).
func appendHelp(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// sanitize makes a configured name safe as a label value: bytes outside
// [A-Za-z0-9_.:/-] become '_' and it is cut to maxLabelLen. Configured
// names already fit (rule ids, interface and sink names are validated at
// load); this is the last line of defence against a value that would bloat
// or break the exposition.
func sanitize(s string) string {
	if s == "" {
		return "none"
	}
	if len(s) > maxLabelLen {
		s = s[:maxLabelLen]
	}
	for i := 0; i < len(s); i++ {
		if !labelByte(s[i]) {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if !labelByte(b[j]) {
					b[j] = '_'
				}
			}
			return string(b)
		}
	}
	return s
}

func labelByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == ':' || c == '/' || c == '-'
}
