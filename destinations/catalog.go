package destinations

import (
	"fmt"
	"os"
	"sort"

	"gopkg.in/yaml.v3"
)

// The default catalog's source is catalog/default.yaml. The binary carries
// it parsed, as static data the linker lays out (defaultCatalogEntries in
// default_tables.go, written by go generate), so start-up and reloads do
// not parse 84 KB of YAML; TestDefaultTables fails when the generated file
// differs from what ParseCatalog makes of the YAML.
//
//go:generate go test -run ^TestDefaultTables$ -update

// defaultCatalogName is the file name Entry.Source uses for the embedded
// catalog.
const defaultCatalogName = "embedded:catalog/default.yaml"

// Entry is one catalog pattern with what it says about a destination.
type Entry struct {
	Pattern  string   `json:"pattern"`          // canonical pattern, see pattern.go
	Category Category `json:"category"`         // never internal or threat
	Vendor   string   `json:"vendor"`           // e.g. "OpenAI"
	Service  string   `json:"service"`          // e.g. "OpenAI API"
	Ref      string   `json:"ref,omitempty"`    // where the fact comes from (vendor doc URL)
	Source   string   `json:"source,omitempty"` // file:line of the pattern
}

// CatalogFile is the parsed content of one catalog file.
type CatalogFile struct {
	File    string
	Entries []Entry
}

// Catalog is an immutable, compiled set of catalog entries. Match is safe for
// concurrent use.
type Catalog struct {
	trie    nameTrie
	entries []Entry
}

// DefaultCatalogFile returns the embedded catalog, parsed at build time.
// Its entries are shared by every caller: read them, do not modify them
// (NewCatalog copies what it keeps).
func DefaultCatalogFile() *CatalogFile {
	return &CatalogFile{File: defaultCatalogName, Entries: defaultCatalogEntries[:len(defaultCatalogEntries):len(defaultCatalogEntries)]}
}

// LoadCatalogFile reads and parses a user catalog file.
func LoadCatalogFile(path string) (*CatalogFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return ParseCatalog(path, data)
}

// NewCatalog compiles catalog files in order. An entry whose pattern equals
// one from an earlier file replaces it, which is how user files override the
// default; other entries add to it.
func NewCatalog(files ...*CatalogFile) *Catalog {
	n := 0
	for _, f := range files {
		n += len(f.Entries)
	}
	c := &Catalog{trie: newNameTrie(), entries: make([]Entry, 0, n)}
	for _, f := range files {
		for _, e := range f.Entries {
			idx := int32(len(c.entries))
			c.entries = append(c.entries, e)
			if prev := c.trie.insert(e.Pattern, idx); prev >= 0 {
				// Keep the slot so indexes stay valid, but mark it replaced:
				// Entries must list only live entries.
				c.entries[prev].Pattern = ""
			}
		}
	}
	return c
}

// Match returns the most specific entry for a canonical name (see Normalize)
// and the number of labels the pattern matched, or nil.
func (c *Catalog) Match(name string) (*Entry, int) {
	if c == nil {
		return nil, 0
	}
	idx, depth := c.trie.match(name)
	if idx < 0 {
		return nil, 0
	}
	return &c.entries[idx], depth
}

// Len returns the number of live entries.
func (c *Catalog) Len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.entries {
		if c.entries[i].Pattern != "" {
			n++
		}
	}
	return n
}

// Entries returns the live entries sorted by pattern (for tests and dumps).
func (c *Catalog) Entries() []Entry {
	out := make([]Entry, 0, len(c.entries))
	for _, e := range c.entries {
		if e.Pattern != "" {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pattern < out[j].Pattern })
	return out
}

// ParseCatalog parses one catalog file. The format is:
//
//	vendors:
//	  - vendor: OpenAI                 # required
//	    ref: https://platform.openai.com/docs/api-reference   # optional, where the facts come from
//	    category: ai_ml                # default for the services below
//	    services:
//	      - service: OpenAI API        # required
//	        category: ai_ml            # required unless the vendor has one
//	        ref: https://…             # optional, overrides the vendor's
//	        hosts: [api.openai.com, "*.openai.azure.com"]
//
// Unknown keys, bad categories, bad patterns and a pattern repeated within
// the file are errors reported as file:line.
func ParseCatalog(file string, data []byte) (*CatalogFile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	out := &CatalogFile{File: file}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return out, nil // empty file
	}
	p := catalogParser{file: file, seen: make(map[string]int)}
	if err := p.top(doc.Content[0], out); err != nil {
		return nil, err
	}
	return out, nil
}

type catalogParser struct {
	file string
	seen map[string]int // pattern -> line, to reject duplicates within a file
}

func (p *catalogParser) errf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, n.Line, fmt.Sprintf(format, args...))
}

// fields checks that n is a mapping with only the allowed keys and returns
// key -> value node.
func (p *catalogParser) fields(n *yaml.Node, what string, allowed ...string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "%s must be a mapping", what)
	}
	m := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k, "%s: key must be a string", what)
		}
		ok := false
		for _, a := range allowed {
			if k.Value == a {
				ok = true
				break
			}
		}
		if !ok {
			return nil, p.errf(k, "%s: unknown key %q", what, k.Value)
		}
		if _, dup := m[k.Value]; dup {
			return nil, p.errf(k, "%s: duplicate key %q", what, k.Value)
		}
		m[k.Value] = v
	}
	return m, nil
}

func (p *catalogParser) str(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, "%s must be a string", what)
	}
	return n.Value, nil
}

func (p *catalogParser) category(n *yaml.Node) (Category, error) {
	s, err := p.str(n, "category")
	if err != nil {
		return "", err
	}
	c := Category(s)
	if !catalogCategories[c] {
		return "", p.errf(n, "category %q is not one a catalog may assign (ai_ml, cloud_storage, saas, analytics, social, advertising, cdn, unknown)", s)
	}
	return c, nil
}

func (p *catalogParser) top(n *yaml.Node, out *CatalogFile) error {
	m, err := p.fields(n, "catalog", "vendors")
	if err != nil {
		return err
	}
	vs := m["vendors"]
	if vs == nil {
		return p.errf(n, "catalog: missing key \"vendors\"")
	}
	if vs.Kind != yaml.SequenceNode {
		return p.errf(vs, "vendors must be a list")
	}
	for _, v := range vs.Content {
		if err := p.vendor(v, out); err != nil {
			return err
		}
	}
	return nil
}

func (p *catalogParser) vendor(n *yaml.Node, out *CatalogFile) error {
	m, err := p.fields(n, "vendor", "vendor", "ref", "category", "services")
	if err != nil {
		return err
	}
	if m["vendor"] == nil {
		return p.errf(n, "vendor: missing key \"vendor\"")
	}
	name, err := p.str(m["vendor"], "vendor")
	if err != nil {
		return err
	}
	if name == "" {
		return p.errf(m["vendor"], "vendor name is empty")
	}
	var ref string
	if r := m["ref"]; r != nil {
		if ref, err = p.str(r, "ref"); err != nil {
			return err
		}
	}
	var cat Category
	if c := m["category"]; c != nil {
		if cat, err = p.category(c); err != nil {
			return err
		}
	}
	ss := m["services"]
	if ss == nil {
		return p.errf(n, "vendor %q: missing key \"services\"", name)
	}
	if ss.Kind != yaml.SequenceNode || len(ss.Content) == 0 {
		return p.errf(ss, "vendor %q: services must be a non-empty list", name)
	}
	for _, s := range ss.Content {
		if err := p.service(s, name, ref, cat, out); err != nil {
			return err
		}
	}
	return nil
}

func (p *catalogParser) service(n *yaml.Node, vendor, ref string, cat Category, out *CatalogFile) error {
	m, err := p.fields(n, "service", "service", "category", "ref", "hosts")
	if err != nil {
		return err
	}
	if m["service"] == nil {
		return p.errf(n, "service: missing key \"service\"")
	}
	name, err := p.str(m["service"], "service")
	if err != nil {
		return err
	}
	if name == "" {
		return p.errf(m["service"], "service name is empty")
	}
	if c := m["category"]; c != nil {
		if cat, err = p.category(c); err != nil {
			return err
		}
	}
	if cat == "" {
		return p.errf(n, "service %q: no category (set it on the service or its vendor)", name)
	}
	if r := m["ref"]; r != nil {
		if ref, err = p.str(r, "ref"); err != nil {
			return err
		}
	}
	hs := m["hosts"]
	if hs == nil {
		return p.errf(n, "service %q: missing key \"hosts\"", name)
	}
	if hs.Kind != yaml.SequenceNode || len(hs.Content) == 0 {
		return p.errf(hs, "service %q: hosts must be a non-empty list", name)
	}
	for _, h := range hs.Content {
		raw, err := p.str(h, "host pattern")
		if err != nil {
			return err
		}
		pat, err := parsePattern(raw)
		if err != nil {
			return p.errf(h, "%v", err)
		}
		if line, dup := p.seen[pat]; dup {
			return p.errf(h, "pattern %q already listed at line %d", pat, line)
		}
		p.seen[pat] = h.Line
		out.Entries = append(out.Entries, Entry{
			Pattern: pat, Category: cat, Vendor: vendor, Service: name, Ref: ref,
			Source: fmt.Sprintf("%s:%d", p.file, h.Line),
		})
	}
	return nil
}
