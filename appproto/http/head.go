package http

import "bytes"

// verdict is the outcome of checking a start line that may still be
// incomplete: needMore until enough bytes decide it.
type verdict uint8

const (
	needMore verdict = iota
	isHTTP
	notHTTP
)

// tchar is RFC 9110's token alphabet.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

const maxMethod = 32

// startLine is a parsed request or status line; slices alias the input.
type startLine struct {
	method, target, reason []byte
	status                 int
	major, minor           uint8
}

// parseVersion checks "HTTP/1.x" at b; it returns the bytes used, or 0 with
// needMore/notHTTP.
func parseVersion(b []byte, sl *startLine) (int, verdict) {
	const proto = "HTTP/1."
	n := min(len(b), len(proto))
	if string(b[:n]) != proto[:n] {
		return 0, notHTTP
	}
	if len(b) < len(proto)+1 {
		return 0, needMore
	}
	d := b[len(proto)]
	if d < '0' || d > '9' {
		return 0, notHTTP
	}
	sl.major, sl.minor = 1, d-'0'
	return len(proto) + 1, isHTTP
}

func skipSP(b []byte, i int) int {
	for i < len(b) && b[i] == ' ' {
		i++
	}
	return i
}

// parseRequestLine checks a request line. line holds no '\n'; complete says
// whether it ended (its '\r' already removed). The same code judges a prefix
// and the finished line, so the outcome never depends on how input was cut.
func parseRequestLine(line []byte, complete bool, sl *startLine) verdict {
	if len(line) > maxStartLine {
		return notHTTP
	}
	i := 0
	for i < len(line) && tchar[line[i]] {
		i++
	}
	if i > maxMethod {
		return notHTTP
	}
	if i == len(line) {
		return more(complete)
	}
	if i == 0 || line[i] != ' ' {
		return notHTTP
	}
	sl.method = line[:i]
	i = skipSP(line, i)
	t := i
	for i < len(line) && line[i] > ' ' && line[i] != 0x7f {
		i++
	}
	if i == len(line) {
		return more(complete)
	}
	if i == t || line[i] != ' ' {
		return notHTTP
	}
	sl.target = line[t:i]
	i = skipSP(line, i)
	n, v := parseVersion(line[i:], sl)
	if v == notHTTP || (v == needMore && complete) {
		return notHTTP
	}
	if v == needMore {
		return needMore
	}
	i += n
	for ; i < len(line); i++ {
		if line[i] != ' ' && line[i] != '\t' {
			return notHTTP
		}
	}
	return done(complete)
}

// parseStatusLine checks a status line like parseRequestLine.
func parseStatusLine(line []byte, complete bool, sl *startLine) verdict {
	if len(line) > maxStartLine {
		return notHTTP
	}
	n, v := parseVersion(line, sl)
	if v == notHTTP || (v == needMore && complete) {
		return notHTTP
	}
	if v == needMore {
		return needMore
	}
	i := n
	if i < len(line) && line[i] != ' ' {
		return notHTTP
	}
	i = skipSP(line, i)
	st := 0
	for k := 0; k < 3; k++ {
		if i+k >= len(line) {
			return more(complete)
		}
		c := line[i+k]
		if c < '0' || c > '9' {
			return notHTTP
		}
		st = st*10 + int(c-'0')
	}
	i += 3
	if i < len(line) && line[i] != ' ' && line[i] != '\t' {
		return notHTTP
	}
	if st < 100 {
		return notHTTP
	}
	sl.status = st
	sl.reason = bytes.TrimSpace(line[min(i, len(line)):])
	return done(complete)
}

// done is the verdict for a prefix that is valid so far.
func done(complete bool) verdict {
	if complete {
		return isHTTP
	}
	return needMore
}

// more is the verdict when the bytes ran out inside a required token.
func more(complete bool) verdict {
	if complete {
		return notHTTP
	}
	return needMore
}

// firstLine returns the first line of b without its line ending and whether
// the line ended.
func firstLine(b []byte) (line []byte, complete bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		// A CR at the end may be the first half of the line's CRLF.
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b = b[:len(b)-1]
		}
		return b, false
	}
	line = b[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, true
}

// findBlockEnd returns the offset just past the empty line that ends the
// header block (or trailer section) in b, or -1. from lets a caller resume
// after a previous miss; atLineStart says offset 0 begins a line (trailers
// may be empty).
func findBlockEnd(b []byte, from int, atLineStart bool) int {
	if atLineStart && from == 0 && len(b) > 0 {
		switch {
		case b[0] == '\n':
			return 1
		case b[0] == '\r' && len(b) > 1 && b[1] == '\n':
			return 2
		}
	}
	i := from
	for i < len(b) {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		k := i + j + 1
		if k >= len(b) {
			return -1
		}
		if b[k] == '\n' {
			return k + 1
		}
		if b[k] == '\r' {
			if k+1 >= len(b) {
				return -1
			}
			if b[k+1] == '\n' {
				return k + 2
			}
		}
		i = k
	}
	return -1
}

// headerIter walks the field lines of a complete header block.
type headerIter struct {
	b   []byte
	pos int
}

// next returns the next field; ok is false at the block's empty line or end.
// Lines without a colon are skipped (bad is incremented); continuation lines
// (obs-fold) stay inside the previous value.
func (it *headerIter) next(bad *int) (name, value []byte, ok bool) {
	for it.pos < len(it.b) {
		start := it.pos
		end := start
		for {
			j := bytes.IndexByte(it.b[end:], '\n')
			if j < 0 {
				end = len(it.b)
				break
			}
			end += j + 1
			if end >= len(it.b) || (it.b[end] != ' ' && it.b[end] != '\t') {
				break
			}
		}
		it.pos = end
		line := trimCRLF(it.b[start:end])
		if len(line) == 0 {
			it.pos = len(it.b)
			return nil, nil, false
		}
		c := bytes.IndexByte(line, ':')
		if c <= 0 {
			*bad++
			continue
		}
		name = line[:c]
		for len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
			name = name[:len(name)-1]
		}
		if len(name) == 0 {
			*bad++
			continue
		}
		return name, trimOWS(line[c+1:]), true
	}
	return nil, nil, false
}

func trimCRLF(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

// parseLength parses a Content-Length value: digits, or a comma list of
// equal digit strings. It returns -1 when invalid.
func parseLength(v []byte) int64 {
	const maxLen = 1 << 50 // a petabyte: anything larger is hostile
	var n int64 = -1
	for len(v) > 0 {
		var part []byte
		if c := bytes.IndexByte(v, ','); c >= 0 {
			part, v = trimOWS(v[:c]), v[c+1:]
		} else {
			part, v = trimOWS(v), nil
		}
		if len(part) == 0 || len(part) > 16 {
			return -1
		}
		var x int64
		for _, c := range part {
			if c < '0' || c > '9' {
				return -1
			}
			x = x*10 + int64(c-'0')
		}
		if x > maxLen || (n >= 0 && x != n) {
			return -1
		}
		n = x
	}
	return n
}

// codingOf maps a coding token (any case) to a Coding.
func codingOf(tok []byte) Coding {
	switch {
	case len(tok) == 0, bytes.EqualFold(tok, []byte("identity")):
		return CodingNone
	case bytes.EqualFold(tok, []byte("gzip")), bytes.EqualFold(tok, []byte("x-gzip")):
		return CodingGzip
	case bytes.EqualFold(tok, []byte("deflate")):
		return CodingDeflate
	case bytes.EqualFold(tok, []byte("zstd")):
		return CodingZstd
	case bytes.EqualFold(tok, []byte("br")):
		return CodingBrotli
	}
	return CodingUnknown
}

// nextToken splits the next comma-separated token off a list value.
func nextToken(v []byte) (tok, rest []byte) {
	if c := bytes.IndexByte(v, ','); c >= 0 {
		tok, rest = v[:c], v[c+1:]
	} else {
		tok = v
	}
	if s := bytes.IndexByte(tok, ';'); s >= 0 { // transfer-coding parameters
		tok = tok[:s]
	}
	return trimOWS(tok), rest
}

// normalizeHost writes the host part of an authority into dst, lowercased,
// without userinfo, port, IPv6 brackets or trailing dot; it returns the
// host, the port (0 if none) and false if the host does not fit.
func normalizeHost(dst []byte, auth []byte) ([]byte, uint16, bool) {
	if at := bytes.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	var port []byte
	if len(auth) > 0 && auth[0] == '[' {
		if e := bytes.IndexByte(auth, ']'); e > 0 {
			if rest := auth[e+1:]; len(rest) > 0 && rest[0] == ':' {
				port = rest[1:]
			}
			auth = auth[1:e]
		}
	} else if c := bytes.IndexByte(auth, ':'); c >= 0 && bytes.IndexByte(auth[c+1:], ':') < 0 {
		auth, port = auth[:c], auth[c+1:]
	}
	auth = trimOWS(auth)
	for len(auth) > 0 && auth[len(auth)-1] == '.' {
		auth = auth[:len(auth)-1]
	}
	if len(auth) > len(dst) {
		return nil, 0, false
	}
	for i, c := range auth {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
	var p int
	for _, c := range port {
		if c < '0' || c > '9' || p > 0xffff {
			p = 0
			break
		}
		p = p*10 + int(c-'0')
	}
	if p > 0xffff {
		p = 0
	}
	return dst[:len(auth)], uint16(p), true
}

// splitTarget splits a request-target into authority (absolute- or
// authority-form), path and query.
func splitTarget(target []byte, connect bool) (auth, path, query []byte) {
	if connect {
		return target, nil, nil
	}
	t := target
	if h := bytes.IndexByte(t, '#'); h >= 0 {
		t = t[:h]
	}
	if len(t) > 0 && t[0] != '/' && t[0] != '*' {
		// absolute-form: scheme "://" authority [path]
		if s := bytes.Index(t, []byte("://")); s > 0 {
			rest := t[s+3:]
			e := bytes.IndexAny(rest, "/?")
			if e < 0 {
				return rest, slashPath, nil
			}
			auth, t = rest[:e], rest[e:]
			if t[0] == '?' {
				return auth, slashPath, t[1:]
			}
		}
	}
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		return auth, t[:q], t[q+1:]
	}
	return auth, t, nil
}

var slashPath = []byte("/")

// parseContentType copies the lowercased media type and the boundary
// parameter of a Content-Type value into the given buffers.
func parseContentType(v []byte, typ, bnd []byte) (mt, boundary []byte) {
	params := []byte(nil)
	if s := bytes.IndexByte(v, ';'); s >= 0 {
		v, params = v[:s], v[s+1:]
	}
	v = trimOWS(v)
	n := copy(typ, v)
	for i := range typ[:n] {
		if c := typ[i]; 'A' <= c && c <= 'Z' {
			typ[i] = c + 'a' - 'A'
		}
	}
	mt = typ[:n]
	for len(params) > 0 {
		var p []byte
		if s := bytes.IndexByte(params, ';'); s >= 0 {
			p, params = params[:s], params[s+1:]
		} else {
			p, params = params, nil
		}
		p = trimOWS(p)
		eq := bytes.IndexByte(p, '=')
		if eq < 0 || !bytes.EqualFold(trimOWS(p[:eq]), []byte("boundary")) {
			continue
		}
		val := trimOWS(p[eq+1:])
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		boundary = bnd[:copy(bnd, val)]
		break
	}
	return mt, boundary
}
