package aiapi

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON walker: a small recursive-descent reader over a bounded,
// buffered body that reports scalars with their key path. It allocates
// nothing per value: keys are slices of the body, strings are decoded into
// a reused scratch buffer. Depth is capped; input that ends early reports
// errEOF so a truncated body still yields what came before.

var (
	errEOF    = errors.New("aiapi: body ends inside JSON")
	errSyntax = errors.New("aiapi: not JSON")
	errDepth  = errors.New("aiapi: JSON nested too deep")
)

// elem is one step of a value's path: an object key, or an array element.
type elem struct {
	key []byte // nil for an array element
	idx int    // array index
}

type visitor interface {
	// scalar is called for every string (decoded, valid only during the
	// call), number and literal; kind is 's', 'n', 't', 'f' or 'z'.
	scalar(path []elem, kind byte, v []byte)
	// open and close bracket every object ('{') and array ('[').
	open(path []elem, kind byte)
	close(path []elem, kind byte)
}

type walker struct {
	b        []byte
	i        int
	maxDepth int
	path     []elem
	str      []byte // scratch for decoded strings
	v        visitor
}

func (w *walker) run() error {
	w.i = 0
	w.path = w.path[:0]
	if err := w.value(); err != nil {
		return err
	}
	w.ws()
	if w.i != len(w.b) {
		return errSyntax
	}
	return nil
}

func (w *walker) ws() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\r', '\n':
			w.i++
		default:
			return
		}
	}
}

func (w *walker) value() error {
	w.ws()
	if w.i >= len(w.b) {
		return errEOF
	}
	switch c := w.b[w.i]; {
	case c == '{':
		return w.object()
	case c == '[':
		return w.array()
	case c == '"':
		s, err := w.string()
		if err != nil {
			return err
		}
		w.v.scalar(w.path, 's', s)
		return nil
	case c == 't':
		return w.literal("true", 't')
	case c == 'f':
		return w.literal("false", 'f')
	case c == 'n':
		return w.literal("null", 'z')
	case c == '-' || c >= '0' && c <= '9':
		start := w.i
		for w.i < len(w.b) && isNumByte(w.b[w.i]) {
			w.i++
		}
		if w.i == len(w.b) && len(w.path) > 0 {
			return errEOF // a number cut short inside a document
		}
		w.v.scalar(w.path, 'n', w.b[start:w.i])
		return nil
	}
	return errSyntax
}

func isNumByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func (w *walker) literal(lit string, kind byte) error {
	n := min(len(lit), len(w.b)-w.i)
	if string(w.b[w.i:w.i+n]) != lit[:n] {
		return errSyntax
	}
	if n < len(lit) {
		return errEOF
	}
	w.i += n
	w.v.scalar(w.path, kind, nil)
	return nil
}

func (w *walker) push(e elem) error {
	if len(w.path) >= w.maxDepth {
		return errDepth
	}
	w.path = append(w.path, e)
	return nil
}

func (w *walker) object() error {
	w.i++ // {
	w.v.open(w.path, '{')
	first := true
	for {
		w.ws()
		if w.i >= len(w.b) {
			return errEOF
		}
		if w.b[w.i] == '}' {
			w.i++
			w.v.close(w.path, '{')
			return nil
		}
		if !first {
			if w.b[w.i] != ',' {
				return errSyntax
			}
			w.i++
			w.ws()
			if w.i >= len(w.b) {
				return errEOF
			}
		}
		first = false
		if w.b[w.i] != '"' {
			return errSyntax
		}
		key, err := w.rawKey()
		if err != nil {
			return err
		}
		w.ws()
		if w.i >= len(w.b) {
			return errEOF
		}
		if w.b[w.i] != ':' {
			return errSyntax
		}
		w.i++
		if err := w.push(elem{key: key}); err != nil {
			return err
		}
		if err := w.value(); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
	}
}

func (w *walker) array() error {
	w.i++ // [
	w.v.open(w.path, '[')
	for n := 0; ; n++ {
		w.ws()
		if w.i >= len(w.b) {
			return errEOF
		}
		if w.b[w.i] == ']' {
			w.i++
			w.v.close(w.path, '[')
			return nil
		}
		if n > 0 {
			if w.b[w.i] != ',' {
				return errSyntax
			}
			w.i++
		}
		if err := w.push(elem{idx: n}); err != nil {
			return err
		}
		if err := w.value(); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
	}
}

// rawKey returns an object key as it stands in the body (keys with escapes
// keep them: they match no schema key, which is the right degradation).
func (w *walker) rawKey() ([]byte, error) {
	start := w.i + 1
	for j := start; j < len(w.b); j++ {
		switch w.b[j] {
		case '\\':
			j++
		case '"':
			w.i = j + 1
			return w.b[start:j], nil
		}
	}
	return nil, errEOF
}

// string decodes a JSON string into the scratch buffer.
func (w *walker) string() ([]byte, error) {
	w.i++ // "
	out := w.str[:0]
	for w.i < len(w.b) {
		c := w.b[w.i]
		switch {
		case c == '"':
			w.i++
			w.str = out
			return out, nil
		case c == '\\':
			if w.i+1 >= len(w.b) {
				return nil, errEOF
			}
			e := w.b[w.i+1]
			w.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok, eof := w.hex4()
				if eof {
					return nil, errEOF
				}
				if !ok {
					return nil, errSyntax
				}
				if utf16.IsSurrogate(r) {
					// A valid pair takes the next escape too; anything else
					// is U+FFFD and the next escape stands on its own (as
					// encoding/json does).
					pair := utf8.RuneError
					if save := w.i; w.i+1 < len(w.b) && w.b[w.i] == '\\' && w.b[w.i+1] == 'u' {
						w.i += 2
						lo, ok, eof := w.hex4()
						if eof {
							return nil, errEOF
						}
						if ok {
							pair = utf16.DecodeRune(r, lo)
						}
						if pair == utf8.RuneError {
							w.i = save
						}
					}
					r = pair
				}
				out = utf8.AppendRune(out, r)
			default:
				return nil, errSyntax
			}
		case c < 0x20:
			return nil, errSyntax
		default:
			// Copy a run of plain bytes at once.
			j := w.i
			for j < len(w.b) && w.b[j] != '"' && w.b[j] != '\\' && w.b[j] >= 0x20 {
				j++
			}
			out = append(out, w.b[w.i:j]...)
			w.i = j
		}
	}
	w.str = out
	return nil, errEOF
}

func (w *walker) hex4() (rune, bool, bool) {
	if w.i+4 > len(w.b) {
		return 0, false, true
	}
	var r rune
	for _, c := range w.b[w.i : w.i+4] {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false, false
		}
		r = r<<4 | rune(v)
	}
	w.i += 4
	return r, true, false
}
