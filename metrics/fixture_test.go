package metrics

import (
	"io"
	"net/netip"

	httpparse "github.com/tapdlp/tapdlp/appproto/http"
	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/destinations"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/sinks"
	"github.com/tapdlp/tapdlp/rules"
)

// fullSources returns every source with distinct known values, so a scrape
// exercises every family and a wrong mapping shows up as a wrong number.
func fullSources() Sources {
	ps := new(pipeline.Stats)
	ps.Packets.Store(1000)
	ps.WireBytes.Store(640000)
	ps.Filtered.Store(20)
	ps.Records.Store(42)
	ps.Flows.Store(40)
	ps.WorkerPanics.Store(1)
	ps.RecordErrors.Store(2)

	// DecodeStats' per-result counters are only moved by decoding, so the
	// fixture decodes real frames: two good ones and a truncated one.
	ds := new(capture.DecodeStats)
	dec := capture.NewDecoder(capture.DecoderConfig{}, ds)
	var p capture.Packet
	cli, srv := netip.MustParseAddrPort("192.0.2.1:1234"), netip.MustParseAddrPort("198.51.100.2:80")
	tcp := pcapgen.IPTCP(cli, srv, 1, 0, pcapgen.SYN, nil)
	vxlan := pcapgen.IPUDP(netip.MustParseAddrPort("192.0.2.9:5555"), netip.MustParseAddrPort("192.0.2.10:4789"),
		pcapgen.VXLAN(7, pcapgen.EthernetIP(tcp)))
	m := capture.Meta{LinkType: capture.LinkEthernet}
	dec.Decode(pcapgen.EthernetIP(tcp), m, &p)
	dec.Decode(pcapgen.EthernetIP(tcp), m, &p)
	dec.Decode(pcapgen.EthernetIP(vxlan), m, &p)
	dec.Decode(pcapgen.EthernetIP(tcp)[:20], m, &p)
	ds.Defrag.Held.Store(7)
	ds.Defrag.Reassembled.Store(3)
	ds.Defrag.Overlaps.Store(5)
	ds.Defrag.Conflicts.Store(4)
	ds.Defrag.Duplicates.Store(2)
	ds.Defrag.Malformed.Store(11)
	ds.Defrag.TruncatedDropped.Store(12)
	ds.Defrag.TooMany.Store(13)
	ds.Defrag.Timeouts.Store(14)
	ds.Defrag.Evicted.Store(15)

	fs := new(reassembly.Stats)
	fs.FlowsOpen.Store(5)
	fs.FlowsCreated.Store(45)
	fs.FlowsTimeout.Store(10)
	fs.FlowsClosed.Store(20)
	fs.FlowsReset.Store(5)
	fs.FlowsShutdown.Store(3)
	fs.FlowsEvicted.Store(2)
	fs.FlowsReused.Store(1)
	fs.InterimRecords.Store(6)
	fs.StreamsDeclined.Store(8)
	fs.OOOBytesBuffered.Store(4096)
	fs.OOOBytesDropped.Store(512)
	fs.MemcapDrops.Store(9)
	fs.CapGaps.Store(21)
	fs.AckGaps.Store(22)
	fs.EndGaps.Store(23)
	fs.MissedBytes.Store(777)
	fs.OverlapBytes.Store(33)
	fs.DepthReached.Store(17)

	hs := new(httpparse.Stats)
	hs.Requests.Store(30)
	hs.Responses.Store(29)
	hs.Stops[httpparse.ReasonGap].Store(2)
	hs.Truncated.Store(1)
	hs.Bombs.Store(1)
	hs.Undecoded.Store(3)
	hs.DecodeErrors.Store(4)
	hs.PairDropped.Store(5)

	ls := new(pipeline.LiveStats)
	ls.ReaderStalls.Store(3)
	ls.LatePackets.Store(4)
	ls.ExtraVLANs.Store(5)
	ls.ReadErrors.Store(6)

	sinkA, sinkB := new(sinks.Stats), new(sinks.Stats)
	sinkA.Written.Store(40)
	sinkA.Failed.Store(2)
	sinkA.Spooled.Store(7)
	sinkA.Reconnects.Store(1)
	sinkA.Drop(sinks.DropSpoolFull, 3)
	sinkA.SpoolBytes.Store(8192)
	sinkA.QueueLen.Store(12)
	sinkB.Written.Store(42)
	sinkB.Rotations.Store(2)

	router := sinks.NewRouter()
	router.Add("syslog", record.NewWriterSink(io.Discard), sinkA, "alert")
	router.Add("file", record.NewWriterSink(io.Discard), sinkB, "flow", "alert")
	for range 3 {
		_ = router.Write(record.Encoded{Kind: record.KindVolume, JSON: []byte(`{"type":"volume"}`)}) // nobody subscribed: unrouted
	}

	return Sources{
		Pipeline: ps,
		Decode:   ds,
		Flows:    fs,
		Memory:   reassembly.NewMemory(1 << 20),
		HTTP:     hs,
		Interfaces: func() []Interface {
			return []Interface{{Name: "eth0", Packets: 880, Bytes: 563200}, {Name: "eth1", Packets: 100, Bytes: 64000}}
		},
		Kernel: func() (live.Stats, error) {
			return live.Stats{Sockets: []live.SocketStats{
				{Interface: "eth0", Socket: 0, Packets: 600, Drops: 5, Freezes: 1, Stale: 2},
				{Interface: "eth0", Socket: 1, Packets: 300, Drops: 4, Freezes: 0, Stale: 1},
				{Interface: "eth1", Socket: 0, Packets: 100, Drops: 0, Freezes: 0, Stale: 0},
			}}, nil
		},
		Live: ls,
		Classify: func() ClassifyStats {
			return ClassifyStats{InspectedBytes: 123456, TruncatedInspections: 3, EvidenceDropped: 1,
				Detections: []Detection{
					{Type: "credit_card", Class: "PCI", Count: 5},
					{Type: "us_ssn", Class: "PII", Count: 2},
					{Type: "credit_card", Class: "PCI", Count: 1}, // a second worker's share
				}}
		},
		Destinations: func() destinations.EngineStats {
			return destinations.EngineStats{
				DNS:       destinations.DNSCacheStats{Size: 50, AddrSize: 40, Hits: 6, FallbackHits: 2, Misses: 2, Evictions: 1, Expired: 3, RejectedAnswer: 4},
				FirstSeen: destinations.FirstSeenStats{Size: 9, Loaded: 5, New: 4, Evictions: 0},
				Reloads:   1, CatalogEntries: 300, RangeEntries: 2000, IOCDomains: 10, IOCPrefixes: 20,
			}
		},
		Rules: func() rules.Stats {
			return rules.Stats{
				Rules: []rules.RuleStats{
					{ID: "pii-to-ai", Severity: "high", Fired: 3, Alerts: 2, Suppressed: 1},
					{ID: "secret-upload", Severity: "critical", Fired: 1, Alerts: 1},
				},
				Dedup:  rules.DedupStats{Keys: 4, Evicted: 1, EvictedSuppressed: 2},
				Volume: rules.VolumeStats{Keys: 7, Evicted: 0, LateBytes: 99},
			}
		},
		Sinks: router,
	}
}

type liveStats = live.Stats
