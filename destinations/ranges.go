package destinations

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// RangeFormat names a provider range file format.
type RangeFormat string

// Supported range file formats.
const (
	// RangeAWS is https://ip-ranges.amazonaws.com/ip-ranges.json.
	RangeAWS RangeFormat = "aws"
	// RangeGoogle is https://www.gstatic.com/ipranges/cloud.json or goog.json.
	RangeGoogle RangeFormat = "google"
	// RangeAzure is an Azure Service Tags JSON download (ServiceTags_Public_*.json).
	RangeAzure RangeFormat = "azure"
	// RangePlain is one IP or CIDR per line with '#' comments, as in
	// https://www.cloudflare.com/ips-v4; RangeFile names provider, service
	// and category.
	RangePlain RangeFormat = "plain"
)

// RangeFile says where a range file is and how to read it.
type RangeFile struct {
	Path   string      `yaml:"path" json:"path"`
	Format RangeFormat `yaml:"format" json:"format"`
	// For RangePlain only: what the prefixes are.
	Provider string   `yaml:"provider" json:"provider,omitempty"`
	Vendor   string   `yaml:"vendor" json:"vendor,omitempty"`
	Service  string   `yaml:"service" json:"service,omitempty"`
	Category Category `yaml:"category" json:"category,omitempty"`
}

// RangeEntry is one provider prefix.
type RangeEntry struct {
	Prefix   netip.Prefix
	Provider string   // aws, google, azure, cloudflare, or the user's name
	Vendor   string   // display vendor, e.g. "Amazon Web Services"
	Service  string   // provider's service name: S3, CLOUDFRONT, AMAZON, "Google Cloud", Storage…
	Region   string   // provider region when given
	Category Category // unknown when the service says nothing about the use
	// Priority breaks ties between identical prefixes: the more specific
	// service wins (AWS lists S3 prefixes under both S3 and AMAZON).
	Priority int
	// Label is the string written to dst.range: "provider/service prefix".
	Label string
}

func (e *RangeEntry) finish() {
	e.Prefix = e.Prefix.Masked()
	e.Label = e.Provider + "/" + e.Service + " " + e.Prefix.String()
}

// RangeTable is an immutable longest-prefix-match table of provider ranges.
type RangeTable struct {
	t       *prefixTable
	entries []RangeEntry
}

// NewRangeTable builds a table. For identical prefixes the entry with the
// higher Priority wins, then the one given first.
func NewRangeTable(lists ...[]RangeEntry) *RangeTable {
	return buildRangeTable(newPrefixTable(), nil, lists)
}

// defaultRangeTable is NewRangeTable(DefaultRanges(), lists...) without
// building the embedded ranges' trie: it starts from the generated one
// (defaultRangeV4, defaultRangeV6), shared when there is nothing to add
// and copied when there is. TestDefaultRangeTable checks the two agree.
func defaultRangeTable(lists ...[]RangeEntry) *RangeTable {
	t := &prefixTable{v4: defaultRangeV4[:], v6: defaultRangeV6[:]}
	if len(lists) > 0 {
		t = &prefixTable{v4: slices.Clone(t.v4), v6: slices.Clone(t.v6)}
	}
	return buildRangeTable(t, DefaultRanges(), lists)
}

// buildRangeTable adds lists to t, whose values index entries; it owns
// both.
func buildRangeTable(t *prefixTable, entries []RangeEntry, lists [][]RangeEntry) *RangeTable {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	rt := &RangeTable{t: t, entries: slices.Grow(entries, n)}
	for _, l := range lists {
		for _, e := range l {
			idx := int32(len(rt.entries))
			rt.entries = append(rt.entries, e)
			rt.t.insert(e.Prefix, idx, func(old, nw int32) bool {
				return rt.entries[nw].Priority > rt.entries[old].Priority
			})
		}
	}
	return rt
}

// Lookup returns the entry of the longest prefix containing addr, or nil.
// It does not allocate.
func (rt *RangeTable) Lookup(addr netip.Addr) *RangeEntry {
	if rt == nil {
		return nil
	}
	idx, _ := rt.t.lookup(addr)
	if idx < 0 {
		return nil
	}
	return &rt.entries[idx]
}

// Len returns the number of entries given to the table.
func (rt *RangeTable) Len() int {
	if rt == nil {
		return 0
	}
	return len(rt.entries)
}

// LoadRangeFile reads and parses one range file.
func LoadRangeFile(f RangeFile) ([]RangeEntry, error) {
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, fmt.Errorf("ranges: %w", err)
	}
	return ParseRanges(f, data)
}

// ParseRanges parses range data in f.Format; f.Path is used in errors.
func ParseRanges(f RangeFile, data []byte) ([]RangeEntry, error) {
	switch f.Format {
	case RangeAWS:
		return parseAWS(f.Path, data)
	case RangeGoogle:
		return parseGoogle(f.Path, data)
	case RangeAzure:
		return parseAzure(f.Path, data)
	case RangePlain:
		return parsePlain(f, data)
	default:
		return nil, fmt.Errorf("%s: unknown range format %q (aws, google, azure, plain)", f.Path, f.Format)
	}
}

// awsCategory maps AWS ip-ranges.json services to categories. Services not
// listed say nothing about what a flow is for (EC2 hosts anything).
var awsCategory = map[string]Category{
	"S3":                       CategoryCloudStorage,
	"CLOUDFRONT":               CategoryCDN,
	"CLOUDFRONT_ORIGIN_FACING": CategoryCDN,
}

func parseAWS(file string, data []byte) ([]RangeEntry, error) {
	var doc struct {
		Prefixes []struct {
			IPPrefix string `json:"ip_prefix"`
			Region   string `json:"region"`
			Service  string `json:"service"`
		} `json:"prefixes"`
		IPv6Prefixes []struct {
			IPv6Prefix string `json:"ipv6_prefix"`
			Region     string `json:"region"`
			Service    string `json:"service"`
		} `json:"ipv6_prefixes"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: aws ip-ranges: %w", file, err)
	}
	out := make([]RangeEntry, 0, len(doc.Prefixes)+len(doc.IPv6Prefixes))
	add := func(i int, p, region, svc string) error {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("%s: aws ip-ranges entry %d: %w", file, i, err)
		}
		e := RangeEntry{Prefix: pfx, Provider: "aws", Vendor: "Amazon Web Services", Service: svc, Region: region, Category: CategoryUnknown}
		switch {
		case svc == "AMAZON" || svc == "":
			e.Priority = 0
		case awsCategory[svc] != "":
			e.Category, e.Priority = awsCategory[svc], 2
		default:
			e.Priority = 1
		}
		e.finish()
		out = append(out, e)
		return nil
	}
	for i, p := range doc.Prefixes {
		if err := add(i, p.IPPrefix, p.Region, p.Service); err != nil {
			return nil, err
		}
	}
	for i, p := range doc.IPv6Prefixes {
		if err := add(i, p.IPv6Prefix, p.Region, p.Service); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func parseGoogle(file string, data []byte) ([]RangeEntry, error) {
	var doc struct {
		Prefixes []struct {
			IPv4Prefix string `json:"ipv4Prefix"`
			IPv6Prefix string `json:"ipv6Prefix"`
			Service    string `json:"service"`
			Scope      string `json:"scope"`
		} `json:"prefixes"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: google ranges: %w", file, err)
	}
	out := make([]RangeEntry, 0, len(doc.Prefixes))
	for i, p := range doc.Prefixes {
		s := p.IPv4Prefix
		if s == "" {
			s = p.IPv6Prefix
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%s: google ranges entry %d: %w", file, i, err)
		}
		// goog.json (all of Google) has no service; cloud.json says
		// "Google Cloud" and a scope, and is the more specific of the two.
		e := RangeEntry{Prefix: pfx, Provider: "google", Vendor: "Google", Service: "Google", Region: p.Scope, Category: CategoryUnknown}
		if p.Service != "" {
			e.Service, e.Priority = p.Service, 1
		}
		e.finish()
		out = append(out, e)
	}
	return out, nil
}

// azureCategory maps Service Tag systemService values to categories.
var azureCategory = map[string]Category{
	"AzureStorage":                CategoryCloudStorage,
	"AzureFrontDoor":              CategoryCDN,
	"AzureFrontDoorFrontend":      CategoryCDN,
	"CognitiveServicesFrontend":   CategoryAIML,
	"CognitiveServicesManagement": CategoryAIML,
}

func parseAzure(file string, data []byte) ([]RangeEntry, error) {
	var doc struct {
		Values []struct {
			Name       string `json:"name"`
			Properties struct {
				Region          string   `json:"region"`
				SystemService   string   `json:"systemService"`
				AddressPrefixes []string `json:"addressPrefixes"`
			} `json:"properties"`
		} `json:"values"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: azure service tags: %w", file, err)
	}
	var out []RangeEntry
	for _, v := range doc.Values {
		// "Storage.WestUS" is the regional slice of tag "Storage".
		tag, _, _ := strings.Cut(v.Name, ".")
		cat, prio := CategoryUnknown, 1
		switch {
		case tag == "AzureCloud" || v.Properties.SystemService == "":
			prio = 0
		case azureCategory[v.Properties.SystemService] != "":
			cat, prio = azureCategory[v.Properties.SystemService], 2
		}
		for _, s := range v.Properties.AddressPrefixes {
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%s: azure service tag %q: %w", file, v.Name, err)
			}
			e := RangeEntry{Prefix: pfx, Provider: "azure", Vendor: "Microsoft Azure", Service: tag, Region: v.Properties.Region, Category: cat, Priority: prio}
			e.finish()
			out = append(out, e)
		}
	}
	return out, nil
}

func parsePlain(f RangeFile, data []byte) ([]RangeEntry, error) {
	if f.Provider == "" {
		return nil, fmt.Errorf("%s: plain range file needs a provider name", f.Path)
	}
	cat := f.Category
	if cat == "" {
		cat = CategoryUnknown
	}
	if !catalogCategories[cat] {
		return nil, fmt.Errorf("%s: category %q cannot come from a range file", f.Path, cat)
	}
	vendor, svc := f.Vendor, f.Service
	if vendor == "" {
		vendor = f.Provider
	}
	if svc == "" {
		svc = f.Provider
	}
	prio := 1
	if cat != CategoryUnknown {
		prio = 2
	}
	var out []RangeEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		pfx, err := parsePrefixOrAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", f.Path, line, err)
		}
		e := RangeEntry{Prefix: pfx, Provider: f.Provider, Vendor: vendor, Service: svc, Category: cat, Priority: prio}
		e.finish()
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return out, nil
}

// parsePrefixOrAddr accepts "192.0.2.0/24" or a single address.
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// defaultRangeFiles describes the embedded range lists (see ranges/*.txt
// for their sources). The binary carries them parsed (defaultRangeTemplates
// and defaultRangeRows in default_tables.go, written by go generate, see
// catalog.go), and their compiled trie (defaultRangeV4, defaultRangeV6), so
// start-up neither reads text nor builds the trie; TestDefaultTables fails
// when the generated file differs from what ParseRanges and NewRangeTable
// make of these files.
var defaultRangeFiles = []RangeFile{
	{Path: "ranges/cloudflare-ips-v4.txt", Format: RangePlain, Provider: "cloudflare", Vendor: "Cloudflare", Service: "Cloudflare", Category: CategoryCDN},
	{Path: "ranges/cloudflare-ips-v6.txt", Format: RangePlain, Provider: "cloudflare", Vendor: "Cloudflare", Service: "Cloudflare", Category: CategoryCDN},
	{Path: "ranges/aws-cloudfront.txt", Format: RangePlain, Provider: "aws", Vendor: "Amazon Web Services", Service: "CLOUDFRONT", Category: CategoryCDN},
	{Path: "ranges/aws-s3.txt", Format: RangePlain, Provider: "aws", Vendor: "Amazon Web Services", Service: "S3", Category: CategoryCloudStorage},
	{Path: "ranges/aws-s3-v6.txt", Format: RangePlain, Provider: "aws", Vendor: "Amazon Web Services", Service: "S3", Category: CategoryCloudStorage},
}

// rangeRow is one prefix of the embedded range lists, in the generated
// table: what it shares with other prefixes (provider, vendor, service,
// category, priority), the prefix, and the label finish gives it, so
// building the entry allocates nothing.
type rangeRow struct {
	tmpl  uint8    // index into defaultRangeTemplates (Prefix and Label unset)
	v6    bool     // addr is 16 bytes, else the first 4
	bits  uint8    // prefix length
	addr  [16]byte // masked
	label string   // RangeEntry.Label
}

// DefaultRanges returns the embedded range lists, parsed at build time, as
// a new slice the caller owns.
func DefaultRanges() []RangeEntry {
	out := make([]RangeEntry, len(defaultRangeRows))
	for i := range defaultRangeRows {
		r := &defaultRangeRows[i]
		var a netip.Addr
		if r.v6 {
			a = netip.AddrFrom16(r.addr)
		} else {
			a = netip.AddrFrom4([4]byte(r.addr[:4]))
		}
		e := &out[i]
		*e = defaultRangeTemplates[r.tmpl]
		e.Prefix = netip.PrefixFrom(a, int(r.bits))
		e.Label = r.label
	}
	return out
}
