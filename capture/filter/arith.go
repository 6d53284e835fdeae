package filter

import (
	"golang.org/x/net/bpf"
)

// This file handles relations between arithmetic expressions on packet
// data ("tcp[13] & 2 != 0", "ip[6:2] & 0x1fff = 0", "len > 100"), with the
// protocol checks libpcap adds for each load.

type arithKind uint8

const (
	arConst arithKind = iota
	arLen
	arLoad
	arBin
)

// loadBase says where a proto[...] offset counts from.
type loadBase uint8

const (
	baseAbs   loadBase = iota // a fixed offset (link header, network layer, ICMPv6)
	baseTrans                 // behind the IPv4 header, whose length is read from the packet
)

type arith struct {
	kind arithKind
	op   bpf.ALUOp
	l, r *arith
	k    uint32
	// arLoad
	base loadBase
	off  uint32
	size int
	hdr  uint32 // baseTrans: offset of the IPv4 header
	idx  *arith // index expression, nil when folded into off
}

// namedConsts are the constants pcap-filter predefines for header fields.
var namedConsts = map[string]uint32{
	"icmptype": 0, "icmpcode": 1, "icmp6type": 0, "icmp6code": 1, "tcpflags": 13,
	"icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4, "icmp-redirect": 5,
	"icmp-echo": 8, "icmp-routeradvert": 9, "icmp-routersolicit": 10, "icmp-timxceed": 11,
	"icmp-paramprob": 12, "icmp-tstamp": 13, "icmp-tstampreply": 14, "icmp-ireq": 15,
	"icmp-ireqreply": 16, "icmp-maskreq": 17, "icmp-maskreply": 18,
	"icmp6-destinationunreach": 1, "icmp6-packettoobig": 2, "icmp6-timeexceeded": 3,
	"icmp6-parameterproblem": 4, "icmp6-echo": 128, "icmp6-echoreply": 129,
	"icmp6-multicastlistenerquery": 130, "icmp6-multicastlistenerreportv1": 131,
	"icmp6-multicastlistenerdone": 132, "icmp6-routersolicit": 133,
	"icmp6-routeradvert": 134, "icmp6-neighborsolicit": 135, "icmp6-neighboradvert": 136,
	"icmp6-redirect": 137,

	"tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08, "tcp-ack": 0x10,
	"tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80,
}

// Binary operators by precedence (libpcap: | and ^ lowest, then &, shifts,
// + -, * / %).
var binOps = map[string]struct {
	prec int
	op   bpf.ALUOp
}{
	"|": {1, bpf.ALUOpOr}, "^": {1, bpf.ALUOpXor}, "&": {2, bpf.ALUOpAnd},
	"<<": {3, bpf.ALUOpShiftLeft}, ">>": {3, bpf.ALUOpShiftRight},
	"+": {4, bpf.ALUOpAdd}, "-": {4, bpf.ALUOpSub},
	"*": {5, bpf.ALUOpMul}, "/": {5, bpf.ALUOpDiv}, "%": {5, bpf.ALUOpMod},
}

func isRelop(t token) bool {
	if t.kind != tOp {
		return false
	}
	switch t.text {
	case ">", "<", ">=", "<=", "=", "==", "!=":
		return true
	}
	return false
}

// opOf returns the binary operator at t, if any.
func opOf(t token) (string, bool) {
	switch t.kind {
	case tSlash:
		return "/", true
	case tOp:
		_, ok := binOps[t.text]
		return t.text, ok
	}
	return "", false
}

// startsArith reports whether the tokens at p.i begin a relation rather
// than a primitive or an id.
func (p *parser) startsArith() bool {
	t := p.cur()
	switch t.kind {
	case tKw:
		if t.text == "len" {
			return true
		}
		_, isProto := protoNames[t.text]
		n := p.peek(1)
		return isProto && n.kind == tOp && n.text == "["
	case tNum:
		n := p.peek(1)
		_, isOp := opOf(n)
		return isOp || isRelop(n)
	case tName:
		_, ok := namedConsts[t.text]
		return ok
	case tOp:
		return t.text == "-"
	}
	return false
}

// Note: startsArith accepts a leading "-" only so that unary() can reject
// it with a precise message.

// relation parses "arith relop arith" and returns the protocol checks of
// its loads ANDed with the comparison.
func (p *parser) relation() (*node, error) {
	p.checks = trueNode
	l, err := p.arith(1)
	if err != nil {
		return nil, err
	}
	opTok := p.cur()
	if !isRelop(opTok) {
		return nil, p.errAt(opTok, "expected a comparison (=, !=, <, <=, >, >=), got %q", opTok.text)
	}
	p.i++
	r, err := p.arith(1)
	if err != nil {
		return nil, err
	}
	checks := p.checks
	if l.kind == arConst && r.kind == arConst {
		if compare(opTok.text, l.k, r.k) {
			return checks, nil
		}
		return falseNode, nil
	}
	op := opTok.text
	if l.kind == arConst {
		l, r = r, l
		op = mirror(op)
	}
	var cond bpf.JumpTest
	negate := false
	switch op {
	case ">":
		cond = bpf.JumpGreaterThan
	case ">=":
		cond = bpf.JumpGreaterOrEqual
	case "=", "==":
		cond = bpf.JumpEqual
	case "<":
		cond, negate = bpf.JumpGreaterOrEqual, true
	case "<=":
		cond, negate = bpf.JumpGreaterThan, true
	case "!=":
		cond, negate = bpf.JumpEqual, true
	}
	var prog []bpf.Instruction
	t := test{mode: ldProg, op: cond}
	if r.kind == arConst {
		prog, err = p.code(nil, l, 0)
		t.k = r.k
	} else {
		prog, err = p.code(nil, r, 0)
		prog = append(prog, bpf.StoreScratch{Src: bpf.RegA, N: 0})
		if err == nil {
			prog, err = p.code(prog, l, 1)
		}
		prog = append(prog, bpf.LoadScratch{Dst: bpf.RegX, N: 0})
		t.useX = true
	}
	if err != nil {
		return nil, p.errAt(opTok, "%v", err)
	}
	t.prog = prog
	n := leaf(t)
	if negate {
		n = not(n)
	}
	return and(checks, n), nil
}

func compare(op string, a, b uint32) bool {
	switch op {
	case ">":
		return a > b
	case "<":
		return a < b
	case ">=":
		return a >= b
	case "<=":
		return a <= b
	case "!=":
		return a != b
	}
	return a == b
}

func mirror(op string) string {
	switch op {
	case ">":
		return "<"
	case "<":
		return ">"
	case ">=":
		return "<="
	case "<=":
		return ">="
	}
	return op
}

// arith parses a binary expression whose operators bind at least minPrec.
func (p *parser) arith(minPrec int) (*arith, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.cur()
		name, ok := opOf(t)
		if !ok || binOps[name].prec < minPrec {
			return l, nil
		}
		p.i++
		r, err := p.arith(binOps[name].prec + 1)
		if err != nil {
			return nil, err
		}
		if l, err = binop(binOps[name].op, l, r); err != nil {
			return nil, p.errAt(t, "%v", err)
		}
	}
}

func binop(op bpf.ALUOp, l, r *arith) (*arith, error) {
	if (op == bpf.ALUOpDiv || op == bpf.ALUOpMod) && r.kind == arConst && r.k == 0 {
		return nil, semf("division by zero")
	}
	if l.kind == arConst && r.kind == arConst {
		a, b := l.k, r.k
		var v uint32
		switch op {
		case bpf.ALUOpAdd:
			v = a + b
		case bpf.ALUOpSub:
			v = a - b
		case bpf.ALUOpMul:
			v = a * b
		case bpf.ALUOpDiv:
			v = a / b
		case bpf.ALUOpMod:
			v = a % b
		case bpf.ALUOpAnd:
			v = a & b
		case bpf.ALUOpOr:
			v = a | b
		case bpf.ALUOpXor:
			v = a ^ b
		case bpf.ALUOpShiftLeft:
			v = a << (b & 31)
		case bpf.ALUOpShiftRight:
			v = a >> (b & 31)
		}
		return &arith{kind: arConst, k: v}, nil
	}
	return &arith{kind: arBin, op: op, l: l, r: r}, nil
}

func (p *parser) unary() (*arith, error) {
	t := p.cur()
	switch {
	case t.kind == tOp && t.text == "-":
		// libpcap 1.10 turns any relation with a unary minus into
		// "accept all"; refusing is safer than either copying that or
		// silently disagreeing with tcpdump.
		return nil, p.errAt(t, "unary minus is not supported")
	case t.kind == tLParen:
		p.i++
		x, err := p.arith(1)
		if err != nil {
			return nil, err
		}
		if c := p.cur(); c.kind != tRParen {
			return nil, p.unexpected(c)
		}
		p.i++
		return x, nil
	case t.kind == tNum:
		p.i++
		return &arith{kind: arConst, k: t.num}, nil
	case t.kind == tName:
		if v, ok := namedConsts[t.text]; ok {
			p.i++
			return &arith{kind: arConst, k: v}, nil
		}
	case t.kind == tKw && t.text == "len":
		p.i++
		return &arith{kind: arLen}, nil
	case t.kind == tKw:
		if pq, ok := protoNames[t.text]; ok {
			if n := p.peek(1); n.kind == tOp && n.text == "[" {
				return p.load(t, pq)
			}
		}
	}
	return nil, p.unexpected(t)
}

// load parses proto[index] or proto[index:size] and records the protocol
// checks libpcap puts in front of the comparison.
func (p *parser) load(t token, pq protoQ) (*arith, error) {
	p.i += 2
	idx, err := p.arith(1)
	if err != nil {
		return nil, err
	}
	size := 1
	if c := p.cur(); c.kind == tOp && c.text == ":" {
		p.i++
		s := p.cur()
		if s.kind != tNum || (s.num != 1 && s.num != 2 && s.num != 4) {
			return nil, p.errAt(s, "data size must be 1, 2, or 4")
		}
		size = int(s.num)
		p.i++
	}
	if c := p.cur(); c.kind != tOp || c.text != "]" {
		return nil, p.unexpected(c)
	}
	p.i++
	g := p.g
	if g.varShift && pq != pLink {
		return nil, p.errAt(t, "%s[...] after vlan is not supported with KernelVLAN", t.text)
	}
	a := &arith{kind: arLoad, size: size}
	var check *node
	switch pq {
	case pLink:
		a.base, a.off = baseAbs, 0
		check = trueNode
	case pIP, pIP6, pARP, pRARP:
		a.base, a.off = baseAbs, g.offPL
		check, err = g.abbrev(pq)
	case pTCP, pUDP, pSCTP, pICMP, pIGMP:
		a.base, a.off, a.hdr = baseTrans, g.offPL, g.offPL
		var ab *node
		ab, err = g.abbrev(pq)
		notFrag := not(cmpOp(g.offPL+6, 2, bpf.JumpBitsSet, 0x1fff))
		check = and(and(ab, notFrag), g.lt(etherIP))
	case pICMP6:
		a.base, a.off = baseAbs, g.offPL+40
		check = and(g.lt(etherIPv6), cmp(g.offPL+6, 1, ipprotoICMPv6))
	}
	if err != nil {
		return nil, p.wrap(t, err)
	}
	p.checks = and(p.checks, check)
	if idx.kind == arConst {
		a.off += idx.k
	} else {
		a.idx = idx
	}
	return a, nil
}

// maxScratch is the number of BPF scratch memory slots.
const maxScratch = 16

// code appends instructions leaving the value of a in A; depth is the
// first free scratch slot.
func (p *parser) code(prog []bpf.Instruction, a *arith, depth int) ([]bpf.Instruction, error) {
	if depth >= maxScratch {
		return nil, semf("arithmetic expression too complex")
	}
	var err error
	switch a.kind {
	case arConst:
		prog = append(prog, bpf.LoadConstant{Dst: bpf.RegA, Val: a.k})
	case arLen:
		prog = append(prog, bpf.LoadExtension{Num: bpf.ExtLen})
	case arBin:
		if a.r.kind == arConst {
			if prog, err = p.code(prog, a.l, depth); err != nil {
				return nil, err
			}
			return append(prog, bpf.ALUOpConstant{Op: a.op, Val: a.r.k}), nil
		}
		// Left first, so left-associated chains ("a + b + c ...") need
		// only two slots however long they are.
		if prog, err = p.code(prog, a.l, depth); err != nil {
			return nil, err
		}
		prog = append(prog, bpf.StoreScratch{Src: bpf.RegA, N: depth})
		if prog, err = p.code(prog, a.r, depth+1); err != nil {
			return nil, err
		}
		prog = append(prog, bpf.TAX{}, bpf.LoadScratch{Dst: bpf.RegA, N: depth}, bpf.ALUOpX{Op: a.op})
	case arLoad:
		switch {
		case a.idx == nil && a.base == baseAbs:
			prog = append(prog, bpf.LoadAbsolute{Off: a.off, Size: a.size})
		case a.idx == nil:
			prog = append(prog, bpf.LoadMemShift{Off: a.hdr}, bpf.LoadIndirect{Off: a.off, Size: a.size})
		default:
			if prog, err = p.code(prog, a.idx, depth); err != nil {
				return nil, err
			}
			if a.base == baseTrans {
				prog = append(prog, bpf.StoreScratch{Src: bpf.RegA, N: depth},
					bpf.LoadMemShift{Off: a.hdr},
					bpf.LoadScratch{Dst: bpf.RegA, N: depth},
					bpf.ALUOpX{Op: bpf.ALUOpAdd})
			}
			prog = append(prog, bpf.TAX{}, bpf.LoadIndirect{Off: a.off, Size: a.size})
		}
	}
	return prog, nil
}
