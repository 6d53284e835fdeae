package filter

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

type tokKind uint8

const (
	tEOF    tokKind = iota
	tKw             // reserved word: text holds it
	tNum            // number: num holds it
	tHID            // dotted IPv4 address or prefix of one (1 to 4 parts)
	tHID6           // IPv6 address
	tEID            // Ethernet address
	tRange          // "A-B", only meaningful after portrange
	tName           // any other word (host or service name, \name)
	tLParen         // (
	tRParen         // )
	tSlash          // /
	tAnd            // and, &&
	tOr             // or, ||
	tNot            // not, !
	tOp             // arithmetic or relational operator, or [ ] :
)

type token struct {
	kind      tokKind
	text      string
	num       uint32
	line, col int
	ip6       netip.Addr
	mac       [6]byte
	hid       uint32 // tHID value, right-aligned as libpcap's __pcap_atoin returns it
	hidLen    int    // tHID length in bits (8 per part)
}

// keywords are the reserved words of pcap-filter that this package knows,
// supported or not; a reserved word is never taken for a host name.
var keywords = map[string]bool{
	"dst": true, "src": true, "host": true, "net": true, "mask": true, "port": true,
	"portrange": true, "proto": true, "ether": true, "link": true, "ip": true, "ip6": true,
	"arp": true, "rarp": true, "tcp": true, "udp": true, "sctp": true, "icmp": true,
	"icmp6": true, "igmp": true, "vlan": true, "less": true, "greater": true,
	// Recognised so they get a precise "not supported" error.
	"gateway": true, "broadcast": true, "multicast": true, "mpls": true, "pppoed": true,
	"pppoes": true, "geneve": true, "inbound": true, "outbound": true, "len": true,
	"protochain": true, "fddi": true, "tr": true, "wlan": true, "decnet": true,
	"atalk": true, "aarp": true, "iso": true, "stp": true, "ipx": true, "netbeui": true,
	"lat": true, "moprc": true, "mopdl": true, "sca": true, "vrrp": true, "carp": true,
	"pim": true, "ah": true, "esp": true, "radio": true, "ifname": true, "on": true,
	"rnr": true, "rulenum": true, "reason": true, "rset": true, "ruleset": true,
	"srnr": true, "subrulenum": true, "action": true, "type": true, "subtype": true,
	"dir": true, "ra": true, "ta": true, "addr1": true, "addr2": true, "addr3": true,
	"addr4": true, "llc": true, "clnp": true, "esis": true, "isis": true, "iih": true,
	"lsp": true, "snp": true, "csnp": true, "psnp": true, "atmvpi": true,
}

type lexer struct {
	src       string
	pos       int
	line, col int
	toks      []token
}

func lex(src string) ([]token, error) {
	l := &lexer{src: src, line: 1, col: 1}
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		l.toks = append(l.toks, t)
		if t.kind == tEOF {
			return l.toks, nil
		}
	}
}

func (l *lexer) errf(line, col int, format string, args ...any) error {
	return &Error{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) advance(n int) {
	for i := 0; i < n; i++ {
		if l.src[l.pos] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.pos++
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == ':' || c == '-'
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			break
		}
		l.advance(1)
	}
	t := token{line: l.line, col: l.col}
	if l.pos >= len(l.src) {
		return t, nil
	}
	rest := l.src[l.pos:]
	switch {
	case strings.HasPrefix(rest, "&&"):
		t.kind, t.text = tAnd, "&&"
		l.advance(2)
		return t, nil
	case strings.HasPrefix(rest, "||"):
		t.kind, t.text = tOr, "||"
		l.advance(2)
		return t, nil
	}
	for _, op := range [...]string{"!=", "==", ">=", "<=", "<<", ">>"} {
		if strings.HasPrefix(rest, op) {
			t.kind, t.text = tOp, op
			l.advance(2)
			return t, nil
		}
	}
	switch c := rest[0]; {
	case c == '(':
		t.kind, t.text = tLParen, "("
		l.advance(1)
		return t, nil
	case c == ')':
		t.kind, t.text = tRParen, ")"
		l.advance(1)
		return t, nil
	case c == '/':
		t.kind, t.text = tSlash, "/"
		l.advance(1)
		return t, nil
	case c == '!':
		t.kind, t.text = tNot, "!"
		l.advance(1)
		return t, nil
	case c == '\\' || isWordByte(c) && c != '-':
		n := 1
		for n < len(rest) && isWordByte(rest[n]) {
			n++
		}
		word := rest[:n]
		if i := strings.IndexByte(word, ':'); i >= 0 && !isAddrWord(word) {
			// Not an address: a ':' of "proto[off:size]".
			if i == 0 {
				t.kind, t.text = tOp, ":"
				l.advance(1)
				return t, nil
			}
			if suffix := word[i+1:]; isNumber(word[:i]) && (suffix == "" || isNumber(suffix)) {
				word = word[:i]
				n = i
			}
		}
		l.advance(n)
		t.text = word
		return t, classify(&t)
	case strings.ContainsRune("[]=<>+-*&|%^", rune(c)):
		t.kind, t.text = tOp, string(c)
		l.advance(1)
		return t, nil
	default:
		r := []rune(rest)[0]
		return t, l.errf(t.line, t.col, "unexpected character %q", r)
	}
}

// isAddrWord reports whether a word with colons is an Ethernet or IPv6
// address.
func isAddrWord(w string) bool {
	if _, ok := parseMAC(w); ok {
		return true
	}
	a, err := netip.ParseAddr(w)
	return err == nil && a.Is6() && a.Zone() == ""
}

// classify sets the kind of a word token the way libpcap's scanner would.
func classify(t *token) error {
	w := t.text
	bad := func(format string, args ...any) error {
		return &Error{Line: t.line, Col: t.col, Msg: fmt.Sprintf(format, args...)}
	}
	switch w {
	case "and":
		t.kind = tAnd
		return nil
	case "or":
		t.kind = tOr
		return nil
	case "not":
		t.kind = tNot
		return nil
	}
	if keywords[w] {
		t.kind = tKw
		return nil
	}
	if w[0] == '\\' {
		t.kind, t.text = tName, w[1:]
		if t.text == "" {
			return bad("empty name after \"\\\"")
		}
		return nil
	}
	if isNumber(w) {
		v, err := parseNum(w)
		if err != nil {
			return bad("%v", err)
		}
		t.kind, t.num = tNum, v
		return nil
	}
	if v, bits, ok := parseHID(w); ok {
		t.kind, t.hid, t.hidLen = tHID, v, bits
		return nil
	}
	if mac, ok := parseMAC(w); ok {
		t.kind, t.mac = tEID, mac
		return nil
	}
	if strings.Contains(w, ":") {
		a, err := netip.ParseAddr(w)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return bad("invalid IPv6 address %q", w)
		}
		t.kind, t.ip6 = tHID6, a
		return nil
	}
	if i := strings.IndexByte(w, '-'); i > 0 && isDecimal(w[:i]) && isDecimal(w[i+1:]) {
		t.kind = tRange
		return nil
	}
	t.kind = tName
	return nil
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isNumber(w string) bool {
	if len(w) > 2 && (w[:2] == "0x" || w[:2] == "0X") {
		return isHex(w[2:])
	}
	return isDecimal(w)
}

// parseNum reads a number as libpcap does: 0x hex, a leading 0 octal,
// decimal otherwise, and 32 bits at most.
func parseNum(w string) (uint32, error) {
	base, digits := 10, w
	switch {
	case len(w) > 2 && (w[:2] == "0x" || w[:2] == "0X"):
		base, digits = 16, w[2:]
	case len(w) > 1 && w[0] == '0':
		base, digits = 8, w[1:]
	}
	v, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("number %s overflows 32 bits", w)
		}
		return 0, fmt.Errorf("invalid number %q", w)
	}
	return uint32(v), nil
}

// parseHID parses 1 to 4 dot-separated decimal parts, returning the value
// right-aligned and its length in bits, like libpcap's __pcap_atoin.
func parseHID(w string) (v uint32, bits int, ok bool) {
	parts := strings.Split(w, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return 0, 0, false
	}
	for _, p := range parts {
		if !isDecimal(p) || len(p) > 3 {
			return 0, 0, false
		}
		n, _ := strconv.Atoi(p)
		if n > 255 {
			return 0, 0, false
		}
		v = v<<8 | uint32(n)
	}
	return v, 8 * len(parts), true
}

// parseMAC accepts xx:xx:xx:xx:xx:xx, xx-xx-xx-xx-xx-xx (1 or 2 hex digits
// per byte) and xxxx.xxxx.xxxx.
func parseMAC(w string) (mac [6]byte, ok bool) {
	for _, sep := range []string{":", "-"} {
		parts := strings.Split(w, sep)
		if len(parts) != 6 {
			continue
		}
		for i, p := range parts {
			if len(p) < 1 || len(p) > 2 || !isHex(p) {
				return mac, false
			}
			n, _ := strconv.ParseUint(p, 16, 8)
			mac[i] = byte(n)
		}
		return mac, true
	}
	parts := strings.Split(w, ".")
	if len(parts) == 3 {
		for i, p := range parts {
			if len(p) != 4 || !isHex(p) {
				return mac, false
			}
			n, _ := strconv.ParseUint(p, 16, 16)
			mac[2*i], mac[2*i+1] = byte(n>>8), byte(n)
		}
		return mac, true
	}
	return mac, false
}
