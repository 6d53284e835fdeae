package destinations

import "net/netip"

// prefixTable is a longest-prefix-match table: one binary trie per address
// family, nodes in a flat slice indexed by uint32. A lookup walks at most 32
// (IPv4) or 128 (IPv6) nodes and does not allocate. Values are int32 indexes
// into the owner's data; -1 means none. It is immutable after building.
type prefixTable struct {
	v4, v6 []ptNode
}

type ptNode struct {
	child [2]uint32 // 0 = no child (node 0 is the root, never a child)
	val   int32
}

func newPrefixTable() *prefixTable {
	return &prefixTable{v4: []ptNode{{val: -1}}, v6: []ptNode{{val: -1}}}
}

// insert stores val at prefix p (masked). When the prefix already holds a
// value, replace decides whether val replaces it.
func (t *prefixTable) insert(p netip.Prefix, val int32, replace func(old, new int32) bool) {
	p = p.Masked()
	addr := p.Addr().Unmap()
	bits := p.Bits()
	nodes := &t.v6
	if addr.Is4() {
		nodes = &t.v4
		if p.Addr().Is4In6() {
			bits -= 96
		}
	}
	if bits < 0 {
		return
	}
	b := addr.As16()
	if addr.Is4() {
		a4 := addr.As4()
		copy(b[:], a4[:])
	}
	n := uint32(0)
	for i := 0; i < bits; i++ {
		bit := (b[i>>3] >> (7 - uint(i&7))) & 1
		c := (*nodes)[n].child[bit]
		if c == 0 {
			*nodes = append(*nodes, ptNode{val: -1})
			c = uint32(len(*nodes) - 1)
			(*nodes)[n].child[bit] = c
		}
		n = c
	}
	old := (*nodes)[n].val
	if old < 0 || replace == nil || replace(old, val) {
		(*nodes)[n].val = val
	}
}

// lookup returns the value of the longest prefix containing addr and that
// prefix's length, or -1, -1.
func (t *prefixTable) lookup(addr netip.Addr) (int32, int) {
	if t == nil || !addr.IsValid() {
		return -1, -1
	}
	addr = addr.Unmap()
	var nodes []ptNode
	var b [16]byte
	max := 128
	if addr.Is4() {
		nodes, max = t.v4, 32
		a4 := addr.As4()
		copy(b[:], a4[:])
	} else {
		nodes = t.v6
		b = addr.As16()
	}
	best, bestBits := nodes[0].val, 0
	if best < 0 {
		bestBits = -1
	}
	n := uint32(0)
	for i := 0; i < max; i++ {
		bit := (b[i>>3] >> (7 - uint(i&7))) & 1
		c := nodes[n].child[bit]
		if c == 0 {
			break
		}
		n = c
		if v := nodes[n].val; v >= 0 {
			best, bestBits = v, i+1
		}
	}
	return best, bestBits
}
