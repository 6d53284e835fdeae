package classify

import (
	"strings"
	"unicode/utf8"
)

// ContentKind says how bytes handed to a Stream are encoded; the Stream
// decodes them to plaintext before scanning. Framing (chunking, gzip) is the
// HTTP parser's job and must already be undone.
type ContentKind uint8

// Content kinds.
const (
	KindPlain      ContentKind = iota // scanned as is
	KindURLEncoded                    // %XX escapes (query strings, cookies, paths)
	KindForm                          // application/x-www-form-urlencoded: %XX and '+' for space
	KindJSON                          // JSON text: string escapes (\n, \/, \u0034 ...) undone
	KindMultipart                     // multipart/form-data: part headers and decoded part bodies
	KindBase64                        // a base64 body (Content-Transfer-Encoding: base64)
)

// maxBoundary is RFC 2046's limit on a multipart boundary.
const maxBoundary = 70

// Content is a parsed Content-Type: the kind and, for multipart, the
// boundary. It is a value without pointers, so parsing does not allocate
// per body.
type Content struct {
	Kind     ContentKind
	boundary [maxBoundary]byte
	blen     uint8
}

// Boundary returns the multipart boundary ("" when unknown: it is then
// taken from the body's first line).
func (c *Content) Boundary() []byte { return c.boundary[:c.blen] }

// ParseContentType maps a Content-Type header value to the decoding the
// body needs. Unknown or binary types scan as plain text.
func ParseContentType(ct string) Content {
	var c Content
	mt := ct
	if k := strings.IndexByte(mt, ';'); k >= 0 {
		mt = mt[:k]
	}
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case mt == "application/x-www-form-urlencoded":
		c.Kind = KindForm
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json" || mt == "application/x-ndjson" || mt == "application/jsonl":
		c.Kind = KindJSON
	case strings.HasPrefix(mt, "multipart/"):
		c.Kind = KindMultipart
		c.setBoundary(paramValue(ct, "boundary"))
	default:
		c.Kind = KindPlain
	}
	return c
}

func (c *Content) setBoundary(b string) {
	if len(b) == 0 || len(b) > maxBoundary {
		c.blen = 0
		return
	}
	c.blen = uint8(copy(c.boundary[:], b))
}

// paramValue returns a Content-Type parameter, unquoted ("" if absent).
func paramValue(ct, name string) string {
	for _, p := range strings.Split(ct, ";")[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), name) {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v
	}
	return ""
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// urlDec undoes %XX escapes (and '+' in forms) across calls.
type urlDec struct {
	pend [2]byte
	np   uint8 // bytes of an escape seen after '%'
	esc  bool  // '%' seen
}

func (d *urlDec) decode(dst, src []byte, plus bool) []byte {
	for k := 0; k < len(src); k++ {
		c := src[k]
		if d.esc {
			d.pend[d.np] = c
			d.np++
			if d.np < 2 {
				continue
			}
			h, ok1 := unhex(d.pend[0])
			l, ok2 := unhex(d.pend[1])
			if ok1 && ok2 {
				dst = append(dst, h<<4|l)
			} else {
				dst = append(dst, '%', d.pend[0], d.pend[1])
			}
			d.esc, d.np = false, 0
			continue
		}
		// Copy the run up to the next escape in one append.
		e := k
		for e < len(src) && src[e] != '%' && (!plus || src[e] != '+') {
			e++
		}
		dst = append(dst, src[k:e]...)
		k = e
		if k == len(src) {
			break
		}
		if src[k] == '+' {
			dst = append(dst, ' ')
		} else {
			d.esc = true
		}
	}
	return dst
}

func (d *urlDec) flush(dst []byte) []byte {
	if d.esc {
		dst = append(dst, '%')
		dst = append(dst, d.pend[:d.np]...)
	}
	*d = urlDec{}
	return dst
}

// jsonDec undoes JSON string escapes across calls. It does not parse JSON:
// outside strings a backslash cannot occur in valid JSON, so unescaping the
// whole text is equivalent and cannot fail.
type jsonDec struct {
	st  uint8 // 0 text, 1 after '\', 2 in \uXXXX
	nh  uint8
	uv  rune
	hi  rune // pending high surrogate
	raw [6]byte
}

func (d *jsonDec) decode(dst, src []byte) []byte {
	for k := 0; k < len(src); k++ {
		c := src[k]
		switch d.st {
		case 0:
			e := k
			for e < len(src) && src[e] != '\\' {
				e++
			}
			if d.hi != 0 && e > k {
				dst = utf8.AppendRune(dst, utf8.RuneError)
				d.hi = 0
			}
			dst = append(dst, src[k:e]...)
			k = e
			if k < len(src) {
				d.st = 1
			}
		case 1:
			d.st = 0
			var r byte
			switch c {
			case 'n':
				r = '\n'
			case 't':
				r = '\t'
			case 'r':
				r = '\r'
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case '/', '\\', '"', '\'':
				r = c
			case 'u':
				d.st, d.nh, d.uv = 2, 0, 0
				continue
			default:
				dst = d.flushHi(dst)
				dst = append(dst, '\\', c)
				continue
			}
			dst = d.flushHi(dst)
			dst = append(dst, r)
		case 2:
			h, ok := unhex(c)
			if !ok {
				dst = d.flushHi(dst)
				dst = append(dst, '\\', 'u')
				dst = append(dst, d.raw[:d.nh]...)
				d.st = 0
				k-- // re-read c as text
				continue
			}
			d.raw[d.nh] = c
			d.nh++
			d.uv = d.uv<<4 | rune(h)
			if d.nh == 4 {
				d.st = 0
				dst = d.rune(dst, d.uv)
			}
		}
	}
	return dst
}

func (d *jsonDec) flushHi(dst []byte) []byte {
	if d.hi != 0 {
		dst = utf8.AppendRune(dst, utf8.RuneError)
		d.hi = 0
	}
	return dst
}

func (d *jsonDec) rune(dst []byte, r rune) []byte {
	switch {
	case r >= 0xD800 && r < 0xDC00:
		dst = d.flushHi(dst)
		d.hi = r
		return dst
	case r >= 0xDC00 && r < 0xE000:
		if d.hi != 0 {
			r = 0x10000 + (d.hi-0xD800)<<10 + (r - 0xDC00)
			d.hi = 0
		} else {
			r = utf8.RuneError
		}
	default:
		dst = d.flushHi(dst)
	}
	return utf8.AppendRune(dst, r)
}

func (d *jsonDec) flush(dst []byte) []byte {
	dst = d.flushHi(dst)
	switch d.st {
	case 1:
		dst = append(dst, '\\')
	case 2:
		dst = append(dst, '\\', 'u')
		dst = append(dst, d.raw[:d.nh]...)
	}
	*d = jsonDec{}
	return dst
}

// b64Dec decodes a base64 body across calls, skipping line breaks and
// whitespace (MIME wraps at 76 columns). Bytes outside the alphabet end a
// quantum and are dropped.
type b64Dec struct {
	acc  uint32
	bits uint8
}

func (d *b64Dec) decode(dst, src []byte) []byte {
	for _, c := range src {
		v := b64Val[c]
		if v == 0xff {
			if c == '=' {
				d.acc, d.bits = 0, 0
			}
			continue
		}
		d.acc = d.acc<<6 | uint32(v)
		d.bits += 6
		if d.bits >= 8 {
			d.bits -= 8
			dst = append(dst, byte(d.acc>>d.bits))
		}
	}
	return dst
}
