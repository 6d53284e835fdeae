// Package lru is the one bounded least-recently-used map of tapdlp: every
// stateful structure keyed by traffic (DNS answers, first-seen names, alert
// de-duplication, volume baselines) keeps its keys in one, so each has a
// hard cap, evicts the least recently used key and counts what it evicted.
// A Cache is not safe for concurrent use: callers own the locking (and
// shard when workers contend). It must not know what it stores.
package lru

// Options bound a Cache. Zero values mean "no bound" for that dimension; at
// least one bound should be set.
type Options[K comparable, V any] struct {
	MaxEntries int               // keys held at most (0: no count bound)
	MaxBytes   int64             // bytes held at most, as Size reports them (0: no byte bound)
	Size       func(K, *V) int64 // bytes an entry holds, taken when it is added or replaced (nil: 0)
	OnEvict    func(key K, v *V) // called for each entry a bound evicts (not for Remove)
}

// Entry is one key and its value. A pointer to it stays valid until the key
// is evicted or removed (Live reports false then); the caller may change
// Value in place.
type Entry[K comparable, V any] struct {
	Key        K
	Value      V
	prev, next *Entry[K, V]
	size       int64
	live       bool
}

// Live reports whether the entry still holds Key in its cache. An evicted
// entry may be reused for another key, so check Key too.
func (e *Entry[K, V]) Live() bool { return e.live }

// Cache is a bounded least-recently-used map.
type Cache[K comparable, V any] struct {
	opt        Options[K, V]
	m          map[K]*Entry[K, V]
	head, tail *Entry[K, V] // most and least recently used
	bytes      int64
	evictions  uint64
}

// New returns an empty cache.
func New[K comparable, V any](opt Options[K, V]) *Cache[K, V] {
	return &Cache[K, V]{opt: opt, m: make(map[K]*Entry[K, V])}
}

// Get returns k's entry and marks it most recently used.
func (c *Cache[K, V]) Get(k K) (*Entry[K, V], bool) {
	e, ok := c.m[k]
	if ok {
		c.Touch(e)
	}
	return e, ok
}

// Peek returns k's entry without changing its recency.
func (c *Cache[K, V]) Peek(k K) (*Entry[K, V], bool) {
	e, ok := c.m[k]
	return e, ok
}

// Touch marks a live entry most recently used.
func (c *Cache[K, V]) Touch(e *Entry[K, V]) {
	if c.head == e || !e.live {
		return
	}
	c.unlink(e)
	c.pushFront(e)
}

// Add stores k=v as the most recently used entry and returns it; added is
// false when k was present (its value is replaced). Bounds are enforced
// before it returns, never by evicting the entry just added. At the count
// bound the evicted entry's memory is reused, so a full cache does not
// allocate.
func (c *Cache[K, V]) Add(k K, v V) (e *Entry[K, V], added bool) {
	if e, ok := c.m[k]; ok {
		e.Value = v
		c.resize(e)
		c.Touch(e)
		c.trim(e)
		return e, false
	}
	if c.opt.MaxEntries > 0 && len(c.m) >= c.opt.MaxEntries && c.tail != nil {
		e = c.tail
		c.evict(e)
		*e = Entry[K, V]{}
	} else {
		e = new(Entry[K, V])
	}
	e.Key, e.Value, e.live = k, v, true
	c.m[k] = e
	c.pushFront(e)
	c.resize(e)
	c.trim(e)
	return e, true
}

// Resized re-reads a live entry's size after its Value changed in place,
// and evicts other entries if the byte bound is now exceeded.
func (c *Cache[K, V]) Resized(e *Entry[K, V]) {
	if !e.live {
		return
	}
	c.resize(e)
	c.trim(e)
}

// Remove deletes k; it reports whether k was present. Removal is not
// counted as an eviction.
func (c *Cache[K, V]) Remove(k K) bool {
	e, ok := c.m[k]
	if !ok {
		return false
	}
	c.drop(e)
	return true
}

// Len returns the number of keys held.
func (c *Cache[K, V]) Len() int { return len(c.m) }

// Bytes returns the bytes held, as Options.Size reported them.
func (c *Cache[K, V]) Bytes() int64 { return c.bytes }

// Evictions returns how many entries the bounds evicted so far.
func (c *Cache[K, V]) Evictions() uint64 { return c.evictions }

// Each calls fn for every entry, least recently used first, without
// changing recency. fn must not add or remove keys.
func (c *Cache[K, V]) Each(fn func(*Entry[K, V])) {
	for e := c.tail; e != nil; e = e.prev {
		fn(e)
	}
}

func (c *Cache[K, V]) resize(e *Entry[K, V]) {
	if c.opt.Size == nil {
		return
	}
	c.bytes -= e.size
	e.size = c.opt.Size(e.Key, &e.Value)
	c.bytes += e.size
}

// trim evicts least recently used entries other than keep until both
// bounds hold.
func (c *Cache[K, V]) trim(keep *Entry[K, V]) {
	for c.tail != nil && c.tail != keep &&
		((c.opt.MaxEntries > 0 && len(c.m) > c.opt.MaxEntries) || (c.opt.MaxBytes > 0 && c.bytes > c.opt.MaxBytes)) {
		c.evict(c.tail)
	}
}

func (c *Cache[K, V]) evict(e *Entry[K, V]) {
	c.evictions++
	if c.opt.OnEvict != nil {
		c.opt.OnEvict(e.Key, &e.Value)
	}
	c.drop(e)
}

func (c *Cache[K, V]) drop(e *Entry[K, V]) {
	c.unlink(e)
	delete(c.m, e.Key)
	c.bytes -= e.size
	e.size = 0
	e.live = false
}

func (c *Cache[K, V]) pushFront(e *Entry[K, V]) {
	e.prev, e.next = nil, c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}

func (c *Cache[K, V]) unlink(e *Entry[K, V]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
}
