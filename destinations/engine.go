package destinations

import (
	"net/netip"
	"sync/atomic"

	"github.com/tapdlp/tapdlp/record"
)

// Engine is what the sensor holds: the current Classifier (swapped on
// Reload), the shared DNS answer cache and the first-seen tracker, which
// keep their state across reloads.
type Engine struct {
	cfg       Config
	cur       atomic.Pointer[Classifier]
	DNS       *DNSCache
	FirstSeen *FirstSeen
	reloads   atomic.Uint64
}

// NewEngine builds the classifier, the DNS cache and the first-seen tracker
// (loading its state file).
func NewEngine(cfg Config) (*Engine, error) {
	c, err := Build(cfg)
	if err != nil {
		return nil, err
	}
	fs, err := NewFirstSeen(cfg.FirstSeen)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, DNS: NewDNSCache(cfg.DNSCache), FirstSeen: fs}
	e.cur.Store(c)
	return e, nil
}

// Classifier returns the current classifier. Hold it for one flow at most.
func (e *Engine) Classifier() *Classifier { return e.cur.Load() }

// Reload re-reads every catalog, range and IOC file and swaps the new
// classifier in atomically. On error the old one stays in use. Flows being
// classified concurrently finish with whichever one they loaded.
func (e *Engine) Reload() error {
	c, err := Build(e.cfg)
	if err != nil {
		return err
	}
	e.cur.Store(c)
	e.reloads.Add(1)
	return nil
}

// FlowInput is what the lead knows about a flow when it asks for its
// destination.
type FlowInput struct {
	Client, Server netip.Addr // initiator and responder
	Name           string     // from the app parsers; empty if none
	NameSource     string     // sni, quic, http, connect (record.Dst.NameSource)
	Time           int64      // packet time, Unix ns (first packet of the flow)
	// AsOf is the packet time the caller's processing has reached: DNS
	// answers learned after it are not seen (DNSCache.LookupAsOf), so a
	// worker behind the goroutine that learns them names a flow the same
	// way however far behind it is. 0: every answer.
	AsOf int64
	// DeferFirstSeen leaves dst.first_seen to the caller, who asks
	// FirstSeen.Seen with FirstSeenKey(result) in an order of its choosing
	// (the pipeline: packet-time order across workers).
	DeferFirstSeen bool
	// Names, when set, keeps the name half of classifications for the
	// caller's next flows (one per goroutine: it is not safe for
	// concurrent use).
	Names *NameCache
}

// Annotate fills the destination fields of a flow record (dst.name,
// name_source, dns_name, domain, category, vendor, service, service_name,
// range, first_seen, ioc) and src.service. dst.ip and ports are the
// caller's. When the app parsers gave no name (or an IP literal), the DNS
// answer cache names the flow (name_source "dns"); when both exist and
// differ, dns_name keeps the DNS one. first_seen is keyed by registrable
// domain (or the name, or the address when there is no name) and is not
// tracked for internal destinations without a catalog entry, which would
// otherwise flood the set with every host of the home network.
func (e *Engine) Annotate(in FlowInput, src *record.Src, dst *record.Dst) Result {
	c := e.cur.Load()
	name, source := in.Name, in.NameSource
	dnsName, haveDNS := "", false
	if in.Client.IsValid() && in.Server.IsValid() {
		dnsName, haveDNS = e.DNS.LookupAsOf(in.Client, in.Server, in.Time, in.AsOf)
	}
	// A Host header or SNI holding an address names nothing; the DNS answer
	// the client acted on does.
	if haveDNS && (name == "" || isIPLiteral(name)) {
		name, source = dnsName, "dns"
	}
	r := c.classify(in.Names, name, in.Server)
	if r.Name != "" {
		dst.Name, dst.NameSource = r.Name, source
		if source != "dns" && in.Client.IsValid() && in.Server.IsValid() {
			dst.Resolution = e.DNS.ResolveAsOf(in.Client, in.Server, r.Name, in.Time, in.AsOf).String()
		}
		if haveDNS && dnsName != r.Name {
			dst.DNSName = dnsName
		}
	}
	dst.Domain = r.Domain
	dst.Category = string(r.Category)
	dst.Vendor, dst.Service = r.Vendor, r.Service
	if r.Range != nil {
		dst.Range = r.Range.Label
	}
	if r.IOCList != "" {
		dst.IOC = &record.IOC{List: r.IOCList}
	}
	dst.ServiceName = c.ServiceName(in.Server)
	src.Service = c.ServiceName(in.Client)
	if key, ok := FirstSeenKey(r); ok && !in.DeferFirstSeen {
		dst.FirstSeen = e.FirstSeen.Seen(key, in.Server, in.Time)
	}
	return r
}

// FirstSeenKey is what first_seen tracks for a classified destination: its
// registrable domain, else its name (single-label or public-suffix names
// group by themselves), else "" (FirstSeen.Seen then keys by address). ok
// is false for internal destinations without a catalog entry, which are
// not tracked.
func FirstSeenKey(r Result) (key string, ok bool) {
	if r.Internal && r.Entry == nil {
		return "", false
	}
	key = r.Domain
	if key == "" && r.Name != "" {
		key = r.Name
	}
	return key, true
}

// Reloads returns how many reloads succeeded.
func (e *Engine) Reloads() uint64 { return e.reloads.Load() }

// ReloadConfig is Reload with a changed configuration: catalog, range and
// IOC files, home networks and services take effect; the DNS cache and
// first-seen state (and their sizes) are kept. On error nothing changes.
func (e *Engine) ReloadConfig(cfg Config) error {
	c, err := Build(cfg)
	if err != nil {
		return err
	}
	e.cfg = cfg
	e.cur.Store(c)
	e.reloads.Add(1)
	return nil
}

// EngineStats is a snapshot of everything the destinations stage counts.
// The metric tags declare how the metrics exporter names each value.
type EngineStats struct {
	DNS            DNSCacheStats  `json:"dns_cache"`
	FirstSeen      FirstSeenStats `json:"first_seen"`
	Reloads        uint64         `json:"reloads" metric:"tapdlp_destinations_reloads_total" help:"Successful reloads of the destination catalogs."`
	CatalogEntries int            `json:"catalog_entries" metric:"tapdlp_destinations_catalog_entries" help:"Entries in the destination name catalog."`
	RangeEntries   int            `json:"range_entries" metric:"tapdlp_destinations_range_entries" help:"Entries in the destination address-range catalog."`
	IOCDomains     int            `json:"ioc_domains" metric:"tapdlp_destinations_ioc_entries" label:"kind=domain" help:"Indicators of compromise loaded, by kind."`
	IOCPrefixes    int            `json:"ioc_prefixes" metric:"tapdlp_destinations_ioc_entries" label:"kind=prefix"`
}

// Stats returns the current counters. It locks every cache shard briefly:
// call it from the metrics scrape, not per flow.
func (e *Engine) Stats() EngineStats {
	c := e.cur.Load()
	d, p := c.iocs.Counts()
	return EngineStats{
		DNS:            e.DNS.Stats(),
		FirstSeen:      e.FirstSeen.Stats(),
		Reloads:        e.reloads.Load(),
		CatalogEntries: c.catalog.Len(),
		RangeEntries:   c.ranges.Len(),
		IOCDomains:     d,
		IOCPrefixes:    p,
	}
}
