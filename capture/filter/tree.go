package filter

import "golang.org/x/net/bpf"

// nodeKind tells what a node of the boolean test tree is.
type nodeKind uint8

const (
	nTest nodeKind = iota
	nTrue
	nFalse
	nAnd
	nOr
	nNot
)

// loadMode says how a test loads the value it compares.
type loadMode uint8

const (
	ldAbs  loadMode = iota // A = pkt[off:off+size]
	ldInd                  // X = 4*(pkt[xoff]&0xf); A = pkt[X+off:...]
	ldLen                  // A = packet (wire) length
	ldExt                  // A = kernel ancillary data (VLAN tag metadata)
	ldProg                 // A = result of prog (arithmetic on packet data)
)

// test is one comparison: load, optional AND mask, conditional jump. Each
// test loads what it needs itself, so tests can be placed anywhere in the
// program without data flow between them.
type test struct {
	mode    loadMode
	size    int // 1, 2 or 4
	off     uint32
	xoff    uint32
	mask    uint32
	hasMask bool
	op      bpf.JumpTest // JumpEqual, JumpGreaterThan, JumpGreaterOrEqual or JumpBitsSet
	k       uint32
	ext     bpf.Extension // ldExt only
	// ldProg: straight-line code computing A (and X when useX), then a
	// comparison of A with X instead of k.
	prog []bpf.Instruction
	useX bool
	// vshift adds 4 at run time unless the kernel reported an offloaded
	// VLAN tag (Options.KernelVLAN, after the first "vlan").
	vshift bool
}

// node is a boolean expression over tests. Constructors fold constants so
// the emitter never generates unreachable code.
type node struct {
	kind nodeKind
	l, r *node
	t    test
}

var (
	trueNode  = &node{kind: nTrue}
	falseNode = &node{kind: nFalse}
)

// setShift marks every packet load of n as following a kernel-mode vlan.
func setShift(n *node) {
	for n != nil {
		switch n.kind {
		case nTest:
			if n.t.mode == ldAbs || n.t.mode == ldInd {
				n.t.vshift = true
			}
			return
		case nAnd, nOr:
			setShift(n.r)
		}
		n = n.l
	}
}

func leaf(t test) *node { return &node{kind: nTest, t: t} }

func and(a, b *node) *node {
	switch {
	case a.kind == nFalse || b.kind == nFalse:
		return falseNode
	case a.kind == nTrue:
		return b
	case b.kind == nTrue:
		return a
	}
	return &node{kind: nAnd, l: a, r: b}
}

func or(a, b *node) *node {
	switch {
	case a.kind == nTrue || b.kind == nTrue:
		return trueNode
	case a.kind == nFalse:
		return b
	case b.kind == nFalse:
		return a
	}
	return &node{kind: nOr, l: a, r: b}
}

func not(a *node) *node {
	switch a.kind {
	case nTrue:
		return falseNode
	case nFalse:
		return trueNode
	case nNot:
		return a.l
	}
	return &node{kind: nNot, l: a}
}

// cmp is "size bytes at off == k".
func cmp(off uint32, size int, k uint32) *node {
	return leaf(test{mode: ldAbs, size: size, off: off, op: bpf.JumpEqual, k: k})
}

// mcmp is "(size bytes at off) & mask == k"; a full mask needs no AND and a
// zero mask always holds.
func mcmp(off uint32, size int, k, mask uint32) *node {
	if mask == 0 {
		return trueNode
	}
	full := uint32(0xffffffff) >> (32 - 8*size)
	t := test{mode: ldAbs, size: size, off: off, op: bpf.JumpEqual, k: k}
	if mask&full != full {
		t.mask, t.hasMask = mask, true
	}
	return leaf(t)
}

func cmpOp(off uint32, size int, op bpf.JumpTest, k uint32) *node {
	return leaf(test{mode: ldAbs, size: size, off: off, op: op, k: k})
}
