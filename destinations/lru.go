package destinations

import (
	"encoding/binary"
	"net/netip"
	"sync"
)

// lru is a sharded, bounded least-recently-used map. Each shard has its own
// mutex so that workers touching different keys rarely contend; the bound is
// split evenly across shards. Evicted entries are reused for the next insert,
// so a full cache does not allocate.
type lru[K comparable, V any] struct {
	shards []lruShard[K, V]
	hash   func(K) uint64
}

type lruShard[K comparable, V any] struct {
	mu        sync.Mutex
	m         map[K]*lruEntry[K, V]
	head      *lruEntry[K, V] // most recently used
	tail      *lruEntry[K, V]
	max       int
	evictions uint64
	_         [16]byte // pad to 64 bytes: neighbouring shard locks do not share a cache line
}

type lruEntry[K comparable, V any] struct {
	key        K
	val        V
	prev, next *lruEntry[K, V]
}

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
		l.shards[i].m = make(map[K]*lruEntry[K, V])
		l.shards[i].max = per
	}
	return l
}

func (l *lru[K, V]) shard(k K) *lruShard[K, V] {
	return &l.shards[l.hash(k)%uint64(len(l.shards))]
}

// get returns the value and marks it recently used.
func (l *lru[K, V]) get(k K) (V, bool) {
	s := l.shard(k)
	s.mu.Lock()
	e, ok := s.m[k]
	if !ok {
		s.mu.Unlock()
		var zero V
		return zero, false
	}
	s.moveFront(e)
	v := e.val
	s.mu.Unlock()
	return v, true
}

// put stores k=v as most recently used; it returns true when a new key was
// added (not an update).
func (l *lru[K, V]) put(k K, v V) bool {
	s := l.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[k]; ok {
		e.val = v
		s.moveFront(e)
		return false
	}
	var e *lruEntry[K, V]
	if len(s.m) >= s.max && s.tail != nil {
		e = s.tail
		s.unlink(e)
		delete(s.m, e.key)
		s.evictions++
		*e = lruEntry[K, V]{}
	} else {
		e = new(lruEntry[K, V])
	}
	e.key, e.val = k, v
	s.m[k] = e
	s.pushFront(e)
	return true
}

// update sets the value of an existing key and marks it recently used; it
// returns false, storing nothing, when k is absent.
func (l *lru[K, V]) update(k K, v V) bool {
	s := l.shard(k)
	s.mu.Lock()
	e, ok := s.m[k]
	if ok {
		e.val = v
		s.moveFront(e)
	}
	s.mu.Unlock()
	return ok
}

// remove deletes k if present.
func (l *lru[K, V]) remove(k K) {
	s := l.shard(k)
	s.mu.Lock()
	if e, ok := s.m[k]; ok {
		s.unlink(e)
		delete(s.m, k)
	}
	s.mu.Unlock()
}

func (l *lru[K, V]) len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

func (l *lru[K, V]) evictions() uint64 {
	var n uint64
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.evictions
		s.mu.Unlock()
	}
	return n
}

// each calls fn for every entry, shard by shard, least recent first.
func (l *lru[K, V]) each(fn func(K, V)) {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for e := s.tail; e != nil; e = e.prev {
			fn(e.key, e.val)
		}
		s.mu.Unlock()
	}
}

func (s *lruShard[K, V]) pushFront(e *lruEntry[K, V]) {
	e.prev, e.next = nil, s.head
	if s.head != nil {
		s.head.prev = e
	}
	s.head = e
	if s.tail == nil {
		s.tail = e
	}
}

func (s *lruShard[K, V]) unlink(e *lruEntry[K, V]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (s *lruShard[K, V]) moveFront(e *lruEntry[K, V]) {
	if s.head == e {
		return
	}
	s.unlink(e)
	s.pushFront(e)
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
