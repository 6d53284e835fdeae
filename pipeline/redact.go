package pipeline

import (
	"hash/maphash"

	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/record"
)

// redactRecord passes every string of rec that was copied from traffic
// through the one redaction point, classify.Engine.Redact, before the
// record reaches rules, alerts, volume keys, sinks or the report. Values
// found there are findings too, reported in sensitive with "in" naming the
// field, so a card in a DNS label or an SNI is data leaving the network.
// Destinations were classified on the real name before this; only what is
// written is masked. TLS, HTTP and DNS are the parsers' structures: they are
// copied before a field changes.
func (h *flowHandler) redactRecord(rec *record.Flow) {
	r := recRedactor{e: h.p.swap.classify.Load(), rec: rec, clean: &h.clean}
	if h.clean.e != r.e {
		h.clean.reset(r.e)
	}
	before := len(rec.Sensitive)
	if d := rec.DNS; d != nil {
		q := r.field(d.Query, true, "out", "dns.query")
		var ans []string
		for i, a := range d.Answers {
			if v := r.field(a, true, "in", "dns.answers"); v != a {
				if ans == nil {
					ans = append([]string(nil), d.Answers...)
				}
				ans[i] = v
			}
		}
		if q != d.Query || ans != nil {
			c := *d
			c.Query = q
			if ans != nil {
				c.Answers = ans
			}
			rec.DNS = &c
		}
	}
	if t := rec.TLS; t != nil {
		sni := r.field(t.SNI, true, "out", "tls.sni")
		var alpn []string
		for i, a := range t.ALPN {
			if v := r.field(a, false, "out", "tls.alpn"); v != a {
				if alpn == nil {
					alpn = append([]string(nil), t.ALPN...)
				}
				alpn[i] = v
			}
		}
		if sni != t.SNI || alpn != nil {
			c := *t
			c.SNI = sni
			if alpn != nil {
				c.ALPN = alpn
			}
			rec.TLS = &c
		}
	}
	if p := rec.HTTP; p != nil {
		host := r.field(p.Host, true, "out", "http.host")
		ua := r.field(p.UserAgent, false, "out", "http.user_agent")
		uri := r.field(p.URI, false, "out", "http.uri")
		meth := r.field(p.Method, false, "out", "http.method")
		if host != p.Host || ua != p.UserAgent || uri != p.URI || meth != p.Method {
			c := *p
			c.Host, c.UserAgent, c.URI, c.Method = host, ua, uri, meth
			rec.HTTP = &c
		}
	}
	// Derived from the names above (or from another flow's DNS answer).
	rec.Dst.Name = r.field(rec.Dst.Name, true, "out", "dst.name")
	rec.Dst.DNSName = r.field(rec.Dst.DNSName, true, "out", "dst.name")
	if d := rec.Dst.Domain; !r.clean.has(d, true) {
		rec.Dst.Domain = r.e.Redact(d, true, nil) // a suffix of dst.name: reported there
		if rec.Dst.Domain == d {
			r.clean.add(d, true)
		}
	}
	if len(rec.Sensitive) != before {
		rec.Tags = classTags(rec.Sensitive)
	}
}

// recRedactor redacts the fields of one record. A value already seen in
// another field of the record (the SNI repeated as dst.name) is masked the
// same way but reported once.
type recRedactor struct {
	e     *classify.Engine
	rec   *record.Flow
	clean *cleanCache
	found int       // findings reported (calls of add)
	seen  [8]string // raw values whose findings were reported
	n     int
	dir   string
	in    string
}

func (r *recRedactor) field(v string, name bool, dir, in string) string {
	if v == "" || r.clean.has(v, name) {
		return v // nothing to mask or report, as found before
	}
	for _, s := range r.seen[:r.n] {
		if s == v {
			return r.e.Redact(v, name, nil)
		}
	}
	if r.n < len(r.seen) {
		r.seen[r.n] = v
		r.n++
	}
	r.dir, r.in = dir, in
	found := r.found
	out := r.e.Redact(v, name, r.add)
	if r.found == found && out == v {
		r.clean.add(v, name)
	}
	return out
}

func (r *recRedactor) add(m classify.Match) {
	r.found++
	r.rec.Sensitive = r.e.AddFinding(r.rec.Sensitive, m, r.dir, r.in)
}

// cleanCache remembers, per worker, recent values in which the redaction
// found nothing, so the records of a flow (its live evaluations, interim and
// final records) and the flows to one destination pass their names through
// classify.Engine.Redact once instead of every time: two scans of each
// name (as written and as a DNS-label view) and a scanner from the pool,
// measured ~0.3 µs a field, against one hash and one comparison here.
// Redact is a function of the engine, the value and its kind, so a hit
// returns exactly what Redact would; the cache starts over when the
// detectors are reloaded. It is direct-mapped (a collision replaces the
// slot) and keeps only values up to cleanMaxLen bytes: at most
// cleanSlots×cleanMaxLen bytes of strings stay reachable through it.
type cleanCache struct {
	e     *classify.Engine
	seed  maphash.Seed
	slots *[cleanSlots]cleanSlot // allocated on first use
}

type cleanSlot struct {
	v    string
	name bool
}

const (
	cleanSlots  = 512
	cleanMaxLen = 255
)

func (c *cleanCache) reset(e *classify.Engine) {
	c.e = e
	if c.slots != nil {
		clear(c.slots[:])
	}
}

func (c *cleanCache) slot(v string, name bool) *cleanSlot {
	if c.slots == nil {
		c.slots = new([cleanSlots]cleanSlot)
		c.seed = maphash.MakeSeed()
	}
	i := maphash.String(c.seed, v)
	if name {
		i = ^i
	}
	return &c.slots[i%cleanSlots]
}

// has reports whether v (as a name or not) is known to hold nothing to
// redact.
func (c *cleanCache) has(v string, name bool) bool {
	if v == "" {
		return true
	}
	if len(v) > cleanMaxLen {
		return false
	}
	sl := c.slot(v, name)
	return sl.name == name && sl.v == v
}

// add notes that Redact found nothing in v.
func (c *cleanCache) add(v string, name bool) {
	if len(v) > cleanMaxLen || v == "" {
		return
	}
	*c.slot(v, name) = cleanSlot{v: v, name: name}
}
