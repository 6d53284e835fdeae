package http

import "bytes"

// fields is what the first pass over a header block learns: framing and
// the summary that Start reports.
type fields struct {
	cl          int64 // -1 when absent
	badCL       bool  // invalid or conflicting Content-Length
	chunked     bool  // Transfer-Encoding ends in chunked
	te          bool  // Transfer-Encoding present
	upgrade     bool  // Upgrade present (request side)
	host, ua    []byte
	ctype       []byte
	haveCT      bool
	codings     [MaxCodings]Coding
	ncod        int
	undecodable bool // unknown coding, or more than MaxCodings
	nested      bool // more than MaxCodings
}

func (f *fields) addCoding(c Coding) {
	switch {
	case c == CodingNone:
	case c == CodingUnknown:
		f.undecodable = true
	case f.ncod == MaxCodings:
		f.undecodable, f.nested = true, true
	default:
		f.codings[f.ncod] = c
		f.ncod++
	}
}

// scan is the first pass; it returns false when the block has more than
// limit fields.
func (f *fields) scan(it headerIter, limit int) bool {
	f.cl = -1
	var teCodings [MaxCodings + 1]Coding
	nte, n, bad := 0, 0, 0
	for {
		name, val, ok := it.next(&bad)
		if !ok {
			break
		}
		if n++; n > limit {
			return false
		}
		switch fieldOf(name) {
		case fieldContentLength:
			v := parseLength(val)
			if v < 0 || (f.cl >= 0 && v != f.cl) {
				f.badCL = true
			}
			f.cl = v
		case fieldTransferEncoding:
			f.te = true
			for rest := val; len(rest) > 0; {
				var tok []byte
				tok, rest = nextToken(rest)
				switch {
				case len(tok) == 0:
				case bytes.EqualFold(tok, []byte("chunked")):
					f.chunked = true
				default:
					f.chunked = false // chunked must be the final coding
					if nte < len(teCodings) {
						teCodings[nte] = codingOf(tok)
					} else {
						f.undecodable, f.nested = true, true
					}
					nte++
				}
			}
		case fieldContentEncoding:
			for rest := val; len(rest) > 0; {
				var tok []byte
				tok, rest = nextToken(rest)
				f.addCoding(codingOf(tok))
			}
		case fieldHost:
			if f.host == nil {
				f.host = val
			}
		case fieldUserAgent:
			if f.ua == nil {
				f.ua = val
			}
		case fieldContentType:
			if !f.haveCT {
				f.ctype, f.haveCT = val, true
			}
		case fieldUpgrade:
			f.upgrade = true
		}
	}
	// Transfer codings were applied after the content codings.
	for i := 0; i < min(nte, len(teCodings)); i++ {
		f.addCoding(teCodings[i])
	}
	return true
}

// field is a header field scan acts on; fieldOther for every other name.
type field uint8

const (
	fieldOther field = iota
	fieldContentLength
	fieldTransferEncoding
	fieldContentEncoding
	fieldHost
	fieldUserAgent
	fieldContentType
	fieldUpgrade
)

// fieldOf canonicalises a field name (ASCII case folded, as servers match
// names) against the few scan acts on: the length picks at most one
// candidate, compared once, so the usual field (Accept, Cookie…) costs a
// switch and no comparison at all.
func fieldOf(name []byte) field {
	var want string
	var f field
	switch len(name) {
	case 4:
		want, f = "host", fieldHost
	case 7:
		want, f = "upgrade", fieldUpgrade
	case 10:
		want, f = "user-agent", fieldUserAgent
	case 12:
		want, f = "content-type", fieldContentType
	case 14:
		want, f = "content-length", fieldContentLength
	case 16:
		want, f = "content-encoding", fieldContentEncoding
	case 17:
		want, f = "transfer-encoding", fieldTransferEncoding
	default:
		return fieldOther
	}
	if !EqualFoldLower(name, want) {
		return fieldOther
	}
	return f
}

// EqualFoldLower reports whether b equals lower (lower-case ASCII, exactly
// as long as b) ignoring ASCII case, as servers match field names: no
// Unicode folding and no allocation. The caller checks the lengths.
func EqualFoldLower(b []byte, lower string) bool {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// head handles a complete header block or trailer section.
func (p *Parser) head(block []byte, trailer bool) {
	if trailer {
		p.trailer(block)
		return
	}
	line, _ := firstLine(block)
	var sl startLine
	var v verdict
	if p.side == Request {
		v = parseRequestLine(line, true, &sl)
	} else {
		v = parseStatusLine(line, true, &sl)
	}
	if v != isHTTP {
		p.stopStartLine()
		return
	}
	it := headerIter{b: block, pos: bytes.IndexByte(block, '\n') + 1}
	var f fields
	if !f.scan(it, p.cfg.MaxHeaders) {
		p.stop(ReasonTooManyHeaders)
		return
	}

	p.seq++
	p.m = Message{Side: p.side, Seq: p.seq, Major: sl.major, Minor: sl.minor,
		UserAgent: f.ua, ContentLength: f.cl, Codings: f.codings, NCodings: f.ncod}
	m := &p.m
	kind := MethodOther
	if p.side == Request {
		kind = p.requestLine(&sl, f.host)
	} else {
		m.Status, m.StatusReason = sl.status, sl.reason
		if sl.status >= 200 || sl.status == 101 {
			m.ReqMethod = p.pair.pop()
		}
		p.stats.Responses.Add(1)
	}
	if f.haveCT {
		m.ContentType, m.Boundary = parseContentType(f.ctype, p.typBuf[:], p.bndBuf[:])
	}
	if f.undecodable {
		m.Flags |= FlagUndecoded
		if f.nested {
			m.Flags |= FlagNested
		}
		p.stats.Undecoded.Add(1)
	}
	p.inMsg, p.skip = true, false

	p.h.Start(m)
	p.headSeen = true
	for bad := 0; ; {
		name, val, ok := it.next(&bad)
		if !ok {
			break
		}
		p.h.Header(m, name, val)
	}
	// These alias the input, which is gone after this Feed.
	m.Target, m.Path, m.Query, m.UserAgent, m.StatusReason = nil, nil, nil, nil, nil

	if p.side == Request {
		p.requestBody(kind, &f)
	} else {
		p.responseBody(&f)
	}
}

// requestLine fills the request fields of p.m and returns the method kind.
func (p *Parser) requestLine(sl *startLine, hostHdr []byte) MethodKind {
	m := &p.m
	kind := MethodOther
	switch string(sl.method) {
	case "HEAD":
		kind = MethodHEAD
	case "CONNECT":
		kind = MethodCONNECT
	}
	m.Method = p.methodBuf[:copy(p.methodBuf[:], sl.method)]
	m.Target = sl.target
	auth, path, query := splitTarget(sl.target, kind == MethodCONNECT)
	m.Path, m.Query = path, query
	// The target's authority (absolute-form, CONNECT) names the
	// destination; Host only when the target has none.
	if auth == nil {
		auth = hostHdr
	}
	if auth != nil {
		h, port, ok := normalizeHost(p.hostBuf[:], auth)
		if !ok {
			m.Flags |= FlagHostTooLong
		}
		m.Host, m.Port = h, port
	}
	p.stats.Requests.Add(1)
	return kind
}

// requestBody frames a request body (RFC 9112 §6.3: requests are never
// delimited by close).
func (p *Parser) requestBody(kind MethodKind, f *fields) {
	if p.pair.push(kind) {
		p.stats.PairDropped.Add(1)
	}
	if kind == MethodCONNECT || f.upgrade {
		p.pair.setVerdict(verdictPending)
		p.await = true
	}
	switch {
	case kind == MethodCONNECT:
		p.endMessage()
	case f.te && !f.chunked:
		p.stop(ReasonBadTransferCoding)
	case f.chunked:
		p.startBody(stChunkSize)
	case f.badCL:
		p.stop(ReasonBadLength)
	case f.cl > 0:
		p.remaining = f.cl
		p.startBody(stBody)
	default:
		p.endMessage()
	}
}

// responseBody frames a response body (RFC 9112 §6.3) and settles a
// pending CONNECT or Upgrade.
func (p *Parser) responseBody(f *fields) {
	m := &p.m
	st := m.Status
	final := st >= 200 || st == 101
	tunnel := st == 101 || (m.ReqMethod == MethodCONNECT && st/100 == 2)
	if final && p.pair.getVerdict() == verdictPending {
		if tunnel {
			p.pair.setVerdict(verdictAccepted)
		} else {
			p.pair.setVerdict(verdictRejected)
		}
	}
	switch {
	case tunnel:
		p.endMessage()
		p.stop(ReasonTunnel)
	case !final, st == 204, st == 304, m.ReqMethod == MethodHEAD:
		p.endMessage()
	case f.chunked:
		p.startBody(stChunkSize)
	case f.te:
		m.UntilClose = true
		p.startBody(stUntilClose)
	case f.badCL:
		p.stop(ReasonBadLength)
	case f.cl > 0:
		p.remaining = f.cl
		p.startBody(stBody)
	case f.cl == 0:
		p.endMessage()
	default:
		m.UntilClose = true
		p.startBody(stUntilClose)
	}
}
