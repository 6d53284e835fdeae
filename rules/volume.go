package rules

import (
	"hash/maphash"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapdlp/tapdlp/internal/lru"
	"github.com/tapdlp/tapdlp/record"
)

// Ring sizes. A key keeps fineBuckets recent buckets (1 min each by default:
// the last hour at full resolution) and coarseBuckets buckets of
// fineBuckets each (1 h: the last day). That is 84 uint64 = 672 bytes of
// counters per key (about 800 with the entry header and map slot) instead of
// 11.5 KB for 1440 minute buckets; windows longer than fineBuckets buckets
// are measured in whole coarse buckets.
const (
	fineBuckets   = 60
	coarseBuckets = 24
	shardCount    = 16
)

// maxWindow is the longest threshold window with the default 1-minute bucket.
const maxWindow = fineBuckets * coarseBuckets * time.Minute

// VolumeOptions bound and tune volume tracking; zero values mean defaults.
type VolumeOptions struct {
	Bucket   time.Duration // bucket width; default 1m
	MaxKeys  int           // keys kept across all shards; default 20000 (~16 MB)
	HalfLife time.Duration // EWMA baseline half-life; default 24h
	Warmup   int           // closed buckets a key needs before baseline tests apply; default 60
}

func (o *VolumeOptions) setDefaults() {
	if o.Bucket <= 0 {
		o.Bucket = time.Minute
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = 20000
	}
	if o.HalfLife <= 0 {
		o.HalfLife = 24 * time.Hour
	}
	if o.Warmup <= 0 {
		o.Warmup = 60
	}
}

// Volume counts bytes out per key in time buckets and keeps an EWMA
// baseline of bytes per bucket for each key. It is safe for concurrent use
// (sharded locks) and is meant to outlive an Engine across reloads.
type Volume struct {
	opt      VolumeOptions
	bucketNs int64
	alpha    float64 // EWMA weight of one closed bucket
	seed     maphash.Seed
	shards   [shardCount]volShard

	late atomic.Uint64 // bytes for buckets older than the rings

	flows *flowCounts // per-rule flow counts of `flows:` thresholds (MaxKeys keys)
}

// volShard holds a share of the keys, least recently active evicted first
// (counted by the cache).
type volShard struct {
	mu sync.Mutex
	c  *lru.Cache[key, volData]
}

// volEntry is one key's entry in its shard's cache.
type volEntry = lru.Entry[key, volData]

type volData struct {
	fine     [fineBuckets]uint64
	coarse   [coarseBuckets]uint64
	last     int64   // absolute index of the newest fine bucket
	baseline float64 // EWMA of bytes per closed fine bucket
	seen     uint64  // closed fine buckets folded into the baseline
}

// volRef caches, in a FlowState, the entry a flow's bytes went to last time,
// so the next record of the same flow skips hashing and the map lookup. An
// evicted entry is no longer Live (or holds another key once reused), so
// the ref then looks the key up again.
type volRef struct {
	e *volEntry
	s *volShard
}

// lookup returns k's entry with its shard locked, creating it if create.
// The caller unlocks ref.s.
func (v *Volume) lookup(ref *volRef, k key, create bool, b int64) *volEntry {
	if ref.e != nil {
		ref.s.mu.Lock()
		if ref.e.Live() && ref.e.Key == k {
			return ref.e
		}
		ref.s.mu.Unlock()
	}
	s := v.shard(k)
	s.mu.Lock()
	ref.e, ref.s = nil, s
	if e, ok := s.c.Peek(k); ok {
		ref.e = e
	} else if create {
		ref.e, _ = s.c.Add(k, volData{last: b})
	}
	return ref.e
}

// NewVolume returns an empty tracker.
func NewVolume(opt VolumeOptions) *Volume {
	opt.setDefaults()
	v := &Volume{opt: opt, bucketNs: int64(opt.Bucket), seed: maphash.MakeSeed(), flows: newFlowCounts(opt.MaxKeys)}
	v.alpha = 1 - math.Exp2(-float64(opt.Bucket)/float64(opt.HalfLife))
	per := (opt.MaxKeys + shardCount - 1) / shardCount
	for i := range v.shards {
		v.shards[i].c = lru.New(lru.Options[key, volData]{MaxEntries: per})
	}
	return v
}

// MaxWindow is the longest window this tracker can answer.
func (v *Volume) MaxWindow() time.Duration {
	return time.Duration(fineBuckets*coarseBuckets) * v.opt.Bucket
}

func (v *Volume) shard(k key) *volShard {
	h := maphash.String(v.seed, k.src) ^ maphash.String(v.seed, k.dst)*31 ^ uint64(k.kind.src)<<8 ^ uint64(k.kind.dst)
	return &v.shards[h%shardCount]
}

func (v *Volume) bucketOf(now int64) int64 {
	if now < 0 {
		return 0
	}
	return now / v.bucketNs
}

// add records n bytes out for key k at packet time now.
func (v *Volume) add(ref *volRef, k key, n uint64, now int64) {
	b := v.bucketOf(now)
	ent := v.lookup(ref, k, true, b)
	s := ref.s
	s.c.Touch(ent)
	e := &ent.Value
	v.advance(e, b)
	switch {
	case b == e.last:
		e.fine[b%fineBuckets] += n
		e.coarse[(b/fineBuckets)%coarseBuckets] += n
	case e.last-b < fineBuckets:
		// A little late (another worker's clock): count it in its bucket,
		// though that bucket was already folded into the baseline.
		e.fine[b%fineBuckets] += n
		e.coarse[(b/fineBuckets)%coarseBuckets] += n
	case e.last/fineBuckets-b/fineBuckets < coarseBuckets:
		e.coarse[(b/fineBuckets)%coarseBuckets] += n
	default:
		v.late.Add(n)
	}
	s.mu.Unlock()
}

// advance closes fine buckets up to b (exclusive), folding them into the
// baseline, and clears ring slots that are reused.
func (v *Volume) advance(e *volData, b int64) {
	if b <= e.last {
		return
	}
	gap := b - e.last
	v.fold(e, float64(e.fine[e.last%fineBuckets]))
	v.foldZeros(e, uint64(gap-1))
	for i := int64(1); i <= min(gap, fineBuckets); i++ {
		e.fine[(e.last+i)%fineBuckets] = 0
	}
	c0, c1 := e.last/fineBuckets, b/fineBuckets
	for i := int64(1); i <= min(c1-c0, coarseBuckets); i++ {
		e.coarse[(c0+i)%coarseBuckets] = 0
	}
	e.last = b
}

// fold adds one closed bucket to the baseline. Until a key has seen 1/alpha
// buckets the weight is 1/seen (a plain mean), so a new key's baseline is
// not biased towards zero by the EWMA's empty start.
func (v *Volume) fold(e *volData, x float64) {
	e.seen++
	a := max(v.alpha, 1/float64(e.seen))
	e.baseline += a * (x - e.baseline)
}

func (v *Volume) foldZeros(e *volData, k uint64) {
	for k > 0 && 1/float64(e.seen+1) > v.alpha {
		v.fold(e, 0)
		k--
	}
	if k > 0 {
		e.baseline *= math.Pow(1-v.alpha, float64(k))
		e.seen += k
	}
}

// windowBuckets converts a window to the number of fine buckets it spans.
func (v *Volume) windowBuckets(w time.Duration) int64 {
	n := (int64(w) + v.bucketNs - 1) / v.bucketNs
	return max(n, 1)
}

// volumeSample is what a threshold test needs about one key.
type volumeSample struct {
	total    uint64  // bytes in the window
	expected float64 // baseline × buckets the window covers
	warm     bool    // enough history for the baseline test
}

// sample returns the window total for key k ending at now (inclusive of the
// current bucket). Windows of up to fineBuckets buckets are exact to a
// bucket; longer ones cover the current coarse bucket and the whole coarse
// buckets before it.
func (v *Volume) sample(ref *volRef, k key, nFine int64, now int64) (volumeSample, bool) {
	b := v.bucketOf(now)
	ent := v.lookup(ref, k, false, b)
	s := ref.s
	defer s.mu.Unlock()
	if ent == nil {
		return volumeSample{}, false
	}
	e := &ent.Value
	v.advance(e, b)
	var out volumeSample
	cur := e.last
	if nFine <= fineBuckets {
		for i := int64(0); i < nFine && cur-i >= 0; i++ {
			out.total += e.fine[(cur-i)%fineBuckets]
		}
		out.expected = e.baseline * float64(nFine)
	} else {
		nc := min((nFine+fineBuckets-1)/fineBuckets, coarseBuckets)
		c := cur / fineBuckets
		for i := int64(0); i < nc && c-i >= 0; i++ {
			out.total += e.coarse[(c-i)%coarseBuckets]
		}
		covered := (nc-1)*fineBuckets + cur%fineBuckets + 1
		out.expected = e.baseline * float64(covered)
	}
	out.warm = e.seen >= uint64(v.opt.Warmup)
	return out, true
}

// VolumeStats counts what the tracker holds and dropped.
type VolumeStats struct {
	Keys      int
	Evicted   uint64 // keys dropped at MaxKeys
	LateBytes uint64 // bytes older than the rings, not counted

	FlowKeys    int    // (rule, key) pairs held by `flows:` thresholds
	FlowEvicted uint64 // of those, dropped at MaxKeys
}

// Stats returns current counters.
func (v *Volume) Stats() VolumeStats {
	st := VolumeStats{LateBytes: v.late.Load()}
	st.FlowKeys, st.FlowEvicted = v.flows.stats()
	for i := range v.shards {
		s := &v.shards[i]
		s.mu.Lock()
		st.Keys += s.c.Len()
		st.Evicted += s.c.Evictions()
		s.mu.Unlock()
	}
	return st
}

// Records returns one record.Volume per key for the window ending at now,
// sorted by key, for periodic dashboards (the pipeline decides whether and
// how often to call it; nothing is emitted by default).
func (v *Volume) Records(now int64, window time.Duration) []record.Volume {
	n := v.windowBuckets(window)
	var keys []key
	for i := range v.shards {
		s := &v.shards[i]
		s.mu.Lock()
		s.c.Each(func(e *volEntry) { keys = append(keys, e.Key) })
		s.mu.Unlock()
	}
	out := make([]record.Volume, 0, len(keys))
	ts := record.TimeFromNanos(now)
	for _, k := range keys {
		var ref volRef
		sm, ok := v.sample(&ref, k, n, now)
		if !ok {
			continue
		}
		base := 0.0
		if n > 0 && sm.warm {
			base = sm.expected
		}
		out = append(out, record.Volume{Type: "volume", TS: ts, Key: k.String(), Window: window.String(), BytesOut: sm.total, Baseline: base})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
