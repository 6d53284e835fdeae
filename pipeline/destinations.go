package pipeline

import (
	"hash/maphash"
	"path/filepath"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/destinations"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
)

// firstSeenStateFile is where first-seen destinations persist under state_dir.
const firstSeenStateFile = "first_seen.state"

// DestinationsConfig maps the configuration onto the destinations package's
// options (also used by `tapdlp lookup`).
func DestinationsConfig(cfg *config.Config) destinations.Config {
	d := cfg.Destinations
	out := destinations.Config{
		CatalogFiles:     d.CatalogFiles,
		NoDefaultCatalog: !d.DefaultCatalog,
		NoDefaultRanges:  !d.DefaultRanges,
		Services:         d.Services,
		DNSCache: destinations.DNSCacheConfig{
			MaxEntries:     d.DNSCache.MaxEntries,
			MaxAddrEntries: d.DNSCache.MaxAddrEntries,
			TTLFloor:       d.DNSCache.TTLFloor.D(),
			TTLCap:         d.DNSCache.TTLCap.D(),
		},
		FirstSeen: destinations.FirstSeenConfig{MaxEntries: d.FirstSeen.MaxEntries},
	}
	for _, p := range d.HomeNet {
		out.HomeNet = append(out.HomeNet, p.P().String())
	}
	for _, r := range d.RangeFiles {
		out.RangeFiles = append(out.RangeFiles, destinations.RangeFile{Path: r.Path, Format: destinations.RangeFormat(r.Format),
			Provider: r.Provider, Vendor: r.Vendor, Service: r.Service, Category: destinations.Category(r.Category)})
	}
	for _, f := range d.IOCFiles {
		out.IOCFiles = append(out.IOCFiles, destinations.IOCFile{Path: f.Path, Name: f.Name, Format: destinations.IOCFormat(f.Format)})
	}
	if cfg.StateDir != "" {
		out.FirstSeen.StatePath = filepath.Join(cfg.StateDir, firstSeenStateFile)
	}
	return out
}

// annotate fills the record's destination (name, category, vendor, domain,
// IOC) and source service, and returns the first-seen question the ordered
// stage answers (dst.first_seen depends on every worker's flows, so it is
// decided there, in position order). A session caches the result; it is
// recomputed only when the payload names the destination differently.
func (h *flowHandler) annotate(s *session, f *reassembly.Flow, rec *record.Flow) firstSeenQuery {
	var name, source string
	if s != nil {
		name, source = s.name()
	}
	if s != nil && s.annot != nil && s.annot.name == name {
		return s.annot.apply(f, rec)
	}
	// AsOf: the dispatcher learns DNS answers ahead of this worker (by up
	// to the batches in flight); the flow is named by the answers learned
	// up to this worker's clock, so the lead does not change records.
	in := destinations.FlowInput{Client: f.Src, Server: f.Dst, Time: f.Start, AsOf: h.now, DeferFirstSeen: true, Names: &h.names}
	if s != nil {
		in.Name, in.NameSource = name, source
	}
	r := h.p.dest.Annotate(in, &rec.Src, &rec.Dst)
	var fs firstSeenQuery
	if key, ok := destinations.FirstSeenKey(r); ok {
		fs = firstSeenQuery{track: true, key: key, server: f.Dst, at: f.Start}
	}
	if s != nil {
		a := annotation{name: name, dst: rec.Dst, srcService: rec.Src.Service, fsTrack: fs.track, fsKey: fs.key}
		a.dst.IP, a.dst.Port = "", 0
		s.annot = h.internAnnotation(a)
		if s.c != nil {
			// A new first-seen question may get another answer: the
			// rules that held before may not have fired (content.held).
			s.c.held = [2]uint64{}
		}
	}
	return fs
}

// annotation is a flow's destination annotation as a session caches it,
// without what is the flow's own (the destination address and port, the
// first-seen question's server and time): so the many flows of a worker
// to one destination share one, interned (measured 232 B per session when
// each kept its own copy).
type annotation struct {
	name       string     // the payload's name it was computed for
	dst        record.Dst // IP and Port empty
	srcService string
	fsTrack    bool // firstSeenQuery.track
	fsKey      string
}

// apply fills rec's destination and source service from a, and returns the
// first-seen question, as annotate computed them for f.
func (a *annotation) apply(f *reassembly.Flow, rec *record.Flow) firstSeenQuery {
	ip, port := rec.Dst.IP, rec.Dst.Port
	rec.Dst = a.dst
	rec.Dst.IP, rec.Dst.Port = ip, port
	rec.Src.Service = a.srcService
	if !a.fsTrack {
		return firstSeenQuery{}
	}
	return firstSeenQuery{track: true, key: a.fsKey, server: f.Dst, at: f.Start}
}

// annotFront is the direct-mapped table in front of a worker's interned
// annotations (see internAnnotation). Its entries are interned annotations,
// so it adds no more than annotFrontSlots pointers to what the map holds.
type annotFront struct {
	seed  maphash.Seed
	slots *[annotFrontSlots]*annotation
}

const annotFrontSlots = 512

// maxAnnotations bounds a worker's interned annotations (about 300 B
// each). When full the table starts over (counted in
// Stats.AnnotationResets): sessions keep the ones they point at.
const maxAnnotations = 4096

// internAnnotation returns the worker's shared copy of a.
func (h *flowHandler) internAnnotation(a annotation) *annotation {
	// In front of the map, a direct-mapped table indexed by a hash of the
	// payload's name and the address's DNS name: the map hashes every
	// field of the key (measured 1 µs a flow on 100k open flows), the
	// table two strings, then compares. (By the payload's name alone, the
	// flows that named one host but went to addresses the DNS cache names
	// differently took one slot and thrashed it: half of the open mix's
	// annotations then went to the map.)
	fr := &h.annotFront
	if fr.slots == nil {
		fr.slots = new([annotFrontSlots]*annotation)
		fr.seed = maphash.MakeSeed()
	}
	d := &a.dst
	hash := maphash.String(fr.seed, a.name) ^ maphash.String(fr.seed, d.DNSName)<<1 +
		uint64(len(d.Resolution)+len(d.Category)<<3+len(d.Vendor)<<6+len(d.Service)<<9+len(a.srcService)<<12)
	slot := &fr.slots[hash%annotFrontSlots]
	if p := *slot; p != nil && *p == a {
		return p
	}
	if p, ok := h.annots[a]; ok {
		*slot = p
		return p
	}
	if h.annots == nil {
		h.annots = make(map[annotation]*annotation)
	} else if len(h.annots) >= maxAnnotations {
		clear(h.annots)
		h.p.stats.AnnotationResets.Add(1)
	}
	p := new(annotation)
	*p = a
	h.annots[a] = p
	*slot = p
	return p
}
