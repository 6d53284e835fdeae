// Package jsonw appends JSON to caller-owned buffers without reflection:
// the one string, number and object writer behind every record tapdlp
// writes (native records in record/, ECS and EVE in record/siem). Its
// output is byte for byte what encoding/json.Marshal writes for the same
// values (HTML-safe string escaping, invalid UTF-8 as U+FFFD, ES6 float
// format), so encoding/json stays the test oracle.
package jsonw

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// Writer builds one JSON object (or nested objects and arrays) member by
// member into B. The zero value with B set to a buffer that ends in '{' (see
// Object) is ready; comma says whether the next member needs a separator.
// Member names are written as given: they must be constant ASCII names that
// need no escaping.
type Writer struct {
	B     []byte
	comma bool
}

// Object starts an object at the end of dst.
func Object(dst []byte) Writer { return Writer{B: append(dst, '{')} }

// End closes the object started by Object and returns the buffer.
func (w *Writer) End() []byte { return append(w.B, '}') }

// Key writes a member name and the colon; the value follows.
func (w *Writer) Key(k string) {
	if w.comma {
		w.B = append(w.B, ',', '"')
	} else {
		w.B = append(w.B, '"')
	}
	w.B = append(append(w.B, k...), '"', ':')
	w.comma = true
}

// Open starts a member k whose value is an object.
func (w *Writer) Open(k string) {
	w.Key(k)
	w.B = append(w.B, '{')
	w.comma = false
}

// Close ends the object started by Open.
func (w *Writer) Close() { w.B = append(w.B, '}'); w.comma = true }

// OpenArr starts a member k whose value is an array; Elem separates its
// elements.
func (w *Writer) OpenArr(k string) {
	w.Key(k)
	w.B = append(w.B, '[')
	w.comma = false
}

// CloseArr ends the array started by OpenArr.
func (w *Writer) CloseArr() { w.B = append(w.B, ']'); w.comma = true }

// Elem starts an array element (or an object member written by hand).
func (w *Writer) Elem() {
	if w.comma {
		w.B = append(w.B, ',')
	}
	w.comma = true
}

// OpenElem starts an array element that is an object.
func (w *Writer) OpenElem() {
	w.Elem()
	w.B = append(w.B, '{')
	w.comma = false
}

// Str writes member k with string value v.
func (w *Writer) Str(k, v string) { w.Key(k); w.B = AppendString(w.B, v) }

// StrOmit writes k unless v is empty (`json:",omitempty"`).
func (w *Writer) StrOmit(k, v string) {
	if v != "" {
		w.Str(k, v)
	}
}

// StrsOmit writes k as an array of strings unless vs is empty.
func (w *Writer) StrsOmit(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	w.OpenArr(k)
	for _, v := range vs {
		w.Elem()
		w.B = AppendString(w.B, v)
	}
	w.CloseArr()
}

// Uint writes member k with value v.
func (w *Writer) Uint(k string, v uint64) { w.Key(k); w.B = strconv.AppendUint(w.B, v, 10) }

// UintOmit writes k unless v is 0.
func (w *Writer) UintOmit(k string, v uint64) {
	if v != 0 {
		w.Uint(k, v)
	}
}

// UintsOmit writes k as an array of numbers unless vs is empty.
func UintsOmit[T ~uint8 | ~uint16 | ~uint32 | ~uint64](w *Writer, k string, vs []T) {
	if len(vs) == 0 {
		return
	}
	w.OpenArr(k)
	for _, v := range vs {
		w.Elem()
		w.B = strconv.AppendUint(w.B, uint64(v), 10)
	}
	w.CloseArr()
}

// Int writes member k with value v.
func (w *Writer) Int(k string, v int64) { w.Key(k); w.B = strconv.AppendInt(w.B, v, 10) }

// IntOmit writes k unless v is 0.
func (w *Writer) IntOmit(k string, v int64) {
	if v != 0 {
		w.Int(k, v)
	}
}

// Bool writes member k with value v.
func (w *Writer) Bool(k string, v bool) { w.Key(k); w.B = strconv.AppendBool(w.B, v) }

// BoolOmit writes k unless v is false.
func (w *Writer) BoolOmit(k string, v bool) {
	if v {
		w.Bool(k, v)
	}
}

// Float writes member k with value v in encoding/json's format.
func (w *Writer) Float(k string, v float64) { w.Key(k); w.B = AppendFloat(w.B, v) }

// Raw writes member k with value v, which must be valid JSON.
func (w *Writer) Raw(k string, v []byte) { w.Key(k); w.B = append(w.B, v...) }

// AppendFloat appends v as encoding/json writes a float64: like ES6's
// number-to-string ('f' format, exponent form below 1e-6 and from 1e21,
// exponents not padded). encoding/json refuses NaN and ±Inf; they are
// written as null here, so a record is never lost to a bad number.
func AppendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(v)
	f := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		f = 'e'
	}
	b = strconv.AppendFloat(b, v, f, -1, 64)
	if f == 'e' {
		// e-09 → e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// AppendString appends s as a JSON string.
func AppendString(b []byte, s string) []byte {
	if !needsEscape(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	return append(AppendEscaped(append(b, '"'), s), '"')
}

// needsEscape reports whether s has a byte that is not written as it is
// (see safe): a control character, '"', '\\', '<', '>', '&' or any
// non-ASCII byte. It tests eight bytes per step (SWAR): the strings of a
// record are mostly plain ASCII (ids, addresses, names, enum words), which
// are then copied whole (BenchmarkStr: 7 % less time than the table walk).
func needsEscape(s string) bool {
	const (
		lo = 0x0101010101010101
		hi = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		v := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// hasLess(v, 0x20) | hasZero(v^c) for each special byte | any high bit.
		// Each test is exact as a whole (a borrow only ever follows a
		// byte that already matched), and v has no high bit when the
		// others matter.
		t := (v - lo*0x20) & ^v
		t |= hasZero(v ^ lo*'"')
		t |= hasZero(v ^ lo*'\\')
		t |= hasZero(v ^ lo*'<')
		t |= hasZero(v ^ lo*'>')
		t |= hasZero(v ^ lo*'&')
		if (t|v)&hi != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || !safe[c] {
			return true
		}
	}
	return false
}

// hasZero has the high bit set in some byte when v has a zero byte (and
// only then, as a whole).
func hasZero(v uint64) uint64 { return (v - 0x0101010101010101) & ^v }

// safe marks the ASCII bytes written as they are: from 0x20 (DEL included,
// as encoding/json does), except '"', '\\' and the HTML-sensitive '<', '>',
// '&'.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// AppendEscaped appends the body of s as a JSON string, without quotes,
// escaping exactly what encoding/json escapes: '"' and '\\', control
// characters (\b \f \n \r \t by name, others as \u00XX), '<' '>' '&' as
// \u003c \u003e \u0026, U+2028 and U+2029; invalid UTF-8 becomes \ufffd.
func AppendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += n
			start = i
			continue
		}
		i += n
	}
	return append(b, s[start:]...)
}
