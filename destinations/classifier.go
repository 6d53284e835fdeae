package destinations

import (
	"fmt"
	"hash/maphash"
	"net/netip"
	"sort"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Config configures destination classification. The zero value is usable:
// embedded catalog and ranges, default home networks, no IOC lists.
type Config struct {
	// CatalogFiles are user catalog files loaded after the embedded one, in
	// order; an entry with the same pattern as an earlier one replaces it.
	CatalogFiles []string `yaml:"catalog_files" json:"catalog_files,omitempty"`
	// NoDefaultCatalog drops the embedded catalog.
	NoDefaultCatalog bool `yaml:"no_default_catalog" json:"no_default_catalog,omitempty"`
	// RangeFiles are provider range files (AWS, Google, Azure, plain lists),
	// added to the embedded ranges.
	RangeFiles []RangeFile `yaml:"range_files" json:"range_files,omitempty"`
	// NoDefaultRanges drops the embedded ranges (Cloudflare, CloudFront, S3).
	NoDefaultRanges bool `yaml:"no_default_ranges" json:"no_default_ranges,omitempty"`
	// IOCFiles are indicator lists; a match makes the destination "threat".
	IOCFiles []IOCFile `yaml:"ioc_files" json:"ioc_files,omitempty"`
	// HomeNet lists the CIDRs (or addresses) inside the monitored networks.
	// Nil means DefaultHomeNet.
	HomeNet []string `yaml:"home_net" json:"home_net,omitempty"`
	// Services maps CIDRs or addresses to service names, reported as
	// src.service and dst.service_name. The longest prefix wins.
	Services map[string]string `yaml:"services" json:"services,omitempty"`
	// DNSCache bounds the DNS answer cache.
	DNSCache DNSCacheConfig `yaml:"dns_cache" json:"dns_cache"`
	// FirstSeen configures first-seen tracking and its state file.
	FirstSeen FirstSeenConfig `yaml:"first_seen" json:"first_seen"`
}

// DefaultHomeNet is used when Config.HomeNet is nil: RFC 1918, RFC 6598
// shared address space (100.64/10: carrier-grade NAT and overlay networks
// such as Tailscale; a destination there is not on the public internet),
// loopback, link-local, and IPv6 unique-local, loopback and link-local.
var DefaultHomeNet = []string{
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
	"127.0.0.0/8", "169.254.0.0/16",
	"fc00::/7", "::1/128", "fe80::/10",
}

// Classifier answers questions about destinations. It is immutable after
// Build and safe for concurrent use; a reload builds a new one.
type Classifier struct {
	catalog  *Catalog
	ranges   *RangeTable
	iocs     *IOCSet
	home     *prefixTable
	homeList []netip.Prefix
	services *prefixTable
	svcNames []string
}

// Build loads every file named in cfg and compiles the tables.
func Build(cfg Config) (*Classifier, error) {
	var files []*CatalogFile
	if !cfg.NoDefaultCatalog {
		files = append(files, DefaultCatalogFile())
	}
	for _, p := range cfg.CatalogFiles {
		f, err := LoadCatalogFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	var ranges [][]RangeEntry
	for _, rf := range cfg.RangeFiles {
		es, err := LoadRangeFile(rf)
		if err != nil {
			return nil, err
		}
		ranges = append(ranges, es)
	}
	var rt *RangeTable
	if cfg.NoDefaultRanges {
		rt = NewRangeTable(ranges...)
	} else {
		rt = defaultRangeTable(ranges...)
	}
	var lists []*IOCList
	for _, f := range cfg.IOCFiles {
		l, err := LoadIOCFile(f)
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	}
	return New(NewCatalog(files...), rt, NewIOCSet(lists...), cfg.HomeNet, cfg.Services)
}

// New assembles a Classifier from already built parts (any may be nil).
func New(cat *Catalog, ranges *RangeTable, iocs *IOCSet, homeNet []string, services map[string]string) (*Classifier, error) {
	c := &Classifier{catalog: cat, ranges: ranges, iocs: iocs, home: newPrefixTable(), services: newPrefixTable()}
	if homeNet == nil {
		homeNet = DefaultHomeNet
	}
	for _, s := range homeNet {
		p, err := parsePrefixOrAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("home_net %q: %w", s, err)
		}
		c.home.insert(p, 0, nil)
		c.homeList = append(c.homeList, p)
	}
	keys := make([]string, 0, len(services))
	for k := range services {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic indexes
	for _, k := range keys {
		name := services[k]
		if name == "" {
			return nil, fmt.Errorf("services %q: empty service name", k)
		}
		p, err := parsePrefixOrAddr(strings.TrimSpace(k))
		if err != nil {
			return nil, fmt.Errorf("services %q: %w", k, err)
		}
		c.services.insert(p, int32(len(c.svcNames)), nil)
		c.svcNames = append(c.svcNames, name)
	}
	return c, nil
}

// Catalog returns the compiled catalog.
func (c *Classifier) Catalog() *Catalog { return c.catalog }

// Ranges returns the provider range table.
func (c *Classifier) Ranges() *RangeTable { return c.ranges }

// IOCs returns the indicator set.
func (c *Classifier) IOCs() *IOCSet { return c.iocs }

// Result is what Classify knows about one destination. Its strings point
// into the classifier's tables or the input; building it does not allocate.
type Result struct {
	Name      string   // canonical name, empty when none or invalid
	NameErr   error    // why the given name was not usable, nil if fine or absent
	Category  Category // always set
	Vendor    string
	Service   string
	Entry     *Entry      // catalog entry that matched, nil if none
	Domain    string      // registrable domain of Name (grouping only)
	Range     *RangeEntry // provider range, when classified by address
	Internal  bool        // address inside home_net
	IOCList   string      // IOC list that matched, empty if none
	IOCByName bool        // the IOC matched the name (else the address)
}

// Classify names and classifies a destination. name may be empty (no SNI,
// Host or DNS answer) and is normalised here; an IP literal given as name is
// ignored in favour of addr. Precedence:
//
//  1. an IOC match on the name (or a parent domain) or the address: threat;
//  2. a catalog match on the name: its category (even for an address inside
//     home_net: a named SaaS reached through an internal proxy is still
//     that SaaS);
//  3. an address inside home_net, or one that never leaves the local
//     network (multicast, broadcast, link-local, unspecified): internal;
//  4. no name (or an IP literal as name): the provider range of the
//     address, if any;
//  5. otherwise unknown; an invalid name is unknown too, never guessed from
//     its address.
//
// Vendor, service and domain are filled whenever known, whatever decided
// the category. For a canonical name the only allocation is the one inside
// RegistrableDomain; Catalog.Match itself allocates nothing.
func (c *Classifier) Classify(name string, addr netip.Addr) Result {
	return c.classify(nil, name, addr)
}

// classify is Classify, with the name's half taken from nc when it holds
// it (nc may be nil).
func (c *Classifier) classify(nc *NameCache, name string, addr netip.Addr) Result {
	var r Result
	if nc != nil {
		r = nc.lookup(c, name)
	} else {
		r = c.classifyName(name)
	}
	return c.classifyAddr(r, addr)
}

// classifyName is the half of Classify that depends on the name alone.
func (c *Classifier) classifyName(name string) Result {
	r := Result{Category: CategoryUnknown}
	if name != "" {
		if isIPLiteral(name) {
			r.NameErr = ErrNameIsAddress
		} else if n, err := Normalize(name); err != nil {
			r.NameErr = err
		} else {
			r.Name = n
		}
	}
	if r.Name != "" {
		r.Domain = RegistrableDomain(r.Name)
		if e, _ := c.catalog.Match(r.Name); e != nil {
			r.Entry, r.Category, r.Vendor, r.Service = e, e.Category, e.Vendor, e.Service
		}
		if l, ok := c.iocs.MatchName(r.Name); ok {
			r.IOCList, r.IOCByName = l, true
		}
	}
	return r
}

// classifyAddr completes r, classifyName's result, with what depends on
// the address.
func (c *Classifier) classifyAddr(r Result, addr netip.Addr) Result {
	if addr.IsValid() {
		addr = addr.Unmap()
		if i, _ := c.home.lookup(addr); i >= 0 || isLocalScope(addr) {
			r.Internal = true
		}
		if r.IOCList == "" {
			if l, ok := c.iocs.MatchAddr(addr); ok {
				r.IOCList = l
			}
		}
		// An invalid name is not a missing one: it stays unknown rather than
		// being guessed from the address it was sent to.
		noName := r.Name == "" && (r.NameErr == nil || r.NameErr == ErrNameIsAddress)
		if noName && !r.Internal {
			if re := c.ranges.Lookup(addr); re != nil {
				r.Range, r.Category, r.Vendor, r.Service = re, re.Category, re.Vendor, re.Service
			}
		}
	}
	switch {
	case r.IOCList != "":
		r.Category = CategoryThreat
	case r.Entry != nil:
	case r.Internal:
		r.Category = CategoryInternal
	}
	return r
}

// isLocalScope reports whether addr cannot be a destination beyond the
// local network: multicast (IPv4 224/4, IPv6 ff00::/8), the limited
// broadcast 255.255.255.255, link-local unicast (169.254/16, fe80::/10) and
// the unspecified address (a DHCP client's source). Traffic to them is
// internal whatever home_net says; a directed subnet broadcast depends on
// the prefix and is left to home_net.
func isLocalScope(addr netip.Addr) bool {
	return addr.IsMulticast() || addr.IsLinkLocalUnicast() || addr.IsUnspecified() ||
		addr == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// ServiceName returns the configured service name for addr, or "".
func (c *Classifier) ServiceName(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	if i, _ := c.services.lookup(addr.Unmap()); i >= 0 {
		return c.svcNames[i]
	}
	return ""
}

// RegistrableDomain returns the public suffix + 1 of a canonical name
// ("api.openai.com" → "openai.com"), or "" when the name is itself a public
// suffix or has a single label. It is for grouping and first-seen only,
// never for classification. It allocates once (the IP-literal check inside
// x/net/publicsuffix builds an error value).
func RegistrableDomain(name string) string {
	if name == "" || strings.IndexByte(name, '.') < 0 {
		return ""
	}
	ps, _ := publicsuffix.PublicSuffix(name)
	if len(ps) >= len(name) {
		return ""
	}
	i := strings.LastIndexByte(name[:len(name)-len(ps)-1], '.')
	return name[i+1:]
}

// isIPLiteral reports whether a name given as host is an IP address. Only
// strings that can be one are parsed: a failed netip.ParseAddr allocates its
// error, and ordinary names must not pay for that.
func isIPLiteral(s string) bool {
	if strings.IndexByte(s, ':') < 0 && !isDottedNumeric(s) {
		return false
	}
	_, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return err == nil
}

// NameCache remembers the name half of recent classifications (normalised
// name, registrable domain, catalog entry, IOC by name) for one goroutine —
// a pipeline worker passes its own in FlowInput.Names — so the flows to a
// popular destination do not normalise, look up the public suffix list (an
// allocation each) and walk the catalog again. The address half is always
// computed. It is direct-mapped (a collision replaces the slot), keeps names
// of at most nameCacheMaxLen bytes, and starts over when the classifier
// changes (a reload). The zero value is ready to use.
type NameCache struct {
	c     *Classifier
	seed  maphash.Seed
	slots *[nameCacheSlots]nameSlot
}

type nameSlot struct {
	raw string
	r   Result
}

const (
	nameCacheSlots  = 512
	nameCacheMaxLen = 255
)

func (nc *NameCache) lookup(c *Classifier, name string) Result {
	if name == "" || len(name) > nameCacheMaxLen {
		return c.classifyName(name)
	}
	if nc.slots == nil {
		nc.slots = new([nameCacheSlots]nameSlot)
		nc.seed = maphash.MakeSeed()
	}
	if nc.c != c {
		clear(nc.slots[:])
		nc.c = c
	}
	sl := &nc.slots[maphash.String(nc.seed, name)%nameCacheSlots]
	if sl.raw != name {
		*sl = nameSlot{raw: name, r: c.classifyName(name)}
	}
	return sl.r
}
