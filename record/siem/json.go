package siem

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// enc appends one JSON object to b without reflection. comma says whether
// the next member needs a separator; objects are opened and closed by hand.
type enc struct {
	b     []byte
	comma bool
}

func (e *enc) key(k string) {
	if e.comma {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
	e.comma = true
}

func (e *enc) open(k string) {
	e.key(k)
	e.b = append(e.b, '{')
	e.comma = false
}

func (e *enc) close() { e.b = append(e.b, '}'); e.comma = true }

func (e *enc) openArr(k string) {
	e.key(k)
	e.b = append(e.b, '[')
	e.comma = false
}

func (e *enc) closeArr() { e.b = append(e.b, ']'); e.comma = true }

// elem starts an array element.
func (e *enc) elem() {
	if e.comma {
		e.b = append(e.b, ',')
	}
	e.comma = true
}

// str writes k when v is not empty.
func (e *enc) str(k, v string) {
	if v == "" {
		return
	}
	e.key(k)
	e.b = appendString(e.b, v)
}

func (e *enc) strs(k string, vs ...string) {
	if len(vs) == 0 {
		return
	}
	e.openArr(k)
	for _, v := range vs {
		e.elem()
		e.b = appendString(e.b, v)
	}
	e.closeArr()
}

func (e *enc) uint(k string, v uint64) { e.key(k); e.b = strconv.AppendUint(e.b, v, 10) }
func (e *enc) int(k string, v int64)   { e.key(k); e.b = strconv.AppendInt(e.b, v, 10) }
func (e *enc) bool(k string, v bool)   { e.key(k); e.b = strconv.AppendBool(e.b, v) }
func (e *enc) float(k string, v float64) {
	e.key(k)
	e.b = strconv.AppendFloat(e.b, v, 'f', -1, 64)
}

func (e *enc) time(k string, t time.Time, layout string) {
	e.key(k)
	e.b = append(e.b, '"')
	e.b = t.UTC().AppendFormat(e.b, layout)
	e.b = append(e.b, '"')
}

// appendString appends s as a JSON string. Control characters are
// escaped and invalid UTF-8 becomes U+FFFD, as encoding/json does.
func appendString(b []byte, s string) []byte {
	return append(appendEscaped(append(b, '"'), s), '"')
}

// appendEscaped appends the body of s as a JSON string, without quotes.
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				switch c {
				case '\n':
					b = append(b, '\\', 'n')
				case '\r':
					b = append(b, '\\', 'r')
				case '\t':
					b = append(b, '\\', 't')
				default:
					b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
				}
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}
