package pipeline

import (
	"net/netip"
	"path/filepath"

	"github.com/tapdlp/tapdlp/appproto/dns"
	"github.com/tapdlp/tapdlp/capture"
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

// dnsLearner feeds DNS answers to the shared cache from the dispatcher, in
// packet order, before any later flow is dispatched: a flow then finds the
// answer its client acted on, whichever worker handled the DNS response, and
// a replay names flows the same way every time.
type dnsLearner struct {
	cache *destinations.DNSCache
	msg   dns.Message
	addrs []netip.Addr
}

// learn parses p if it is a UDP DNS response and records its answers.
func (l *dnsLearner) learn(p *capture.Packet) {
	if p.Proto != capture.ProtoUDP || (p.SrcPort != 53 && p.SrcPort != 5353) {
		return
	}
	l.add(p.Dst, p.Payload, p.TS)
}

func (l *dnsLearner) add(client netip.Addr, payload []byte, ts int64) {
	m := &l.msg
	if m.Parse(payload) != nil || !m.Header.Response() || m.NumAddrs() == 0 {
		return
	}
	l.addrs = l.addrs[:0]
	minTTL := ^uint32(0)
	for i := 0; i < m.NumAddrs(); i++ {
		a, ttl, _, _ := m.Addr(i)
		l.addrs = append(l.addrs, a)
		minTTL = min(minTTL, ttl)
	}
	l.cache.Add(client, string(m.QName()), l.addrs, minTTL, ts)
}

// annotate fills the record's destination (name, category, vendor, domain,
// first seen, IOC) and source service. A session caches the result so a
// flow is counted as first-seen once however often it is evaluated; it is
// recomputed only when the payload names the destination differently.
func (h *flowHandler) annotate(s *session, f *reassembly.Flow, rec *record.Flow) {
	if s != nil && s.annotated && s.annotName == s.name {
		ip, port := rec.Dst.IP, rec.Dst.Port
		rec.Dst = s.annotDst
		rec.Dst.IP, rec.Dst.Port = ip, port
		rec.Src.Service = s.annotSrcService
		return
	}
	in := destinations.FlowInput{Client: f.Src, Server: f.Dst, Time: f.Start}
	if s != nil {
		in.Name, in.NameSource = s.name, s.nameSource
	}
	h.p.dest.Annotate(in, &rec.Src, &rec.Dst)
	if s != nil {
		s.annotated, s.annotName = true, s.name
		s.annotDst, s.annotSrcService = rec.Dst, rec.Src.Service
	}
}
