package rules

import (
	"hash/maphash"
	"sync"

	"github.com/tapdlp/tapdlp/internal/lru"
)

// maxFlowsThreshold bounds threshold.flows: each key keeps that many flow
// times, so a key costs flows × 8 bytes.
const maxFlowsThreshold = 1000

// flowCounts counts, per rule and key, the flows that matched a `flows:`
// threshold rule's conditions, keeping the packet times of the last N
// (N = the rule's flows) so "N flows within the window" is exact, not
// bucketed. Bounded by maxKeys keys, least recently active evicted first;
// at most maxKeys × (maxFlowsThreshold × 8 + ~120) bytes, with the default
// pack (flows: 5) about 160 bytes a key. It lives in the Volume so counts
// survive a rules reload.
type flowCounts struct {
	seed   maphash.Seed
	shards [shardCount]countShard
}

type countShard struct {
	mu    sync.Mutex
	c     *lru.Cache[countKey, countRing]
	spare []int64 // the ring of the last evicted key, for the next new key
}

type countKey struct {
	rule string
	k    key
}

// countRing holds the times of the latest len(ts) flows, next the slot the
// next one overwrites.
type countRing struct {
	ts   []int64
	next int
	n    int
}

func newFlowCounts(maxKeys int) *flowCounts {
	fc := &flowCounts{seed: maphash.MakeSeed()}
	per := (maxKeys + shardCount - 1) / shardCount
	for i := range fc.shards {
		s := &fc.shards[i]
		// A flood of new keys (a scan, a SYN flood) evicts one key per
		// flow: its ring is reused for the next key instead of allocated.
		s.c = lru.New(lru.Options[countKey, countRing]{MaxEntries: per,
			OnEvict: func(_ countKey, v *countRing) { s.spare = v.ts }})
	}
	return fc
}

func (fc *flowCounts) shard(k countKey) *countShard {
	h := maphash.String(fc.seed, k.rule) ^ maphash.String(fc.seed, k.k.src)*31 ^ maphash.String(fc.seed, k.k.dst)*131
	return &fc.shards[h%shardCount]
}

// count records one more flow for (rule, k) at now when add, and returns
// how many of the key's latest flows (at most n) fall within window before
// now. Flows older than the window are not counted; a flow time a little
// in the past (another worker's clock) counts like any other.
func (fc *flowCounts) count(rule string, k key, n int, window, now int64, add bool) int {
	ck := countKey{rule, k}
	s := fc.shard(ck)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.c.Get(ck)
	if !ok {
		if !add {
			return 0
		}
		ts := s.spare
		s.spare = nil
		if cap(ts) >= n {
			ts = ts[:n]
		} else {
			ts = make([]int64, n)
		}
		e, _ = s.c.Add(ck, countRing{ts: ts})
	}
	r := &e.Value
	if len(r.ts) != n { // the rule was reloaded with another flows: restart
		*r = countRing{ts: make([]int64, n)}
	}
	if add {
		r.ts[r.next] = now
		r.next = (r.next + 1) % n
		r.n = min(r.n+1, n)
	}
	c := 0
	for i := 0; i < r.n; i++ {
		if now-r.ts[i] < window {
			c++
		}
	}
	return c
}

func (fc *flowCounts) stats() (keys int, evicted uint64) {
	for i := range fc.shards {
		s := &fc.shards[i]
		s.mu.Lock()
		keys += s.c.Len()
		evicted += s.c.Evictions()
		s.mu.Unlock()
	}
	return keys, evicted
}
