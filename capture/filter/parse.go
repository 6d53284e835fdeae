package filter

import (
	"errors"
	"fmt"
	"strings"
)

// parser is a recursive-descent parser for libpcap's grammar. Like
// libpcap's, "and" and "or" have the same precedence and associate to the
// left, and code is generated while parsing, in source order, which is what
// gives "vlan" its effect on everything after it.
type parser struct {
	toks   []token
	i      int
	g      *gen
	depth  int
	checks *node // protocol checks of the loads of the relation being parsed
}

func parse(expr string, lt LinkType, kernelVLAN bool) (*node, error) {
	g, err := newGen(lt, kernelVLAN)
	if err != nil {
		return nil, err
	}
	if len(expr) > maxExprLen {
		return nil, fmt.Errorf("filter: expression too long (%d bytes > %d)", len(expr), maxExprLen)
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	if toks[0].kind == tEOF {
		return trueNode, nil // an empty expression accepts everything, as in tcpdump
	}
	p := &parser{toks: toks, g: g}
	n, _, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.cur(); t.kind != tEOF {
		return nil, p.unexpected(t)
	}
	return n, nil
}

func (p *parser) cur() token { return p.toks[p.i] }

func (p *parser) peek(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return &Error{Line: t.line, Col: t.col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) unexpected(t token) error {
	if t.kind == tEOF {
		return p.errAt(t, "unexpected end of expression")
	}
	return p.errAt(t, "unexpected %q", t.text)
}

// wrap gives a semantic error from the generator the position of t.
func (p *parser) wrap(t token, err error) error {
	var se semErr
	if errors.As(err, &se) {
		return p.errAt(t, "%s", string(se))
	}
	return err
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(p.cur(), "expression nested too deeply (more than %d levels)", maxDepth)
	}
	return nil
}

// expr: term { (and|or) (term | id) }.
func (p *parser) expr() (*node, qual, error) {
	n, q, err := p.term()
	if err != nil {
		return nil, q, err
	}
	for {
		op := p.cur()
		if op.kind != tAnd && op.kind != tOr {
			return n, q, nil
		}
		p.i++
		var m *node
		if p.startsID() {
			// tcpdump's abbreviation: "host a or b" reuses host's qualifiers.
			m, err = p.id(q)
		} else {
			m, q, err = p.term()
		}
		if err != nil {
			return nil, q, err
		}
		if op.kind == tAnd {
			n = and(n, m)
		} else {
			n = or(n, m)
		}
	}
}

// startsID reports whether the next tokens are an id (an address or number
// possibly behind "not" and parentheses) rather than a term.
func (p *parser) startsID() bool {
	for j := p.i; j < len(p.toks); j++ {
		switch p.toks[j].kind {
		case tNot, tLParen:
			continue
		case tNum:
			n := p.toks[min(j+1, len(p.toks)-1)]
			_, isOp := opOf(n)
			return !isOp && !isRelop(n)
		case tName:
			_, isConst := namedConsts[p.toks[j].text]
			return !isConst
		case tHID, tHID6, tEID, tRange:
			return true
		}
		return false
	}
	return false
}

func (p *parser) term() (*node, qual, error) {
	if p.cur().kind == tNot {
		if err := p.enter(); err != nil {
			return nil, qual{}, err
		}
		p.i++
		n, q, err := p.term()
		p.depth--
		if err != nil {
			return nil, q, err
		}
		return not(n), q, nil
	}
	return p.rterm()
}

func (p *parser) rterm() (*node, qual, error) {
	t := p.cur()
	if p.startsArith() {
		n, err := p.relation()
		return n, qual{}, err
	}
	switch t.kind {
	case tLParen:
		// "(tcp[13] & 3) = 2" or "(tcp or udp)": try the relation first;
		// it has no side effects on the generator, so failing is free.
		save, saveDepth := p.i, p.depth
		if n, err := p.relation(); err == nil {
			return n, qual{}, nil
		}
		p.i, p.depth = save, saveDepth
		if err := p.enter(); err != nil {
			return nil, qual{}, err
		}
		p.i++
		n, q, err := p.expr()
		p.depth--
		if err != nil {
			return nil, q, err
		}
		if c := p.cur(); c.kind != tRParen {
			return nil, q, p.unexpected(c)
		}
		p.i++
		return n, q, nil
	case tKw:
	case tNum, tHID, tHID6, tEID, tRange, tName:
		return nil, qual{}, p.errAt(t, "unexpected %q: a qualifier such as host, net or port must come first", t.text)
	default:
		return nil, qual{}, p.unexpected(t)
	}
	if pq, ok := protoNames[t.text]; ok {
		next := p.peek(1)
		if next.kind == tKw && isHeadWord(next.text) {
			p.i++
			return p.head(pq)
		}
		p.i++
		n, err := p.g.mark(p.g.abbrev(pq))
		return n, qual{}, p.wrap(t, err)
	}
	switch t.text {
	case "src", "dst", "host", "net", "port", "portrange", "proto", "gateway":
		return p.head(pDefault)
	case "vlan":
		p.i++
		id, has := uint32(0), false
		if c := p.cur(); c.kind == tNum {
			id, has = c.num, true
			p.i++
		}
		n, err := p.g.vlan(id, has)
		return n, qual{}, p.wrap(t, err)
	case "less", "greater":
		p.i++
		c := p.cur()
		if c.kind != tNum {
			return nil, qual{}, p.errAt(c, "%s needs a number, got %q", t.text, c.text)
		}
		p.i++
		return length(c.num, t.text == "greater"), qual{}, nil
	}
	return nil, qual{}, p.errAt(t, "%q is not supported", t.text)
}

func isHeadWord(w string) bool {
	switch w {
	case "src", "dst", "host", "net", "port", "portrange", "proto", "gateway":
		return true
	}
	return false
}

// head parses "[src|dst|src or dst|src and dst] [host|net|port|portrange]"
// or "proto" after an optional protocol qualifier, then the id.
func (p *parser) head(pq protoQ) (*node, qual, error) {
	q := qual{proto: pq, valid: true}
	t := p.cur()
	if t.kind == tKw && t.text == "proto" {
		p.i++
		q.addr = aProto
		n, err := p.id(q)
		return n, q, err
	}
	if t.kind == tKw && (t.text == "src" || t.text == "dst") {
		q.dir = dSrc
		other := "dst"
		if t.text == "dst" {
			q.dir, other = dDst, "src"
		}
		p.i++
		if c, n := p.cur(), p.peek(1); (c.kind == tAnd || c.kind == tOr) && n.kind == tKw && n.text == other {
			q.dir = dOr
			if c.kind == tAnd {
				q.dir = dAnd
			}
			p.i += 2
		}
	}
	if t := p.cur(); t.kind == tKw {
		switch t.text {
		case "host":
			q.addr = aHost
		case "net":
			q.addr = aNet
		case "port":
			q.addr = aPort
		case "portrange":
			q.addr = aPortRange
		case "gateway":
			return nil, q, p.errAt(t, "gateway is not supported (it needs host name resolution)")
		}
		if q.addr != aDefault {
			p.i++
		}
	}
	n, err := p.id(q)
	return n, q, err
}

// id parses an address, number or parenthesised list of them, generating
// code with the qualifiers q.
func (p *parser) id(q qual) (*node, error) {
	t := p.cur()
	if !q.valid && (t.kind != tNot && t.kind != tLParen) {
		return nil, p.errAt(t, "%q has no qualifier to reuse (write e.g. \"host %s\" or \"port %s\")", t.text, t.text, t.text)
	}
	switch t.kind {
	case tNot:
		if err := p.enter(); err != nil {
			return nil, err
		}
		p.i++
		n, err := p.id(q)
		p.depth--
		if err != nil {
			return nil, err
		}
		return not(n), nil
	case tLParen:
		if err := p.enter(); err != nil {
			return nil, err
		}
		p.i++
		n, err := p.id(q)
		if err != nil {
			return nil, err
		}
		for {
			op := p.cur()
			if op.kind != tAnd && op.kind != tOr {
				break
			}
			p.i++
			m, err := p.id(q)
			if err != nil {
				return nil, err
			}
			if op.kind == tAnd {
				n = and(n, m)
			} else {
				n = or(n, m)
			}
		}
		if c := p.cur(); c.kind != tRParen {
			return nil, p.unexpected(c)
		}
		p.i++
		p.depth--
		return n, nil
	case tNum, tHID:
		p.i++
		if t.kind == tHID {
			switch c := p.cur(); {
			case c.kind == tSlash:
				p.i++
				l := p.cur()
				if l.kind != tNum {
					return nil, p.unexpected(l)
				}
				p.i++
				return p.netmask(t, q, prefixMask(int(min(l.num, 33))), l.num > 32, fmt.Sprintf("%s/%d", t.text, l.num))
			case c.kind == tKw && c.text == "mask":
				p.i++
				m := p.cur()
				if m.kind != tHID {
					return nil, p.unexpected(m)
				}
				p.i++
				return p.netmask(t, q, m.hid<<(32-m.hidLen), false, t.text+" mask "+m.text)
			}
		}
		n, err := p.g.mark(p.ncode(t, q))
		return n, p.wrap(t, err)
	case tHID6:
		p.i++
		bits := 128
		if p.cur().kind == tSlash {
			p.i++
			l := p.cur()
			if l.kind != tNum {
				return nil, p.unexpected(l)
			}
			p.i++
			if l.num > 128 {
				return nil, p.errAt(l, "mask length must be <= 128")
			}
			bits = int(l.num)
		}
		if bits != 128 && q.addr != aNet {
			return nil, p.errAt(t, "Mask syntax for networks only")
		}
		if q.addr != aDefault && q.addr != aHost && q.addr != aNet {
			return nil, p.errAt(t, "IPv6 address used with %s", addrName(q.addr))
		}
		if pfx, _ := t.ip6.Prefix(bits); pfx.Addr() != t.ip6 {
			return nil, p.errAt(t, "non-network bits set in \"%s/%d\"", t.text, bits)
		}
		n, err := p.g.mark(p.g.host6(t.ip6, bits, q.proto, q.dir, addrName(q.addr)))
		return n, p.wrap(t, err)
	case tEID:
		p.i++
		if q.addr != aDefault && q.addr != aHost {
			return nil, p.errAt(t, "ethernet address used with %s", addrName(q.addr))
		}
		n, err := p.g.ehost(t.mac, q.proto, q.dir)
		return n, p.wrap(t, err)
	case tRange:
		p.i++
		if q.addr != aPortRange {
			return nil, p.errAt(t, "port range %q used without portrange", t.text)
		}
		lo, hi, _ := strings.Cut(t.text, "-")
		a, err1 := parseNum(lo)
		b, err2 := parseNum(hi)
		if err1 != nil || err2 != nil {
			return nil, p.errAt(t, "invalid port range %q", t.text)
		}
		n, err := p.g.mark(p.g.ports(a, b, q.proto, q.dir, "portrange"))
		return n, p.wrap(t, err)
	case tName:
		switch q.addr {
		case aPort, aPortRange:
			return nil, p.errAt(t, "port names are not supported (%q): use a number", t.text)
		case aProto:
			return nil, p.errAt(t, "protocol names are not supported (%q): use a number", t.text)
		}
		return nil, p.errAt(t, "host names are not supported (%q): use an address", t.text)
	}
	return nil, p.unexpected(t)
}

func addrName(a addrQ) string {
	switch a {
	case aNet:
		return "net"
	case aPort:
		return "port"
	case aPortRange:
		return "portrange"
	case aProto:
		return "proto"
	}
	return "host"
}

// ncode handles a number or a dotted IPv4 prefix (libpcap's gen_ncode).
func (p *parser) ncode(t token, q qual) (*node, error) {
	v, vlen := t.num, 32
	if t.kind == tHID {
		v, vlen = t.hid, t.hidLen
	}
	switch q.addr {
	case aDefault, aHost, aNet:
		if q.proto == pLink {
			return nil, semf("illegal link layer address")
		}
		mask := uint32(0xffffffff)
		if t.kind == tNum && q.addr == aNet {
			// "net 10" means 10.0.0.0/8.
			for v != 0 && v&0xff000000 == 0 {
				v <<= 8
				mask <<= 8
			}
		} else if vlen < 32 {
			v <<= 32 - vlen
			mask <<= 32 - vlen
		}
		return p.g.host(v, mask, q.proto, q.dir, addrName(q.addr))
	case aPort, aPortRange:
		if t.kind != tNum {
			return nil, semf("'%s' modifier applied to ip host", addrName(q.addr))
		}
		return p.g.ports(v, v, q.proto, q.dir, addrName(q.addr))
	case aProto:
		if t.kind != tNum {
			return nil, semf("protocol number expected")
		}
		return p.g.proto(v, q.proto)
	}
	return nil, semf("unsupported qualifier")
}

// netmask handles "net a.b.c.d/len" and "net a.b.c.d mask m.m.m.m".
func (p *parser) netmask(t token, q qual, mask uint32, badLen bool, text string) (*node, error) {
	if badLen {
		return nil, p.errAt(t, "mask length must be <= 32")
	}
	if q.addr != aNet {
		return nil, p.errAt(t, "Mask syntax for networks only")
	}
	n := t.hid << (32 - t.hidLen)
	if n&^mask != 0 {
		return nil, p.errAt(t, "non-network bits set in %q", text)
	}
	nd, err := p.g.mark(p.g.host(n, mask, q.proto, q.dir, "net"))
	return nd, p.wrap(t, err)
}
