package pipeline

import (
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
	if s != nil && s.annotated && s.annotName == name {
		ip, port := rec.Dst.IP, rec.Dst.Port
		rec.Dst = s.annotDst
		rec.Dst.IP, rec.Dst.Port = ip, port
		rec.Src.Service = s.annotSrcService
		return s.annotFS
	}
	in := destinations.FlowInput{Client: f.Src, Server: f.Dst, Time: f.Start, DeferFirstSeen: true}
	if s != nil {
		in.Name, in.NameSource = name, source
	}
	r := h.p.dest.Annotate(in, &rec.Src, &rec.Dst)
	var fs firstSeenQuery
	if key, ok := destinations.FirstSeenKey(r); ok {
		fs = firstSeenQuery{track: true, key: key, server: f.Dst, at: f.Start}
	}
	if s != nil {
		s.annotated, s.annotName = true, name
		s.annotDst, s.annotSrcService, s.annotFS = rec.Dst, rec.Src.Service, fs
	}
	return fs
}
