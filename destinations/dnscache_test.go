package destinations

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
	"unsafe"
)

var (
	clientA = netip.MustParseAddr("10.0.0.1")
	clientB = netip.MustParseAddr("10.0.0.2")
	cdnAddr = netip.MustParseAddr("203.0.113.10")
)

const sec = int64(time.Second)

func TestDNSCachePerClientPrecedence(t *testing.T) {
	c := NewDNSCache(DNSCacheConfig{})
	t0 := int64(1_700_000_000) * sec
	c.Add(clientA, "www.example.com", []netip.Addr{cdnAddr}, 300, t0)
	c.Add(clientB, "files.example.org", []netip.Addr{cdnAddr}, 300, t0+1*sec)
	c.Add(clientA, "API.Example.net.", []netip.Addr{cdnAddr}, 300, t0+2*sec)

	steps := []struct {
		client netip.Addr
		now    int64
		want   string
	}{
		{clientA, t0 + 3*sec, "api.example.net"},                         // A's most recent answer
		{clientB, t0 + 3*sec, "files.example.org"},                       // B's own, though A answered later
		{netip.MustParseAddr("10.0.0.3"), t0 + 3*sec, "api.example.net"}, // no own answer: latest of anyone
	}
	for _, s := range steps {
		got, ok := c.Lookup(s.client, cdnAddr, s.now)
		if !ok || got != s.want {
			t.Errorf("Lookup(%s) = %q, %v; want %q", s.client, got, ok, s.want)
		}
	}
	st := c.Stats()
	if st.Hits != 2 || st.FallbackHits != 1 || st.Misses != 0 {
		t.Errorf("stats = %+v", st)
	}
	// IPv4-mapped addresses are the same host.
	if got, _ := c.Lookup(netip.MustParseAddr("::ffff:10.0.0.2"), netip.MustParseAddr("::ffff:203.0.113.10"), t0+3*sec); got != "files.example.org" {
		t.Errorf("mapped lookup = %q", got)
	}
}

func TestDNSCacheTTL(t *testing.T) {
	c := NewDNSCache(DNSCacheConfig{TTLFloor: 60 * time.Second, TTLCap: time.Hour})
	t0 := int64(1_700_000_000) * sec
	short := netip.MustParseAddr("192.0.2.1")
	long := netip.MustParseAddr("192.0.2.2")
	normal := netip.MustParseAddr("192.0.2.3")
	c.Add(clientA, "short.example", []netip.Addr{short}, 0, t0)     // raised to the 60 s floor
	c.Add(clientA, "long.example", []netip.Addr{long}, 604800, t0)  // cut to the 1 h cap
	c.Add(clientA, "normal.example", []netip.Addr{normal}, 300, t0) // kept 300 s
	tests := []struct {
		addr netip.Addr
		at   int64
		ok   bool
	}{
		{short, t0 + 59*sec, true},
		{short, t0 + 60*sec, false},
		{normal, t0 + 299*sec, true},
		{normal, t0 + 300*sec, false},
		{long, t0 + 3599*sec, true},
		{long, t0 + 3600*sec, false},
	}
	for _, tt := range tests {
		_, ok := c.Lookup(clientA, tt.addr, tt.at)
		if ok != tt.ok {
			t.Errorf("Lookup(%s) at +%ds = %v, want %v", tt.addr, (tt.at-t0)/sec, ok, tt.ok)
		}
	}
	if st := c.Stats(); st.Expired == 0 {
		t.Errorf("expired not counted: %+v", st)
	}
	// An expired own answer falls back to a live answer of another client.
	c.Add(clientA, "old.example", []netip.Addr{cdnAddr}, 60, t0)
	c.Add(clientB, "new.example", []netip.Addr{cdnAddr}, 600, t0+30*sec)
	if got, _ := c.Lookup(clientA, cdnAddr, t0+120*sec); got != "new.example" {
		t.Errorf("fallback after expiry = %q", got)
	}
}

func TestDNSCacheBound(t *testing.T) {
	c := NewDNSCache(DNSCacheConfig{MaxEntries: 64, MaxAddrEntries: 32, Shards: 4})
	t0 := int64(1_700_000_000) * sec
	for i := 0; i < 1000; i++ {
		a := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		c.Add(clientA, fmt.Sprintf("h%d.example", i), []netip.Addr{a}, 300, t0)
	}
	st := c.Stats()
	if st.Size > 64 || st.AddrSize > 32 {
		t.Fatalf("size %d/%d over bound", st.Size, st.AddrSize)
	}
	if st.Evictions != uint64(1000-st.Size)+uint64(1000-st.AddrSize) {
		t.Errorf("evictions = %d, size %d addr %d", st.Evictions, st.Size, st.AddrSize)
	}
	// The most recent answers survive.
	if got, ok := c.Lookup(clientA, netip.AddrFrom4([4]byte{198, 51, 3, 231}), t0); !ok || got != "h999.example" {
		t.Errorf("latest entry = %q, %v", got, ok)
	}
	// Invalid names are rejected and counted.
	c.Add(clientA, "bad name", []netip.Addr{cdnAddr}, 300, t0)
	c.Add(clientA, "ok.example", nil, 300, t0)
	if st := c.Stats(); st.RejectedAnswer != 2 {
		t.Errorf("rejected = %d", st.RejectedAnswer)
	}
}

func TestDNSCacheLookupDoesNotAllocate(t *testing.T) {
	c := NewDNSCache(DNSCacheConfig{})
	t0 := int64(1_700_000_000) * sec
	c.Add(clientA, "www.example.com", []netip.Addr{cdnAddr}, 300, t0)
	if n := testing.AllocsPerRun(1000, func() { c.Lookup(clientA, cdnAddr, t0) }); n != 0 {
		t.Errorf("hit allocates %v", n)
	}
	if n := testing.AllocsPerRun(1000, func() { c.Lookup(clientA, clientB, t0) }); n != 0 {
		t.Errorf("miss allocates %v", n)
	}
}

func TestDNSCacheConcurrent(t *testing.T) {
	c := NewDNSCache(DNSCacheConfig{MaxEntries: 512, MaxAddrEntries: 256, Shards: 8})
	t0 := int64(1_700_000_000) * sec
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			client := netip.AddrFrom4([4]byte{10, 0, 0, byte(w)})
			for i := 0; i < 2000; i++ {
				a := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
				if i%3 == 0 {
					c.Add(client, fmt.Sprintf("w%d.example", w), []netip.Addr{a}, 60, t0+int64(i))
				}
				if name, ok := c.Lookup(client, a, t0+int64(i)); ok && name == "" {
					t.Error("empty name")
				}
			}
		}(w)
	}
	wg.Wait()
	if st := c.Stats(); st.Size > 512 || st.AddrSize > 256 {
		t.Errorf("over bound: %+v", st)
	}
}

// The pipeline learns DNS answers ahead of the workers that look them up: a
// flow must be named by the answer that held when it started, never by one
// given later.
func TestDNSCacheNoAnswersFromTheFuture(t *testing.T) {
	c := NewDNSCache(DNSCacheConfig{TTLFloor: time.Minute, TTLCap: time.Hour})
	client, server := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("198.51.100.7")
	sec := int64(time.Second)
	c.Add(client, "old.example.com", []netip.Addr{server}, 300, 100*sec)
	c.Add(client, "new.example.com", []netip.Addr{server}, 300, 200*sec)
	for _, tt := range []struct {
		at   int64
		want string
	}{
		{50 * sec, ""},                 // before any answer
		{150 * sec, "old.example.com"}, // after the first, before the re-resolution
		{250 * sec, "new.example.com"}, // after the re-resolution
	} {
		got, _ := c.Lookup(client, server, tt.at)
		if got != tt.want {
			t.Errorf("lookup at %ds: %q, want %q", tt.at/sec, got, tt.want)
		}
	}
}

// dst.resolution: a payload name judged against this client's own answers.
func TestDNSCacheResolve(t *testing.T) {
	c := NewDNSCache(DNSCacheConfig{TTLFloor: 30 * time.Second, TTLCap: time.Hour})
	t0 := int64(1_700_000_000) * sec
	other := netip.MustParseAddr("198.51.100.99")
	c.Add(clientA, "www.example.com", []netip.Addr{cdnAddr}, 300, t0)
	c.Add(clientA, "cdn.example.org", []netip.Addr{cdnAddr}, 300, t0+sec) // a second name on the same address
	c.Add(clientB, "api.example.net", []netip.Addr{other}, 300, t0)
	c.Add(clientA, "short.example.com", []netip.Addr{netip.MustParseAddr("192.0.2.7")}, 10, t0) // floor: 30 s
	tests := []struct {
		name           string
		client, server netip.Addr
		host           string
		now            int64
		want           Resolution
	}{
		{"matched", clientA, cdnAddr, "cdn.example.org", t0 + 2*sec, ResolutionMatched},
		{"matched, earlier name on the address", clientA, cdnAddr, "www.example.com", t0 + 2*sec, ResolutionMatched},
		{"other name (CDN sharing or fronting)", clientA, cdnAddr, "evil.example.net", t0 + 2*sec, ResolutionOtherName},
		{"unresolved: hard-coded address", clientA, netip.MustParseAddr("203.0.113.200"), "www.example.com", t0 + 2*sec, ResolutionUnresolved},
		{"unresolved: only another client resolved it", clientA, other, "api.example.net", t0 + 2*sec, ResolutionUnresolved},
		{"matched: that other client", clientB, other, "api.example.net", t0 + 2*sec, ResolutionMatched},
		{"unresolved: answer from the future", clientA, cdnAddr, "www.example.com", t0 - sec, ResolutionUnresolved},
		{"matched within the TTL floor", clientA, netip.MustParseAddr("192.0.2.7"), "short.example.com", t0 + 29*sec, ResolutionMatched},
		{"unresolved: TTL expired", clientA, netip.MustParseAddr("192.0.2.7"), "short.example.com", t0 + 31*sec, ResolutionUnresolved},
		{"unresolved: v4-mapped client, expired", netip.MustParseAddr("::ffff:10.0.0.1"), cdnAddr, "www.example.com", t0 + 400*sec, ResolutionUnresolved},
		{"matched: v4-mapped client", netip.MustParseAddr("::ffff:10.0.0.1"), cdnAddr, "cdn.example.org", t0 + 2*sec, ResolutionMatched},
	}
	for _, tt := range tests {
		if got := c.Resolve(tt.client, tt.server, tt.host, tt.now); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { c.Resolve(clientA, cdnAddr, "www.example.com", t0+2*sec) }); n != 0 {
		t.Errorf("Resolve allocates %.0f times", n)
	}
}

// The dispatcher learns answers a few batches ahead of the worker that
// looks a flow up: a lookup as of the worker's clock must give what it would
// have given had nothing been learned after that clock, however many
// re-resolutions the learning is ahead by (a shared CDN address, resolved
// to other names by other clients, is the common case).
func TestDNSCacheLookupAsOf(t *testing.T) {
	ms := int64(time.Millisecond)
	t0 := int64(1_700_000_000) * sec
	cdn := netip.MustParseAddr("198.18.44.153")
	c1, c2, c3 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	c := NewDNSCache(DNSCacheConfig{TTLFloor: time.Minute, TTLCap: time.Hour})
	c.Add(c1, "outlook.office365.com", []netip.Addr{cdn}, 300, t0)
	c.Add(c2, "storage.googleapis.com", []netip.Addr{cdn}, 300, t0+80*ms)
	c.Add(c3, "acct.blob.core.windows.net", []netip.Addr{cdn}, 300, t0+81*ms)
	flow := t0 + 79*ms // a flow of a fourth client, started before both re-resolutions
	client := netip.MustParseAddr("10.0.0.4")
	for _, tt := range []struct {
		name      string
		now, asOf int64 // the flow's start, the worker's clock (now <= asOf)
		want      string
	}{
		{"as of the flow's start: the answer then", flow, flow, "outlook.office365.com"},
		{"as of after the first re-resolution: still the answer at the start", flow, t0 + 80*ms, "outlook.office365.com"},
		{"as of now (0), one answer back only, as before", flow, 0, ""},
		{"before any answer", t0 - sec, t0 - sec, ""},
	} {
		got, _ := c.LookupAsOf(client, cdn, tt.now, tt.asOf)
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	// The client's own answers, and Resolve, behave the same way.
	c.Add(client, "a.example.com", []netip.Addr{cdn}, 300, t0+90*ms)
	c.Add(client, "b.example.com", []netip.Addr{cdn}, 300, t0+91*ms)
	c.Add(client, "c.example.com", []netip.Addr{cdn}, 300, t0+92*ms)
	at := t0 + 90*ms
	if got, _ := c.LookupAsOf(client, cdn, at, at); got != "a.example.com" {
		t.Errorf("own answer as of %v: %q, want a.example.com", at, got)
	}
	if got := c.ResolveAsOf(client, cdn, "a.example.com", at, at); got != ResolutionMatched {
		t.Errorf("ResolveAsOf: %s, want matched", got)
	}
	if got := c.Resolve(client, cdn, "a.example.com", at); got != ResolutionUnresolved {
		t.Errorf("Resolve as it stands: %s, want unresolved (two answers from the future)", got)
	}
	if n := testing.AllocsPerRun(100, func() { c.LookupAsOf(client, cdn, at, at) }); n != 0 {
		t.Errorf("LookupAsOf allocates %.0f times", n)
	}
}

// History is bounded: per key, the values learned within historyWindow
// (at most historyMax) and the newest before; what the bound leaves out is
// counted.
func TestDNSCacheHistoryBound(t *testing.T) {
	t0 := int64(1_700_000_000) * sec
	cdn := netip.MustParseAddr("198.18.0.1")
	client := netip.MustParseAddr("10.0.0.9")
	c := NewDNSCache(DNSCacheConfig{TTLFloor: time.Minute, TTLCap: 24 * time.Hour})
	for i := range 20 {
		c.Add(client, fmt.Sprintf("n%d.example.com", i), []netip.Addr{cdn}, 7200, t0+int64(i)*int64(time.Millisecond))
	}
	a, _ := c.byClient.get(clientAddr{client, cdn})
	if a.older == nil || len(a.older.v) != historyMax {
		t.Fatalf("history %v, want %d values", a.older, historyMax)
	}
	if got := c.Stats().HistoryDropped; got == 0 {
		t.Error("dropped history not counted")
	}
	// After a quiet hour a replacement keeps nothing whole: the value it
	// replaced lives on in its prev fields, which is what a lookup behind
	// it sees.
	late := t0 + historyWindow + int64(time.Hour)
	c.Add(client, "late.example.com", []netip.Addr{cdn}, 7200, late)
	if a, _ := c.byClient.get(clientAddr{client, cdn}); a.older != nil {
		t.Fatalf("history after a quiet hour: %+v", a.older)
	}
	if got, _ := c.LookupAsOf(client, cdn, late-sec, late-sec); got != "n19.example.com" {
		t.Errorf("lookup behind the late answer: %q, want n19.example.com", got)
	}
	c.Add(client, "later.example.com", []netip.Addr{cdn}, 7200, late+1)
	a, _ = c.byClient.get(clientAddr{client, cdn})
	if a.older == nil || len(a.older.v) != 1 || a.older.v[0].name != "late.example.com" {
		t.Fatalf("history: %+v, want late.example.com only", a.older)
	}
	if got, _ := c.LookupAsOf(client, cdn, late-sec, late-sec); got != "n19.example.com" {
		t.Errorf("lookup behind both: %q, want n19.example.com", got)
	}
	// A key not re-resolved within the window keeps no history at all.
	c.Add(client, "quiet.example.com", []netip.Addr{cdn}, 7200, late+2*historyWindow)
	if a, _ := c.byClient.get(clientAddr{client, cdn}); a.older != nil {
		t.Errorf("history kept past the window: %+v", a.older)
	}
}

// The lookups' shared state sits in cache lines of its own: each shard
// (lock and LRU list) and each shard's counters. Lookups from two workers
// on two cores then only meet when their keys fall in the same shard.
func TestDNSCacheSharedLinesApart(t *testing.T) {
	for name, size := range map[string]uintptr{
		"byClient shard": unsafe.Sizeof(lruShard[clientAddr, dnsAnswer]{}),
		"byAddr shard":   unsafe.Sizeof(lruShard[netip.Addr, dnsAnswer]{}),
		"first-seen":     unsafe.Sizeof(lruShard[fsKey, int64]{}),
		"lookup counts":  unsafe.Sizeof(lookupCounts{}),
	} {
		if size%64 != 0 {
			t.Errorf("%s is %d bytes, not a whole number of cache lines", name, size)
		}
	}
	c := NewDNSCache(DNSCacheConfig{})
	client := netip.MustParseAddr("10.0.0.1")
	const servers = 300 // spread over every shard
	for i := range servers {
		srv := netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)})
		if i%2 == 0 {
			c.Add(client, fmt.Sprintf("h%d.example", i), []netip.Addr{srv}, 60, 1e9)
		}
		c.Lookup(client, srv, 2e9)
	}
	if st := c.Stats(); st.Hits != servers/2 || st.Misses != servers/2 {
		t.Errorf("hits %d misses %d, want %d each (summed over the shards)", st.Hits, st.Misses, servers/2)
	}
}
