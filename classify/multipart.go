package classify

// Multipart decoder phases.
const (
	mpSniff      uint8 = iota // boundary unknown: read the first line
	mpPlain                   // not multipart after all: pass through
	mpPreamble                // before the first delimiter
	mpAfterDelim              // rest of a delimiter line ("--" ends the body)
	mpHeaders                 // part headers, scanned as text
	mpBody                    // part body, decoded by its Content-Type
	mpEpilogue                // after the close delimiter
)

// Part body encodings.
const (
	partPlain uint8 = iota
	partJSON
	partForm
	partB64
)

// mpDec streams multipart/form-data: part headers are emitted as text (they
// carry field names, useful context), part bodies through the decoder their
// Content-Type or Content-Transfer-Encoding asks for, and a newline between
// parts so values of different parts never join. The delimiter is matched
// byte by byte, so it may straddle any number of calls.
type mpDec struct {
	delim [4 + maxBoundary]byte // "\r\n--" boundary
	dlen  int
	k     int // delimiter bytes matched so far (held back, not emitted)
	phase uint8
	after uint8
	dash  bool
	line  [256]byte
	ll    int
	part  uint8
	url   urlDec
	js    jsonDec
	b64   b64Dec
}

func (d *mpDec) init(boundary []byte) {
	*d = mpDec{}
	if len(boundary) == 0 {
		d.phase = mpSniff
		return
	}
	d.setDelim(boundary)
}

func (d *mpDec) setDelim(boundary []byte) {
	copy(d.delim[:], "\r\n--")
	d.dlen = 4 + copy(d.delim[4:], boundary)
	d.phase = mpPreamble
	d.k = 2 // the body may start with the delimiter, without a line break
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func (d *mpDec) decode(dst, src []byte) []byte {
	for k := 0; k < len(src); k++ {
		c := src[k]
		switch d.phase {
		case mpSniff:
			d.line[d.ll] = c
			d.ll++
			if c != '\n' && d.ll < len(d.line) {
				continue
			}
			l := trimEOL(d.line[:d.ll])
			dst = append(dst, d.line[:d.ll]...)
			d.ll = 0
			if c == '\n' && len(l) > 2 && len(l) <= 2+maxBoundary && l[0] == '-' && l[1] == '-' {
				d.setDelim(l[2:])
				d.phase = mpHeaders
				d.part = partPlain
			} else {
				d.phase = mpPlain
			}
		case mpPlain, mpEpilogue:
			return append(dst, src[k:]...)
		case mpPreamble, mpBody:
			if c == d.delim[d.k] {
				d.k++
				if d.k == d.dlen {
					d.k = 0
					dst = d.endPart(dst)
					d.phase, d.after, d.dash = mpAfterDelim, 0, false
				}
				continue
			}
			if d.k > 0 {
				dst = d.body(dst, d.delim[:d.k])
				d.k = 0
				if c == d.delim[0] {
					d.k = 1
					continue
				}
			}
			e := k
			for e < len(src) && src[e] != '\r' {
				e++
			}
			dst = d.body(dst, src[k:e])
			k = e - 1
		case mpAfterDelim:
			d.after++
			switch {
			case d.after == 1 && c == '-':
				d.dash = true
			case d.after == 2 && d.dash && c == '-':
				d.phase = mpEpilogue
				dst = append(dst, '\n')
			case c == '\n':
				d.phase, d.ll, d.part = mpHeaders, 0, partPlain
				dst = append(dst, '\n')
			}
		case mpHeaders:
			dst = append(dst, c)
			if c != '\n' {
				if d.ll < len(d.line) {
					d.line[d.ll] = c
					d.ll++
				}
				continue
			}
			l := trimEOL(d.line[:d.ll])
			d.ll = 0
			if len(l) == 0 {
				d.phase, d.k = mpBody, 0
			} else {
				d.header(l)
			}
		}
	}
	return dst
}

func (d *mpDec) header(l []byte) {
	switch {
	case hasFoldPrefix(l, "content-type:"):
		v := l[len("content-type:"):]
		switch {
		case containsFold(v, "x-www-form-urlencoded"):
			d.part = partForm
		case containsFold(v, "json"):
			d.part = partJSON
		}
	case hasFoldPrefix(l, "content-transfer-encoding:"):
		if containsFold(l[len("content-transfer-encoding:"):], "base64") {
			d.part = partB64
		}
	}
}

// containsFold reports whether b contains the lower-case literal p, ignoring
// ASCII case in b.
func containsFold(b []byte, p string) bool {
	for k := 0; k+len(p) <= len(b); k++ {
		if hasFoldPrefix(b[k:], p) {
			return true
		}
	}
	return false
}

func (d *mpDec) body(dst, b []byte) []byte {
	if d.phase == mpPreamble {
		return append(dst, b...)
	}
	switch d.part {
	case partJSON:
		return d.js.decode(dst, b)
	case partForm:
		return d.url.decode(dst, b, true)
	case partB64:
		return d.b64.decode(dst, b)
	}
	return append(dst, b...)
}

func (d *mpDec) endPart(dst []byte) []byte {
	switch d.part {
	case partJSON:
		dst = d.js.flush(dst)
	case partForm:
		dst = d.url.flush(dst)
	case partB64:
		d.b64 = b64Dec{}
	}
	d.part = partPlain
	return dst
}

// flush emits whatever is held at the end of the body.
func (d *mpDec) flush(dst []byte) []byte {
	switch d.phase {
	case mpSniff:
		dst = append(dst, d.line[:d.ll]...)
	case mpPreamble, mpBody:
		dst = d.body(dst, d.delim[:d.k])
		dst = d.endPart(dst)
	}
	d.ll, d.k = 0, 0
	return dst
}
