package rules

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

// node is one compiled condition. eval runs per record and must not
// allocate; reason runs only when a rule fires and says why it matched;
// spec is the static text used to explain negations.
type node interface {
	eval(x *facts) bool
	reason(x *facts, b []byte) []byte
	spec() string
	cost() int // lower runs first inside an AND
}

type andNode struct{ kids []node }

func (n *andNode) eval(x *facts) bool {
	for _, k := range n.kids {
		if !k.eval(x) {
			return false
		}
	}
	return true
}

func (n *andNode) reason(x *facts, b []byte) []byte {
	for i, k := range n.kids {
		if i > 0 {
			b = append(b, " and "...)
		}
		b = k.reason(x, b)
	}
	return b
}

func (n *andNode) spec() string { return joinSpecs(n.kids, " and ") }

func (n *andNode) cost() int { return maxCost(n.kids) }

type orNode struct{ kids []node }

func (n *orNode) eval(x *facts) bool {
	for _, k := range n.kids {
		if k.eval(x) {
			return true
		}
	}
	return false
}

func (n *orNode) reason(x *facts, b []byte) []byte {
	for _, k := range n.kids {
		if k.eval(x) {
			return k.reason(x, b)
		}
	}
	return b
}

func (n *orNode) spec() string { return "any(" + joinSpecs(n.kids, " | ") + ")" }

func (n *orNode) cost() int { return maxCost(n.kids) }

type notNode struct{ kid node }

func (n *notNode) eval(x *facts) bool { return !n.kid.eval(x) }

func (n *notNode) reason(_ *facts, b []byte) []byte { return append(b, n.spec()...) }

func (n *notNode) spec() string { return "not(" + n.kid.spec() + ")" }

func (n *notNode) cost() int { return n.kid.cost() }

func joinSpecs(ns []node, sep string) string {
	s := ""
	for i, k := range ns {
		if i > 0 {
			s += sep
		}
		s += k.spec()
	}
	return s
}

func maxCost(ns []node) int {
	c := 0
	for _, k := range ns {
		c = max(c, k.cost())
	}
	return c
}

// Costs order the children of an AND so that bit tests reject a record
// before string or time work is done.
const (
	costBits = iota
	costNum
	costString
	costSens
	costIP
	costTime
)

type catNode struct {
	mask uint32
	text string
}

func (n *catNode) eval(x *facts) bool { return x.cat&n.mask != 0 }

func (n *catNode) reason(x *facts, b []byte) []byte {
	c := x.f.Dst.Category
	if c == "" {
		c = "unknown"
	}
	return append(append(b, "dst.category="...), c...)
}

func (n *catNode) spec() string { return n.text }
func (n *catNode) cost() int    { return costBits }

// strNode matches a plain string field against case-insensitive globs.
type strNode struct {
	field string
	get   func(*record.Flow) string
	exact []string // set when no pattern has a '*': the common, faster case
	pats  []strPattern
	text  string
}

func (n *strNode) eval(x *facts) bool {
	v := n.get(x.f)
	if n.exact != nil {
		for _, e := range n.exact {
			if len(v) == len(e) && strings.EqualFold(v, e) {
				return true
			}
		}
		return false
	}
	for i := range n.pats {
		if n.pats[i].match(v) {
			return true
		}
	}
	return false
}

func (n *strNode) reason(x *facts, b []byte) []byte {
	return append(append(append(b, n.field...), '='), n.get(x.f)...)
}

func (n *strNode) spec() string { return n.text }
func (n *strNode) cost() int    { return costString }

// nameNode matches dst.name or dst.domain label-wise (see namePattern).
type nameNode struct {
	field string
	get   func(*record.Flow) string
	pats  []namePattern
	text  string
}

func (n *nameNode) eval(x *facts) bool {
	v := n.get(x.f)
	for i := range n.pats {
		if n.pats[i].match(v) {
			return true
		}
	}
	return false
}

func (n *nameNode) reason(x *facts, b []byte) []byte {
	return append(append(append(b, n.field...), '='), n.get(x.f)...)
}

func (n *nameNode) spec() string { return n.text }
func (n *nameNode) cost() int    { return costString }

// tagsNode matches when any of the record's tags matches any pattern.
type tagsNode struct {
	pats []strPattern
	text string
}

func (n *tagsNode) first(x *facts) int {
	for i, t := range x.f.Tags {
		for j := range n.pats {
			if n.pats[j].match(t) {
				return i
			}
		}
	}
	return -1
}

func (n *tagsNode) eval(x *facts) bool { return n.first(x) >= 0 }

func (n *tagsNode) reason(x *facts, b []byte) []byte {
	return append(append(b, "tags="...), x.f.Tags[n.first(x)]...)
}

func (n *tagsNode) spec() string { return n.text }
func (n *tagsNode) cost() int    { return costString }

type ipNode struct {
	src      bool
	prefixes []netip.Prefix
	text     string
}

func (n *ipNode) addr(x *facts) netip.Addr {
	if n.src {
		return x.src()
	}
	return x.dst()
}

func (n *ipNode) eval(x *facts) bool {
	a := n.addr(x)
	if !a.IsValid() {
		return false
	}
	for _, p := range n.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (n *ipNode) reason(x *facts, b []byte) []byte {
	if n.src {
		return append(append(b, "src.ip="...), x.f.Src.IP...)
	}
	return append(append(b, "dst.ip="...), x.f.Dst.IP...)
}

func (n *ipNode) spec() string { return n.text }
func (n *ipNode) cost() int    { return costIP }

// numNode compares a numeric field; any comparison matching is enough.
type numNode struct {
	field string
	get   func(*record.Flow) uint64
	cmps  []cmp
	text  string
}

func (n *numNode) eval(x *facts) bool {
	v := n.get(x.f)
	for _, c := range n.cmps {
		if c.match(v) {
			return true
		}
	}
	return false
}

func (n *numNode) reason(x *facts, b []byte) []byte {
	b = append(append(b, n.field...), '=')
	return strconv.AppendUint(b, n.get(x.f), 10)
}

func (n *numNode) spec() string { return n.text }
func (n *numNode) cost() int    { return costNum }

// portNode matches a port against single ports, inclusive ranges and
// comparisons.
type portNode struct {
	field  string
	get    func(*record.Flow) uint16
	ranges [][2]uint16
	cmps   []cmp
	text   string
}

func (n *portNode) eval(x *facts) bool {
	p := n.get(x.f)
	for _, r := range n.ranges {
		if p >= r[0] && p <= r[1] {
			return true
		}
	}
	for _, c := range n.cmps {
		if c.match(uint64(p)) {
			return true
		}
	}
	return false
}

func (n *portNode) reason(x *facts, b []byte) []byte {
	b = append(append(b, n.field...), '=')
	return strconv.AppendUint(b, uint64(n.get(x.f)), 10)
}

func (n *portNode) spec() string { return n.text }
func (n *portNode) cost() int    { return costNum }

type boolNode struct {
	field string
	get   func(*record.Flow) bool
	want  bool
}

func (n *boolNode) eval(x *facts) bool { return n.get(x.f) == n.want }

func (n *boolNode) reason(_ *facts, b []byte) []byte { return append(b, n.spec()...) }

func (n *boolNode) spec() string { return n.field + "=" + strconv.FormatBool(n.want) }
func (n *boolNode) cost() int    { return costBits }

// iocNode matches dst.ioc: with no list names any IOC hit, otherwise a hit
// on one of the named lists.
type iocNode struct {
	pats []strPattern
	text string
}

func (n *iocNode) eval(x *facts) bool {
	ioc := x.f.Dst.IOC
	if ioc == nil {
		return false
	}
	if len(n.pats) == 0 {
		return true
	}
	for i := range n.pats {
		if n.pats[i].match(ioc.List) {
			return true
		}
	}
	return false
}

func (n *iocNode) reason(x *facts, b []byte) []byte {
	return append(append(b, "dst.ioc="...), x.f.Dst.IOC.List...)
}

func (n *iocNode) spec() string { return n.text }
func (n *iocNode) cost() int    { return costBits }

type vlanNode struct {
	ids  []uint16
	text string
}

func (n *vlanNode) first(x *facts) int {
	for i, v := range x.f.VLAN {
		for _, w := range n.ids {
			if v == w {
				return i
			}
		}
	}
	return -1
}

func (n *vlanNode) eval(x *facts) bool { return n.first(x) >= 0 }

func (n *vlanNode) reason(x *facts, b []byte) []byte {
	return strconv.AppendUint(append(b, "vlan="...), uint64(x.f.VLAN[n.first(x)]), 10)
}

func (n *vlanNode) spec() string { return n.text }
func (n *vlanNode) cost() int    { return costNum }

// Direction filters for sensNode.
const (
	dirAny uint8 = iota
	dirOut
	dirIn
)

// sensNode holds every sensitive.* condition of one condition map: it
// matches when a single finding satisfies all of them (and the direction).
type sensNode struct {
	dir     uint8
	types   uint64   // 0: any type
	classes uint8    // 0: any class
	cmps    []cmp    // all must hold on the finding's count
	ins     []string // where the finding was made ("payload" or a record field); empty: anywhere
	hasCls  bool
	hasType bool
	text    string
}

func (n *sensNode) find(x *facts) int {
	for i := range x.finds {
		f := &x.finds[i]
		if n.dir == dirOut && !f.out || n.dir == dirIn && f.out {
			continue
		}
		if n.classes != 0 && n.classes&f.class == 0 {
			continue
		}
		if n.types != 0 && (f.typ == typeUnknown || n.types&(1<<f.typ) == 0) {
			continue
		}
		if len(n.ins) > 0 && !n.in(x.f.Sensitive[f.idx].In) {
			continue
		}
		ok := true
		for _, c := range n.cmps {
			if !c.match(f.count) {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

func (n *sensNode) eval(x *facts) bool { return n.find(x) >= 0 }

// in reports whether a finding made in field (empty: the payload) is one
// the condition names.
func (n *sensNode) in(field string) bool {
	if field == "" {
		field = "payload"
	}
	for _, s := range n.ins {
		if s == field {
			return true
		}
	}
	return false
}

func (n *sensNode) reason(x *facts, b []byte) []byte {
	s := &x.f.Sensitive[x.finds[n.find(x)].idx]
	switch {
	case n.hasCls:
		b = append(append(b, "sensitive.class="...), s.Class...)
	case n.hasType:
		b = append(append(b, "sensitive.type="...), s.Type...)
	default:
		b = append(b, "sensitive.count"...)
		for i, c := range n.cmps {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, c.String()...)
		}
	}
	b = append(append(append(b, " ("...), s.Type...), "×"...)
	b = strconv.AppendInt(b, int64(s.Count), 10)
	if n.dir == dirAny {
		b = append(append(b, ' '), s.Direction...)
	}
	return append(b, ')')
}

func (n *sensNode) spec() string { return n.text }
func (n *sensNode) cost() int    { return costSens }

// duringNode matches packet time against local weekdays and minute ranges.
type duringNode struct {
	loc    *time.Location
	days   uint8       // bit per time.Weekday
	ranges [][2]uint16 // [start, end) minutes of the day; start > end wraps midnight
	text   string
}

func (n *duringNode) eval(x *facts) bool {
	t := time.Unix(0, x.now).In(n.loc)
	if n.days&(1<<uint(t.Weekday())) == 0 {
		return false
	}
	if len(n.ranges) == 0 {
		return true
	}
	h, m, _ := t.Clock()
	min := uint16(h*60 + m)
	for _, r := range n.ranges {
		if r[0] < r[1] && min >= r[0] && min < r[1] || r[0] > r[1] && (min >= r[0] || min < r[1]) {
			return true
		}
	}
	return false
}

func (n *duringNode) reason(_ *facts, b []byte) []byte { return append(b, n.text...) }
func (n *duringNode) spec() string                     { return n.text }
func (n *duringNode) cost() int                        { return costTime }
