package reassembly

import (
	"testing"
	"unsafe"
)

// keyHash hashes a flowKey's memory: padding would put undefined bytes in
// the hash and make equal keys miss each other.
func TestFlowKeyHasNoPadding(t *testing.T) {
	var k flowKey
	fields := unsafe.Sizeof(k.lo) + unsafe.Sizeof(k.hi) + unsafe.Sizeof(k.loPort) + unsafe.Sizeof(k.hiPort) +
		unsafe.Sizeof(k.proto) + unsafe.Sizeof(k.v4)
	if unsafe.Sizeof(k) != fields {
		t.Fatalf("flowKey is %d B, its fields %d B: padding would enter keyHash", unsafe.Sizeof(k), fields)
	}
}

// Keys that share a hash are chained: each is found, and removing the
// head, a middle or the last of a chain keeps the others findable.
func TestFlowIndexChains(t *testing.T) {
	key := func(i int) flowKey { return flowKey{lo: [16]byte{byte(i)}, loPort: uint16(i), proto: 6} }
	for _, remove := range [][]int{{0}, {1}, {2}, {0, 1, 2}, {2, 1, 0}, {1, 0}} {
		tb := NewTable(Config{}, newRecHandler(), nil, nil)
		const h = 42
		var cs [3]*conn
		for i := range cs {
			cs[i] = &conn{key: key(i)}
			tb.indexAt(h, cs[i])
		}
		gone := map[int]bool{}
		for _, i := range remove {
			tb.unindexAt(h, cs[i])
			gone[i] = true
			for j := range cs {
				k := key(j)
				got := tb.findAt(h, &k)
				if gone[j] && got != nil || !gone[j] && got != cs[j] {
					t.Errorf("remove %v: after removing %d, key %d finds %p, want gone=%v", remove, i, j, got, gone[j])
				}
			}
		}
		if tb.Len() != 3-len(remove) {
			t.Errorf("remove %v: Len %d", remove, tb.Len())
		}
		if len(remove) == 3 && len(tb.flows) != 0 {
			t.Errorf("remove %v: %d index entries left", remove, len(tb.flows))
		}
	}
	// A key with another hash is not found through the chain.
	tb := NewTable(Config{}, newRecHandler(), nil, nil)
	c := &conn{key: key(7)}
	tb.index(c)
	if k := key(7); tb.find(&k) != c {
		t.Error("indexed key not found")
	}
	if k := key(8); tb.find(&k) != nil {
		t.Error("other key found")
	}
}
