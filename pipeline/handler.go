package pipeline

import (
	"encoding/binary"
	"encoding/hex"
	"github.com/tapdlp/tapdlp/appproto/aiapi"
	"strconv"

	"github.com/tapdlp/tapdlp/appproto/demux"
	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/destinations"
	"github.com/tapdlp/tapdlp/internal/communityid"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/rules"
)

// flowHandler is a worker's reassembly.Handler: it attaches a session to
// every new flow and turns ended flows into records.
type flowHandler struct {
	p          *Pipeline
	table      *reassembly.Table // the worker's flow table, charged for sessions' scanning state
	rec        record.Flow       // Emit's record, reused
	idBuf      []byte            // scratch for flowIDs
	boxes      boxCache          // the boxes its records are copied into for the ordered stage (cloneFlow)
	liveRec    record.Flow       // evalLive's record, reused (liveBusy: in use)
	liveBusy   bool
	recInsp    record.Inspected // rec's and liveRec's inspected blocks (inspectedFor)
	liveInsp   record.Inspected
	recFound   []record.Finding // rec's and liveRec's findings arrays (findingsFor)
	liveFound  []record.Finding
	rscratch   rules.Scratch          // evalLive's rules.Engine.Holding
	clean      cleanCache             // names the redaction found nothing in (redact.go)
	names      destinations.NameCache // recent destination names, classified
	now        int64                  // the worker's packet clock
	demux      *demux.Demux           // the worker's application-layer demultiplexer
	scanner    *classify.Scanner
	scannerGen uint64                     // the detectors generation scanner was built from
	free       []*session                 // recycled sessions: a new flow rarely allocates
	freeScans  []*scanState               // scanning states closed flows gave back (session.Closed)
	annots     map[annotation]*annotation // interned destination annotations (see annotation)
	annotFront annotFront                 // in front of annots

	// rulesEng is the rule set the sessions' held bitmaps (content.held)
	// refer to; refreshRules clears them when another is loaded.
	rulesEng *rules.Engine

	lastSweep int64        // packet time of the last threshold sweep
	ai        aiapi.Parser // describes AI API requests (scratch kept)
	carry     *carryStore  // carry-overs for continuing flows (continuation.go); nil until used
	pcap      *alertPcap   // alert pcaps (alertpcap.go); nil when off

	// What the worker emits for the ordered stage (order.go): the position
	// of the event being processed, and the emissions of the current batch.
	ev       uint64
	ph       phase
	seq      uint64
	refBase  uint64 // the worker's share of flow state ids
	nextRef  uint64
	freeRefs []uint32 // slots of ended flows, to reuse (newRef)
	refs     *refPool // the stage gives slots back there (nil outside a run)
	emits    []emission
	spare    <-chan []emission // emptied emission slices the stage gives back
	credit   *stageCredit      // what the stage holds of its emissions (nil outside a run)
	out      chan<- workerOut  // the ordered stage; nil outside a run
	wid      int               // the worker's index, for out
	through  uint64            // the watermark last sent
	// direct, outside a run (tests driving a worker by hand), applies
	// emissions at once instead of queueing them.
	direct  *orderStage
	scratch emission // direct's emission
}

func newFlowHandler(p *Pipeline) *flowHandler {
	h := &flowHandler{p: p, direct: newOrderStage(p, 0)}
	h.demux = demux.New(demux.Config{HTTPStats: p.httpStats, Stats: p.demuxStats, Answers: p.dest.DNS, MaxDecoded: decodeBudget(p.cfg),
		Keys: p.keys, KeysConfigured: p.keysConfigured, PendingBudget: p.pending,
		HTTP2Stats: &p.parsers.HTTP2, WebSocketStats: &p.parsers.WebSocket, GRPCStats: &p.parsers.GRPC, SSEStats: &p.parsers.SSE})
	h.scanner = p.swap.classify.Load().NewScanner()
	h.scannerGen = p.swap.gen.Load()
	h.rulesEng = p.swap.rules.Load()
	return h
}

// maxFreeSessions bounds the recycled sessions a worker keeps.
const maxFreeSessions = 1024

// refreshDetectors switches to reloaded detectors between batches. Flows
// in progress keep the scanner they started with (used by this goroutine
// only, like the new one).
func (h *flowHandler) refreshDetectors() {
	if g := h.p.swap.gen.Load(); g != h.scannerGen {
		h.scanner, h.scannerGen = h.p.swap.classify.Load().NewScanner(), g
	}
}

// refreshRules, between batches, forgets which rules held for the running
// flows (content.held) when the rules were reloaded: the stage evaluates
// them with the new set, whose flow states start over. Until then (an
// evaluation by a set loaded in the middle of a batch) evalLive neither
// reads nor writes held.
func (h *flowHandler) refreshRules() {
	eng := h.p.swap.rules.Load()
	if eng == h.rulesEng {
		return
	}
	h.rulesEng = eng
	if h.table != nil {
		h.table.Each(func(f *reassembly.Flow) {
			if s := sessionOf(f); s != nil && s.c != nil {
				s.c.held = [2]uint64{}
			}
		})
	}
}

// Open attaches a session to TCP and UDP flows; other protocols are only
// counted.
func (h *flowHandler) Open(f *reassembly.Flow) reassembly.Stream {
	if !h.p.cfg.AppLayer || !isAppFlow(f.Proto) {
		return nil
	}
	var s *session
	if n := len(h.free); n > 0 {
		s, h.free = h.free[n-1], h.free[:n-1]
	} else {
		s = new(session)
	}
	s.reset(h, f)
	return s
}

// sessionOf returns f's session, nil when it has none. The session hangs
// off the flow (its Stream) rather than a map of the handler's: a map
// entry per open flow cost ~40 B and a lookup per record.
func sessionOf(f *reassembly.Flow) *session {
	if f == nil {
		return nil
	}
	s, _ := f.Stream().(*session)
	return s
}

// Emit builds the flow's record and hands it to the ordered stage, which
// decides first-seen, runs the rules and writes it.
func (h *flowHandler) Emit(f *reassembly.Flow, why reassembly.EndReason, final bool) {
	s := sessionOf(f)
	if s != nil && final {
		s.finish()
		h.keepCarry(s, f, why)
	}
	if final {
		h.dropCarry(f)
	}
	now := max(h.now, f.Last)
	rec := &h.rec // built in place, then deep-copied for the stage
	h.buildRecord(rec, s, f, why.String(), now, true)
	if s != nil {
		s.fill(rec, final)
	}
	fs := h.annotate(s, f, rec)
	h.redactRecord(rec)
	h.submitEval(s, f, emitRecord, rec, fs, now, final)
	if final {
		h.p.inspStats.count(rec)
		h.p.rejects.count(rec)
		h.p.tlsStats.Count(rec)
	}
	h.keepFindings(rec)
	if final {
		h.p.stats.Flows.Add(1)
		if s != nil {
			s.app.Release() // its parsers serve the worker's next flows
			s.flow = nil
			if len(h.free) < maxFreeSessions {
				h.free = append(h.free, s)
			}
		}
	}
}

// buildRecord makes in *rec the record of f (whose session is s, or nil)
// as of packet time now. A record that is only evaluated, never written
// (!written: a live evaluation's), goes without what no rule condition and
// no alert reads: the history string (an allocation per evaluation).
func (h *flowHandler) buildRecord(rec *record.Flow, s *session, f *reassembly.Flow, state string, now int64, written bool) {
	ids := h.ids(s, f)
	*rec = record.Flow{
		Type:        "flow",
		TS:          record.TimeFromNanos(now),
		FlowID:      ids.flowID,
		CommunityID: ids.communityID,
		Start:       record.TimeFromNanos(f.Start),
		End:         record.TimeFromNanos(f.Last),
		Duration:    float64(f.Last-f.Start) / 1e9,
		State:       state,
		ConnState:   f.ConnState().String(),
		Proto:       protoName(f.Proto),
		Src:         record.Src{IP: ids.src, Port: f.SrcPort},
		Dst:         record.Dst{IP: ids.dst, Port: f.DstPort},
		Bytes:       record.Counts{Out: f.Bytes[reassembly.DirOut], In: f.Bytes[reassembly.DirIn]},
		Packets:     record.Counts{Out: f.Packets[reassembly.DirOut], In: f.Packets[reassembly.DirIn]},
		MissedBytes: f.Missed[reassembly.DirOut] + f.Missed[reassembly.DirIn],
	}
	if written {
		rec.History = f.History()
	}
	if rec.ConnState == "REJ" {
		rec.Reject = &record.Reject{By: "rst"}
	} else if ir := f.ICMPReject(); ir.From.IsValid() {
		t, c := ir.Type, ir.Code
		rec.Reject = &record.Reject{By: "icmp", Type: &t, Code: &c, From: ir.From.String()}
	}
	if f.NVLAN > 0 {
		rec.VLAN = append([]uint16(nil), f.VLAN[:f.NVLAN]...)
	}
	if f.Proto == capture.ProtoICMP || f.Proto == capture.ProtoICMPv6 {
		rec.ICMP = &record.ICMP{Type: f.ICMPType, Code: f.ICMPCode}
		rec.Src.Port, rec.Dst.Port = 0, 0
	}
	if tun := f.Tunnel(); tun.Type != capture.TunnelNone {
		rec.Tunnel = &record.Tunnel{Type: tun.Type.String(), ID: tun.ID}
		if tun.OuterSrc.IsValid() {
			rec.Tunnel.OuterSrc = tun.OuterSrc.String()
			rec.Tunnel.OuterDst = tun.OuterDst.String()
		}
	}
	if f.OOODropped > 0 || f.Overlaps > 0 || f.DepthReached {
		rec.Reassembly = &record.Reassembly{OutOfOrderDropped: f.OOODropped, Overlaps: f.Overlaps, DepthReached: f.DepthReached}
	}
}

// flowIDs are the strings a flow's records repeat: its ids and addresses.
// They are computed once per flow into one string, of which the four are
// substrings (one allocation instead of five); a session keeps that string
// for the flow's interim records and live re-evaluations.
type flowIDs struct {
	flowID, communityID, src, dst string
}

// flowIDLen is the length of a flow id (16 hex digits).
const flowIDLen = 16

// splitIDs cuts the string ids builds: flow id, community id, source and
// destination address (from dstAt).
func splitIDs(all string, dstAt int) flowIDs {
	const srcAt = flowIDLen + communityid.Len
	return flowIDs{all[:flowIDLen], all[flowIDLen:srcAt], all[srcAt:dstAt], all[dstAt:]}
}

// ids returns f's ids, cached in s when f has a session.
func (h *flowHandler) ids(s *session, f *reassembly.Flow) flowIDs {
	if s != nil && s.ids != "" {
		return splitIDs(s.ids, int(s.idsDst))
	}
	b := appendFlowID(h.idBuf[:0], f)
	sp, dp := f.SrcPort, f.DstPort
	if f.Proto == capture.ProtoICMP || f.Proto == capture.ProtoICMPv6 {
		sp, dp = uint16(f.ICMPType), uint16(f.ICMPCode)
	}
	b = communityid.Append(b, h.p.cfg.CommunityIDSeed, f.Src, f.Dst, sp, dp, f.Proto)
	b = f.Src.AppendTo(b)
	dstAt := len(b)
	b = f.Dst.AppendTo(b)
	h.idBuf = b
	all := string(b)
	if s != nil && dstAt <= 255 { // always: 46 + an address of at most 45 characters
		s.ids, s.idsDst = all, uint8(dstAt)
	}
	return splitIDs(all, dstAt)
}

// appendFlowID appends f's flow id: 16 hex digits of an FNV-1a hash of the
// addresses, ports, protocol and start time, deterministic so the same
// capture always yields the same ids (replays can be diffed, records joined
// with alerts).
func appendFlowID(b []byte, f *reassembly.Flow) []byte {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	var in [16 + 16 + 2 + 2 + 1 + 8]byte
	a16, d16 := f.Src.As16(), f.Dst.As16()
	copy(in[0:], a16[:])
	copy(in[16:], d16[:])
	binary.BigEndian.PutUint16(in[32:], f.SrcPort)
	binary.BigEndian.PutUint16(in[34:], f.DstPort)
	in[36] = f.Proto
	binary.BigEndian.PutUint64(in[37:], uint64(f.Start))
	h := uint64(offset64)
	for _, c := range in {
		h ^= uint64(c)
		h *= prime64
	}
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], h)
	return hex.AppendEncode(b, sum[:])
}

// flowID is f's flow id as a string (the order of the shutdown flush).
// A flow with a session gets all its ids computed and kept now (what its
// records share, see ids): its final record, built right after the sort,
// then finds them instead of formatting them a second time (100k open
// flows without a live evaluation each formatted their id twice, in three
// allocations).
func flowID(f *reassembly.Flow) string {
	if s := sessionOf(f); s != nil {
		if s.ids == "" {
			s.h.ids(s, f)
		}
		if s.ids != "" {
			return s.ids[:flowIDLen]
		}
	}
	var buf [flowIDLen]byte
	return string(appendFlowID(buf[:0], f))
}

var protoNames = map[uint8]string{
	capture.ProtoTCP: "tcp", capture.ProtoUDP: "udp", capture.ProtoICMP: "icmp", capture.ProtoICMPv6: "icmp6",
	132: "sctp", 47: "gre", 50: "esp", 51: "ah",
}

func protoName(p uint8) string {
	if n, ok := protoNames[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}
