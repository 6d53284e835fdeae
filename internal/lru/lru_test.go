package lru

import (
	"slices"
	"testing"
)

func keys[K comparable, V any](c *Cache[K, V]) []K {
	var ks []K
	c.Each(func(e *Entry[K, V]) { ks = append(ks, e.Key) })
	return ks
}

func TestCountBoundEvictsLeastRecentlyUsed(t *testing.T) {
	var evicted []string
	c := New(Options[string, int]{MaxEntries: 3, OnEvict: func(k string, v *int) { evicted = append(evicted, k) }})
	for i, k := range []string{"a", "b", "c"} {
		if _, added := c.Add(k, i); !added {
			t.Fatalf("%s not added", k)
		}
	}
	c.Get("a")  // a is now most recent: b is the LRU
	c.Peek("b") // Peek does not change that
	if _, added := c.Add("d", 3); !added {
		t.Fatal("d not added")
	}
	if got := keys(c); !slices.Equal(got, []string{"c", "a", "d"}) {
		t.Errorf("order %v, want [c a d] (least recent first)", got)
	}
	if !slices.Equal(evicted, []string{"b"}) || c.Evictions() != 1 || c.Len() != 3 {
		t.Errorf("evicted %v (count %d), len %d", evicted, c.Evictions(), c.Len())
	}
	if _, ok := c.Peek("b"); ok {
		t.Error("b still present")
	}
	// Replacing a value is not an insert and evicts nothing.
	if e, added := c.Add("c", 9); added || e.Value != 9 || c.Evictions() != 1 {
		t.Errorf("replace: added %v value %d evictions %d", added, e.Value, c.Evictions())
	}
	// Remove is not an eviction.
	if !c.Remove("a") || c.Remove("a") || c.Evictions() != 1 || c.Len() != 2 {
		t.Errorf("remove: len %d evictions %d", c.Len(), c.Evictions())
	}
}

func TestByteBound(t *testing.T) {
	c := New(Options[string, []byte]{MaxBytes: 10, Size: func(k string, v *[]byte) int64 { return int64(len(k) + len(*v)) }})
	c.Add("a", make([]byte, 3)) // 4
	c.Add("b", make([]byte, 3)) // 8
	c.Add("c", make([]byte, 3)) // 12 > 10: a goes
	if got := keys(c); !slices.Equal(got, []string{"b", "c"}) || c.Bytes() != 8 || c.Evictions() != 1 {
		t.Fatalf("keys %v bytes %d evictions %d", got, c.Bytes(), c.Evictions())
	}
	// An entry larger than the bound alone is kept (never evict what was just added) and pushes the rest out.
	c.Add("big", make([]byte, 20))
	if got := keys(c); !slices.Equal(got, []string{"big"}) || c.Bytes() != 23 {
		t.Fatalf("keys %v bytes %d", got, c.Bytes())
	}
	// Growing in place is accounted by Resized.
	c2 := New(Options[string, []byte]{MaxBytes: 10, Size: func(k string, v *[]byte) int64 { return int64(len(*v)) }})
	c2.Add("x", make([]byte, 4))
	y, _ := c2.Add("y", make([]byte, 4))
	y.Value = make([]byte, 8)
	c2.Resized(y)
	if got := keys(c2); !slices.Equal(got, []string{"y"}) || c2.Bytes() != 8 {
		t.Fatalf("after Resized: keys %v bytes %d", got, c2.Bytes())
	}
}

func TestEntryLiveness(t *testing.T) {
	c := New(Options[int, int]{MaxEntries: 1})
	e1, _ := c.Add(1, 1)
	e2, _ := c.Add(2, 2)
	// The full cache reused the evicted entry: a holder of e1 must check
	// Live and Key before trusting it.
	if e1 == e2 && (e1.Key != 2 || !e1.Live()) {
		t.Fatalf("reused entry holds %d live %v", e1.Key, e1.Live())
	}
	c.Remove(2)
	if e2.Live() {
		t.Error("removed entry still live")
	}
	c.Touch(e2) // a dead entry is ignored
	if c.Len() != 0 {
		t.Errorf("len %d", c.Len())
	}
}

func TestFullCacheDoesNotAllocate(t *testing.T) {
	c := New(Options[int, int]{MaxEntries: 64})
	for i := range 64 {
		c.Add(i, i)
	}
	i := 64
	if n := testing.AllocsPerRun(1000, func() { c.Add(i, i); i++ }); n != 0 {
		t.Errorf("%v allocations per insert into a full cache", n)
	}
}
