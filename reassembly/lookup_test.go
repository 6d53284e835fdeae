package reassembly

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strconv"
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

// Keys that share a hash, or only a home slot, occupy a run of slots:
// each is found, and removing any of them in any order (backward-shift
// deletion, across the end of the slot array) keeps the others findable.
func TestFlowIndexCollisions(t *testing.T) {
	key := func(i int) flowKey { return flowKey{lo: [16]byte{byte(i), byte(i >> 8)}, loPort: uint16(i), proto: 6} }
	const last = minIndex - 1 // home slot of the last entry: runs wrap to slot 0
	hashes := map[string]func(i int) uint64{
		"same hash":           func(int) uint64 { return 42 },
		"same home slot":      func(i int) uint64 { return 42 + uint64(i)*minIndex },
		"same hash, wrapping": func(int) uint64 { return last },
		"two interleaved homes, wrapping": func(i int) uint64 {
			return last - 1 + uint64(i%2)
		},
	}
	for name, hash := range hashes {
		for _, n := range []int{1, 3, 64, 300} {
			for _, order := range []string{"fifo", "lifo", "random"} {
				tb := NewTable(Config{}, newRecHandler(), nil, nil)
				cs := make([]*conn, n)
				for i := range cs {
					cs[i] = &conn{key: key(i)}
					tb.indexAt(hash(i), cs[i])
				}
				remove := make([]int, n)
				for i := range remove {
					remove[i] = i
				}
				switch order {
				case "lifo":
					slices.Reverse(remove)
				case "random":
					rand.New(rand.NewPCG(uint64(n), 1)).Shuffle(n, func(i, j int) { remove[i], remove[j] = remove[j], remove[i] })
				}
				gone := make([]bool, n)
				for step, i := range remove {
					tb.unindexAt(hash(i), cs[i])
					gone[i] = true
					for j := range cs {
						k := key(j)
						got := tb.findAt(hash(j), &k)
						if gone[j] && got != nil || !gone[j] && got != cs[j] {
							t.Fatalf("%s, %d flows, %s: after removing %d (step %d), key %d finds %p, want gone=%v",
								name, n, order, i, step, j, got, gone[j])
						}
					}
					// A key not indexed is not found through the run.
					if k := key(n + 1); tb.findAt(hash(n+1), &k) != nil {
						t.Fatalf("%s: a key never indexed was found", name)
					}
				}
				if tb.Len() != 0 || tb.flows.n != 0 {
					t.Errorf("%s, %d flows, %s: Len %d, %d slots used", name, n, order, tb.Len(), tb.flows.n)
				}
			}
		}
	}
}

// The index follows a map through random inserts and removals with real
// seeded hashes, growing past and shrinking back to its smallest size, and
// stays at most three quarters full.
func TestFlowIndexModel(t *testing.T) {
	tb := NewTable(Config{}, newRecHandler(), nil, nil)
	rng := rand.New(rand.NewPCG(7, 7))
	model := map[flowKey]*conn{}
	var keys []flowKey
	key := func(i uint32) flowKey {
		var k flowKey
		binary.BigEndian.PutUint32(k.lo[12:], i)
		k.hiPort, k.proto, k.v4 = 443, 6, true
		return k
	}
	check := func(phase string) {
		if tb.Len() != len(model) {
			t.Fatalf("%s: Len %d, model %d", phase, tb.Len(), len(model))
		}
		if s := len(tb.flows.slots); s > 0 && (4*tb.flows.n > 3*s || s&(s-1) != 0) {
			t.Fatalf("%s: %d entries in %d slots", phase, tb.flows.n, s)
		}
	}
	for round, target := range []int{5000, 100, 20000, 0} {
		for len(model) != target {
			if len(model) < target && (len(model) == 0 || rng.IntN(4) != 0) {
				k := key(rng.Uint32())
				if model[k] != nil {
					continue
				}
				c := &conn{key: k}
				tb.index(c)
				model[k] = c
				keys = append(keys, k)
			} else if len(model) > 0 {
				i := rng.IntN(len(keys))
				k := keys[i]
				keys[i] = keys[len(keys)-1]
				keys = keys[:len(keys)-1]
				tb.unindex(model[k])
				delete(model, k)
			}
		}
		tb.flows.shrink()
		check("round " + strconv.Itoa(round))
		if s := len(tb.flows.slots); target == 0 && s > minIndex || s > minIndex && 8*len(model) < s {
			t.Fatalf("round %d: %d flows in %d slots after shrink", round, len(model), s)
		}
		for k, c := range model {
			if got := tb.find(&k); got != c {
				t.Fatalf("round %d: key finds %p, want %p", round, got, c)
			}
		}
		for range 1000 {
			k := key(rng.Uint32())
			if got := tb.find(&k); got != model[k] {
				t.Fatalf("round %d: absent key finds %p", round, got)
			}
		}
	}
}
