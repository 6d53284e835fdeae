package rules

import (
	"sync"
	"sync/atomic"

	"github.com/tapdlp/tapdlp/internal/lru"
)

// Dedup folds repeated firings of one rule for one key. Semantics: the first
// firing for (rule, key) emits an alert (Count 1) and opens a window; later
// firings inside the window emit nothing and are counted; the first firing
// after the window emits an alert whose Count is 1 plus the firings folded
// since the last emitted alert, and opens a new window. Folded firings not
// followed by another firing are visible only in Stats (no timer emits
// summaries: nothing here reads the clock). The state is an LRU bounded by
// MaxKeys; evictions and the firings they lost are counted.
// It is safe for concurrent use and meant to outlive an Engine across reloads.
type Dedup struct {
	mu    sync.Mutex
	state *lru.Cache[dedupKey, dedupEntry] // most recently fired first

	evicted           atomic.Uint64
	evictedSuppressed atomic.Uint64
}

type dedupKey struct {
	rule string
	k    key
}

type dedupEntry struct {
	start      int64 // packet time the current window opened
	suppressed int
}

// NewDedup returns de-duplication state for at most maxKeys keys (default
// 10000 when maxKeys <= 0).
func NewDedup(maxKeys int) *Dedup {
	if maxKeys <= 0 {
		maxKeys = 10000
	}
	d := &Dedup{}
	d.state = lru.New(lru.Options[dedupKey, dedupEntry]{MaxEntries: maxKeys, OnEvict: func(_ dedupKey, e *dedupEntry) {
		d.evicted.Add(1)
		d.evictedSuppressed.Add(uint64(e.suppressed))
	}})
	return d
}

// fire records one firing and says whether to emit an alert and with which
// count. It runs only when a rule fired, never per record.
func (d *Dedup) fire(rule string, k key, now, window int64) (emit bool, count int) {
	if window <= 0 {
		return true, 1
	}
	dk := dedupKey{rule: rule, k: k}
	d.mu.Lock()
	defer d.mu.Unlock()
	if el, ok := d.state.Get(dk); ok {
		e := &el.Value
		// Out-of-order times (another worker behind) count as inside.
		if now-e.start < window {
			e.suppressed++
			return false, 0
		}
		count = 1 + e.suppressed
		e.start, e.suppressed = now, 0
		return true, count
	}
	d.state.Add(dk, dedupEntry{start: now})
	return true, 1
}

// DedupStats counts what de-duplication holds and dropped.
type DedupStats struct {
	Keys              int
	Evicted           uint64 // keys dropped at MaxKeys
	EvictedSuppressed uint64 // folded firings lost with them
}

// Stats returns current counters.
func (d *Dedup) Stats() DedupStats {
	d.mu.Lock()
	n := d.state.Len()
	d.mu.Unlock()
	return DedupStats{Keys: n, Evicted: d.evicted.Load(), EvictedSuppressed: d.evictedSuppressed.Load()}
}
