package demux

import (
	"hash/maphash"
	"sync/atomic"

	"github.com/tapdlp/tapdlp/record"
)

// nameCache turns the bytes a flow's Result keeps as text (SNI, Host,
// User-Agent, DNS questions and answers; JA4 has its own memo,
// apptls.JA4Memo) into strings, handing back the string made for the same
// bytes before when it is still in its slot. Real
// traffic repeats these values flow after flow (a few hundred hosts, a
// handful of client fingerprints), so most flows make no string at all;
// a new value costs one allocation, as it did before the cache. Strings
// are immutable, so sharing one among records is safe.
//
// It is direct-mapped (one string per slot, the newest wins) and owned by
// one worker's Demux: no locking, no LRU bookkeeping. The bound: nameSlots
// strings of at most maxCachedName bytes each (longer values are built
// every time and not kept), about 272 KiB per worker at worst. Slots are
// keyed by a per-cache random seed, so traffic cannot aim collisions at one
// slot (a collision costs only an allocation anyway). Replaced strings are
// counted (Stats.NamesEvicted, tapdlp_demux_names_evicted_total).
type nameCache struct {
	slots   [nameSlots]string
	seed    maphash.Seed
	evicted *atomic.Uint64 // the Demux's Stats.NamesEvicted
}

const (
	nameSlots     = 1024 // a power of two
	maxCachedName = 256
)

func (c *nameCache) init(evicted *atomic.Uint64) { c.seed, c.evicted = maphash.MakeSeed(), evicted }

// str returns b as a string, reusing a cached one when it holds the same
// bytes.
func (c *nameCache) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxCachedName {
		return string(b)
	}
	slot := &c.slots[maphash.Bytes(c.seed, b)&(nameSlots-1)]
	if *slot == string(b) {
		return *slot
	}
	if *slot != "" {
		c.evicted.Add(1)
	}
	s := string(b)
	*slot = s
	return s
}

// httpMethods are the request methods whose strings the Result reuses
// without a cache lookup.
var httpMethods = [...]string{"GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE", "PRI"}

// method returns an HTTP method as a string: a constant for the common
// ones, a cached string otherwise.
func (c *nameCache) method(b []byte) string {
	for _, m := range httpMethods {
		if string(b) == m {
			return m
		}
	}
	return c.str(b)
}

// The TLS, HTTP and DNS facts of a flow's Result are recycled through the
// Demux like the parsers, with the backing arrays of their lists (ALPN,
// answers): the pipeline copies a record before it leaves the worker, and a
// flow's Result is not read after Release. A flow that keeps its facts
// until its end costs what the separate allocations did; a worker reusing
// them makes no garbage per flow.

// newTLS returns a recycled (or new) empty record.TLS. A new one comes with
// room for a usual ALPN list in the same allocation.
func (p *parserPool) newTLS() *record.TLS {
	if r := p.tlsRec.pop(); r != nil {
		*r = record.TLS{ALPN: r.ALPN[:0]}
		return r
	}
	b := new(struct {
		rec  record.TLS
		alpn [2]string
	})
	b.rec.ALPN = b.alpn[:0]
	return &b.rec
}

// newHTTP returns a recycled (or new) empty record.HTTP.
func (p *parserPool) newHTTP() *record.HTTP {
	r := p.httpRec.get()
	*r = record.HTTP{}
	return r
}

// newDNS returns a recycled (or new) empty record.DNS. A new one comes with
// room for a usual answer list in the same allocation.
func (p *parserPool) newDNS() *record.DNS {
	if r := p.dnsRec.pop(); r != nil {
		*r = record.DNS{Answers: r.Answers[:0]}
		return r
	}
	b := new(struct {
		rec     record.DNS
		answers [2]string
	})
	b.rec.Answers = b.answers[:0]
	return &b.rec
}
