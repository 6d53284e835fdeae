package destinations

import (
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// DNSCacheConfig bounds the DNS answer cache. Zero values mean the default.
type DNSCacheConfig struct {
	// MaxEntries bounds (client, address) entries. Default 262144.
	MaxEntries int `yaml:"max_entries" json:"max_entries"`
	// MaxAddrEntries bounds the per-address "latest answer of any client"
	// entries. Default 131072.
	MaxAddrEntries int `yaml:"max_addr_entries" json:"max_addr_entries"`
	// TTLFloor is the shortest time an answer is kept, whatever its TTL:
	// clients connect after TTLs of 0 or 1 s too. Default 60 s.
	TTLFloor time.Duration `yaml:"ttl_floor" json:"ttl_floor"`
	// TTLCap is the longest time an answer is kept. Default 24 h.
	TTLCap time.Duration `yaml:"ttl_cap" json:"ttl_cap"`
	// Shards is the number of independently locked shards. Default 64.
	Shards int `yaml:"shards" json:"shards"`
}

func (c DNSCacheConfig) withDefaults() DNSCacheConfig {
	if c.MaxEntries <= 0 {
		c.MaxEntries = 262144
	}
	if c.MaxAddrEntries <= 0 {
		c.MaxAddrEntries = 131072
	}
	if c.TTLFloor <= 0 {
		c.TTLFloor = 60 * time.Second
	}
	if c.TTLCap <= 0 {
		c.TTLCap = 24 * time.Hour
	}
	if c.TTLCap < c.TTLFloor {
		c.TTLCap = c.TTLFloor
	}
	if c.Shards <= 0 {
		c.Shards = 64
	}
	return c
}

// DNSCache remembers which name each client resolved to each address, so a
// flow without SNI/Host can still be named. It is shared by all workers and
// safe for concurrent use. Time is packet time (Unix nanoseconds) passed by
// the caller; the cache never reads the clock.
//
// When several names map to one address (CDNs, shared hosting), the name
// this client resolved most recently wins, because that is the name its
// connection was made for; only when this client has no live answer for the
// address does the most recent answer of any client count.
type DNSCache struct {
	cfg      DNSCacheConfig
	byClient *lru[clientAddr, dnsAnswer]
	byAddr   *lru[netip.Addr, dnsAnswer]

	// counts holds the lookups' counters, one set per shard of byClient
	// (the shard of the lookup's key): the workers look up on different
	// cores, and one shared set moved its cache line between them on
	// every lookup.
	counts []lookupCounts

	rejected, historyDropped atomic.Uint64 // the learning's (one goroutine)
}

// lookupCounts is one shard's lookup counters, alone in its cache line.
type lookupCounts struct {
	hits, fallbackHits, misses, expired atomic.Uint64
	_                                   [64 - 4*8]byte
}

type clientAddr struct {
	client, server netip.Addr
}

type dnsAnswer struct {
	name    string
	added   int64 // packet time of the answer, Unix ns
	expires int64 // packet time, Unix ns

	// The answer this one replaced. The pipeline learns answers ahead of
	// the workers that look them up, so a lookup for a flow that started
	// before a re-resolution must still see the answer of its time.
	prevName    string
	prevAdded   int64
	prevExpires int64

	// learned is the packet time of the Add that stored this value, and
	// older the values it replaced within historyWindow, which a lookup
	// running behind the learning may still need (see asOf): newest
	// first, never changed once stored (a replacement gets a new one),
	// nil for most keys.
	learned int64
	older   *dnsHistory
}

// dnsHistory is the values a key held before its current one.
type dnsHistory struct{ v []dnsAnswer }

const (
	// historyWindow is how far (packet time) a lookup may run behind the
	// learning: the dispatcher's lead on the workers is a few batches,
	// each sent at least once per tick (10 ms of packet time).
	historyWindow = int64(30 * time.Second)
	// historyMax bounds the values kept whole per key; a key re-resolved
	// more often than that within historyWindow loses the oldest (counted
	// in DNSCacheStats.HistoryDropped).
	historyMax = 8
)

// asOf returns the value the key held when the learning had reached packet
// time t (0: now): a itself, unless it was learned after t; then the newest
// kept value learned by t; past the oldest kept one, the value before it as
// its prev fields describe it (what a lookup of that value without history
// would have seen of it).
func (a *dnsAnswer) asOf(t int64) dnsAnswer {
	if t == 0 || a.learned <= t {
		return *a
	}
	last := a
	if a.older != nil {
		for i := range a.older.v {
			o := &a.older.v[i]
			if o.learned <= t {
				return *o
			}
			last = o
		}
	}
	if last.prevName != "" {
		return dnsAnswer{name: last.prevName, added: last.prevAdded, expires: last.prevExpires}
	}
	return *last
}

// at returns the answer that held at packet time now: never one given
// after now (an answer from the future cannot have named the flow).
func (a *dnsAnswer) at(now int64) (string, bool) {
	switch {
	case a.added <= now && now < a.expires:
		return a.name, true
	case a.added > now && a.prevName != "" && a.prevAdded <= now && now < a.prevExpires:
		return a.prevName, true
	}
	return "", false
}

// replacing links a new answer to the one it replaces, and keeps the
// replaced values a lookup behind the learning may still need whole: those
// learned within historyWindow before this one (at most historyMax; dropped
// counts the rest). One learned before the window lives on in the prev
// fields, as it always did.
func (a dnsAnswer) replacing(old dnsAnswer, ok bool, dropped *atomic.Uint64) dnsAnswer {
	if ok && old.name != a.name {
		a.prevName, a.prevAdded, a.prevExpires = old.name, old.added, old.expires
	} else if ok {
		a.prevName, a.prevAdded, a.prevExpires = old.prevName, old.prevAdded, old.prevExpires
		a.added = min(a.added, old.added) // the same name, re-confirmed: it held since the first answer
	}
	if !ok || old.learned <= a.learned-historyWindow {
		return a
	}
	h := &dnsHistory{v: make([]dnsAnswer, 1, 4)}
	h.v[0] = old
	h.v[0].older = nil
	if old.older != nil {
		for _, o := range old.older.v {
			if o.learned <= a.learned-historyWindow {
				break
			}
			if len(h.v) == historyMax {
				dropped.Add(1)
				break
			}
			h.v = append(h.v, o)
		}
	}
	a.older = h
	return a
}

// NewDNSCache builds an empty cache.
func NewDNSCache(cfg DNSCacheConfig) *DNSCache {
	cfg = cfg.withDefaults()
	c := &DNSCache{
		cfg: cfg,
		byClient: newLRU[clientAddr, dnsAnswer](cfg.MaxEntries, cfg.Shards, func(k clientAddr) uint64 {
			return addrHash(k.client)*31 ^ addrHash(k.server)
		}),
		byAddr: newLRU[netip.Addr, dnsAnswer](cfg.MaxAddrEntries, cfg.Shards, addrHash),
	}
	c.counts = make([]lookupCounts, len(c.byClient.shards))
	return c
}

// Add records that client resolved name to addrs with the given TTL (seconds)
// at packet time now. Pass the question name (what the client asked for),
// not a CNAME target. Invalid names are counted and ignored.
func (c *DNSCache) Add(client netip.Addr, name string, addrs []netip.Addr, ttl uint32, now int64) {
	n, err := Normalize(name)
	if err != nil || len(addrs) == 0 {
		c.rejected.Add(1)
		return
	}
	// Clone: the caller's string may share a large buffer we must not pin.
	n = strings.Clone(n)
	d := time.Duration(ttl) * time.Second
	d = min(max(d, c.cfg.TTLFloor), c.cfg.TTLCap)
	ans := dnsAnswer{name: n, added: now, expires: now + int64(d), learned: now}
	client = client.Unmap()
	for _, a := range addrs {
		if !a.IsValid() {
			continue
		}
		a = a.Unmap()
		k := clientAddr{client, a}
		old, ok := c.byClient.get(k)
		c.byClient.put(k, ans.replacing(old, ok, &c.historyDropped))
		oldAny, ok := c.byAddr.get(a)
		c.byAddr.put(a, ans.replacing(oldAny, ok, &c.historyDropped))
	}
}

// Lookup returns the name client most recently resolved to server, or, when
// it has none alive, the latest any client resolved. It does not allocate.
func (c *DNSCache) Lookup(client, server netip.Addr, now int64) (string, bool) {
	return c.LookupAsOf(client, server, now, 0)
}

// LookupAsOf is Lookup as the cache stood when the learning had reached
// packet time asOf (0: as it stands): a caller running behind the one that
// learns (a worker behind the dispatcher) gets the same answer however far
// ahead the learning is.
func (c *DNSCache) LookupAsOf(client, server netip.Addr, now, asOf int64) (string, bool) {
	client, server = client.Unmap(), server.Unmap()
	k := clientAddr{client, server}
	i := c.byClient.index(k)
	n := &c.counts[i]
	if cur, ok := c.byClient.getAt(i, k); ok {
		a := cur.asOf(asOf)
		if name, ok := a.at(now); ok {
			n.hits.Add(1)
			return name, true
		}
		if now >= cur.expires {
			c.byClient.remove(k)
			n.expired.Add(1)
		}
	}
	if cur, ok := c.byAddr.get(server); ok {
		a := cur.asOf(asOf)
		if name, ok := a.at(now); ok {
			n.fallbackHits.Add(1)
			return name, true
		}
		if now >= cur.expires {
			c.byAddr.remove(server)
			n.expired.Add(1)
		}
	}
	n.misses.Add(1)
	return "", false
}

// Resolution says how a flow's name relates to the DNS answers its client
// received (dst.resolution).
type Resolution uint8

// Resolution outcomes.
const (
	ResolutionNone       Resolution = iota // not judged (no name from the payload)
	ResolutionMatched                      // this client resolved that name to this address
	ResolutionOtherName                    // this client resolved a different name to this address
	ResolutionUnresolved                   // no live answer this client saw maps to this address
)

var resolutionNames = [...]string{"", "matched", "other_name", "unresolved"}

// String returns the record value ("" for ResolutionNone).
func (r Resolution) String() string {
	if int(r) < len(resolutionNames) {
		return resolutionNames[r]
	}
	return ""
}

// Resolve judges a flow named from its payload (SNI, QUIC, Host, CONNECT)
// against the answers client itself received for server, as they stood at
// packet time now: the current answer and the one it replaced both count,
// so a client that resolved two names sharing an address matches either.
// Only this client's answers are consulted — another client's answer says
// nothing about whether this one looked the name up. Answers live for their
// TTL clamped to [TTLFloor, TTLCap] and the cache holds at most MaxEntries
// (client, address) pairs: an answer past that is unresolved. name must be
// canonical (Normalize). It does not allocate.
func (c *DNSCache) Resolve(client, server netip.Addr, name string, now int64) Resolution {
	return c.ResolveAsOf(client, server, name, now, 0)
}

// ResolveAsOf is Resolve as the cache stood when the learning had reached
// packet time asOf (0: as it stands), as LookupAsOf.
func (c *DNSCache) ResolveAsOf(client, server netip.Addr, name string, now, asOf int64) Resolution {
	stored, ok := c.byClient.get(clientAddr{client.Unmap(), server.Unmap()})
	if !ok {
		return ResolutionUnresolved
	}
	a := stored.asOf(asOf)
	cur := a.added <= now && now < a.expires
	prev := a.prevName != "" && a.prevAdded <= now && now < a.prevExpires
	switch {
	case cur && a.name == name, prev && a.prevName == name:
		return ResolutionMatched
	case cur, prev:
		return ResolutionOtherName
	}
	return ResolutionUnresolved
}

// DNSCacheStats is a snapshot of the cache counters.
type DNSCacheStats struct {
	// (client, address) entries
	Size int `json:"size" metric:"tapdlp_dns_cache_entries" help:"(client, address) entries in the DNS answer cache."`
	// per-address entries
	AddrSize int `json:"addr_size" metric:"tapdlp_dns_cache_address_entries" help:"Per-address entries in the DNS answer cache."`
	// answered from the client's own answer
	Hits uint64 `json:"hits" metric:"tapdlp_dns_cache_lookups_total" label:"result=hit" help:"DNS cache lookups, by result (hit: the client's own answer; fallback_hit: another client's; miss)."`
	// answered from another client's answer
	FallbackHits uint64 `json:"fallback_hits" metric:"tapdlp_dns_cache_lookups_total" label:"result=fallback_hit"`
	// no live answer
	Misses uint64 `json:"misses" metric:"tapdlp_dns_cache_lookups_total" label:"result=miss"`
	// entries dropped by the size bound (both maps)
	Evictions uint64 `json:"evictions" metric:"tapdlp_dns_cache_evictions_total" help:"DNS cache entries dropped by the size bound."`
	// entries found past their TTL
	Expired uint64 `json:"expired" metric:"tapdlp_dns_cache_expired_total" help:"DNS cache entries found past their TTL."`
	// Add calls with an invalid name or no address
	RejectedAnswer uint64 `json:"rejected_answer" metric:"tapdlp_dns_cache_rejected_answers_total" help:"DNS answers not cached (invalid name or no address)."`
	// replaced answers not kept for lookups behind the learning
	HistoryDropped uint64 `json:"history_dropped" metric:"tapdlp_dns_cache_history_dropped_total" help:"Replaced DNS answers not kept for lookups that run behind the learning (a key re-resolved more than 8 times within 30 s)."`
}

// Stats returns the counters. It locks every shard; call it for metrics,
// not per packet.
func (c *DNSCache) Stats() DNSCacheStats {
	st := DNSCacheStats{
		Size:           c.byClient.len(),
		AddrSize:       c.byAddr.len(),
		Evictions:      c.byClient.evictions() + c.byAddr.evictions(),
		RejectedAnswer: c.rejected.Load(),
		HistoryDropped: c.historyDropped.Load(),
	}
	for i := range c.counts {
		n := &c.counts[i]
		st.Hits += n.hits.Load()
		st.FallbackHits += n.fallbackHits.Load()
		st.Misses += n.misses.Load()
		st.Expired += n.expired.Load()
	}
	return st
}
