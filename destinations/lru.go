package destinations

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"unsafe"

	cache "github.com/tapdlp/tapdlp/internal/lru"
)

// lru is a sharded, bounded least-recently-used map: one internal/lru
// Cache per shard, each behind its own mutex so that workers touching
// different keys rarely contend; the bound is split evenly across shards.
// A full cache reuses evicted entries, so it does not allocate.
type lru[K comparable, V any] struct {
	shards []lruShard[K, V]
	hash   func(K) uint64
}

type lruShard[K comparable, V any] struct {
	mu sync.Mutex
	c  cache.Cache[K, V] // in the shard, not behind a pointer: caches allocated one after another shared cache lines
	_  [shardPad]byte    // no two shards share a cache line: the dispatcher learns and the workers look up on other cores
}

// shardPad rounds a shard up to a multiple of two cache lines (its size
// does not depend on K and V: the cache holds only pointers and integers).
const shardPad = (128 - (unsafe.Sizeof(sync.Mutex{})+unsafe.Sizeof(cache.Cache[int, int]{}))%128) % 128

func newLRU[K comparable, V any](maxEntries, shards int, hash func(K) uint64) *lru[K, V] {
	if shards < 1 {
		shards = 1
	}
	if maxEntries < shards {
		shards = max(1, maxEntries)
	}
	per := (maxEntries + shards - 1) / shards
	l := &lru[K, V]{shards: make([]lruShard[K, V], shards), hash: hash}
	for i := range l.shards {
		l.shards[i].c = *cache.New(cache.Options[K, V]{MaxEntries: max(per, 1)}) // empty: nothing points into it yet
	}
	return l
}

func (l *lru[K, V]) shard(k K) *lruShard[K, V] { return &l.shards[l.index(k)] }

// index returns the number of k's shard.
func (l *lru[K, V]) index(k K) int { return int(l.hash(k) % uint64(len(l.shards))) }

// get returns the value and marks it recently used.
func (l *lru[K, V]) get(k K) (V, bool) { return l.getAt(l.index(k), k) }

// getAt is get for a key in shard i (index).
func (l *lru[K, V]) getAt(i int, k K) (V, bool) {
	s := &l.shards[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.c.Get(k); ok {
		return e.Value, true
	}
	var zero V
	return zero, false
}

// put stores k=v as most recently used; it returns true when a new key was
// added (not an update).
func (l *lru[K, V]) put(k K, v V) bool {
	s := l.shard(k)
	s.mu.Lock()
	_, added := s.c.Add(k, v)
	s.mu.Unlock()
	return added
}

// update sets the value of an existing key and marks it recently used; it
// returns false, storing nothing, when k is absent.
func (l *lru[K, V]) update(k K, v V) bool {
	s := l.shard(k)
	s.mu.Lock()
	e, ok := s.c.Get(k)
	if ok {
		e.Value = v
	}
	s.mu.Unlock()
	return ok
}

// remove deletes k if present.
func (l *lru[K, V]) remove(k K) {
	s := l.shard(k)
	s.mu.Lock()
	s.c.Remove(k)
	s.mu.Unlock()
}

func (l *lru[K, V]) len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.c.Len()
		s.mu.Unlock()
	}
	return n
}

func (l *lru[K, V]) evictions() uint64 {
	var n uint64
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.c.Evictions()
		s.mu.Unlock()
	}
	return n
}

// each calls fn for every entry, shard by shard, least recent first.
func (l *lru[K, V]) each(fn func(K, V)) {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		s.c.Each(func(e *cache.Entry[K, V]) { fn(e.Key, e.Value) })
		s.mu.Unlock()
	}
}

// mix64 is the murmur3 finaliser: cheap, and spreads address bits that
// differ only in the low octets across shards.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func addrHash(a netip.Addr) uint64 {
	b := a.As16()
	return mix64(binary.LittleEndian.Uint64(b[:8]) ^ mix64(binary.LittleEndian.Uint64(b[8:])))
}

func stringHash(s string) uint64 {
	// FNV-1a; keys are short domain names.
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}
