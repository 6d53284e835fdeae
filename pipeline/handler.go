package pipeline

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"github.com/tapdlp/tapdlp/appproto/aiapi"
	"hash/fnv"
	"strconv"

	"github.com/tapdlp/tapdlp/appproto/demux"
	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/internal/communityid"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
)

// flowHandler is a worker's reassembly.Handler: it attaches a session to
// every new flow and turns ended flows into records.
type flowHandler struct {
	p          *Pipeline
	table      *reassembly.Table // the worker's flow table, charged for sessions' scanning state
	rec        record.Flow       // Emit's record, reused
	now        int64             // the worker's packet clock
	demux      *demux.Demux      // the worker's application-layer demultiplexer
	scanner    *classify.Scanner
	scannerGen uint64 // the detectors generation scanner was built from
	sessions   map[*reassembly.Flow]*session
	free       []*session // recycled sessions: a new flow rarely allocates

	lastSweep int64        // packet time of the last threshold sweep
	ai        aiapi.Parser // describes AI API requests (scratch kept)

	// What the worker emits for the ordered stage (order.go): the position
	// of the event being processed, and the emissions of the current batch.
	ev      uint64
	ph      phase
	seq     uint64
	refBase uint64 // the worker's share of flow state ids
	nextRef uint64
	emits   []emission
	spare   <-chan []emission // emptied emission slices the stage gives back
	out     chan<- workerOut  // the ordered stage; nil outside a run
	wid     int               // the worker's index, for out
	through uint64            // the watermark last sent
	// direct, outside a run (tests driving a worker by hand), applies
	// emissions at once instead of queueing them.
	direct  *orderStage
	scratch emission // direct's emission
}

func newFlowHandler(p *Pipeline) *flowHandler {
	h := &flowHandler{p: p, sessions: make(map[*reassembly.Flow]*session), direct: newOrderStage(p, 0)}
	h.demux = demux.New(demux.Config{HTTPStats: p.httpStats, Stats: p.demuxStats, Answers: p.dest.DNS,
		Keys: p.keys, KeysConfigured: p.keysConfigured, PendingBudget: p.pending,
		HTTP2Stats: &p.parsers.HTTP2, WebSocketStats: &p.parsers.WebSocket, GRPCStats: &p.parsers.GRPC, SSEStats: &p.parsers.SSE})
	h.scanner = p.swap.classify.Load().NewScanner()
	h.scannerGen = p.swap.gen.Load()
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
	h.sessions[f] = s
	return s
}

// Emit builds the flow's record and hands it to the ordered stage, which
// decides first-seen, runs the rules and writes it.
func (h *flowHandler) Emit(f *reassembly.Flow, why reassembly.EndReason, final bool) {
	s := h.sessions[f]
	if s != nil && final {
		s.finish()
	}
	now := max(h.now, f.Last)
	rec := &h.rec // built in place, then deep-copied for the stage
	*rec = h.buildRecord(f, why.String(), now)
	if s != nil {
		s.fill(rec, final)
	}
	fs := h.annotate(s, f, rec)
	h.redactRecord(rec)
	h.submitEval(s, f, emitRecord, rec, fs, now, final)
	if final {
		h.p.inspStats.count(rec)
		h.p.rejects.count(rec)
		h.p.stats.Flows.Add(1)
		if s != nil {
			s.flow = nil
			delete(h.sessions, f)
			if len(h.free) < maxFreeSessions {
				h.free = append(h.free, s)
			}
		}
	}
}

// buildRecord makes the record of f as of packet time now.
func (h *flowHandler) buildRecord(f *reassembly.Flow, state string, now int64) record.Flow {
	rec := record.Flow{
		Type:        "flow",
		TS:          record.TimeFromNanos(now),
		FlowID:      flowID(f),
		CommunityID: h.communityID(f),
		Start:       record.TimeFromNanos(f.Start),
		End:         record.TimeFromNanos(f.Last),
		Duration:    float64(f.Last-f.Start) / 1e9,
		State:       state,
		ConnState:   f.ConnState().String(),
		Proto:       protoName(f.Proto),
		Src:         record.Src{IP: f.Src.String(), Port: f.SrcPort},
		Dst:         record.Dst{IP: f.Dst.String(), Port: f.DstPort},
		Bytes:       record.Counts{Out: f.Bytes[reassembly.DirOut], In: f.Bytes[reassembly.DirIn]},
		Packets:     record.Counts{Out: f.Packets[reassembly.DirOut], In: f.Packets[reassembly.DirIn]},
		History:     f.History(),
		MissedBytes: f.Missed[reassembly.DirOut] + f.Missed[reassembly.DirIn],
	}
	if rec.ConnState == "REJ" {
		rec.Reject = &record.Reject{By: "rst"}
	} else if ir := f.ICMPReject; ir.From.IsValid() {
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
	if f.Tunnel.Type != capture.TunnelNone {
		rec.Tunnel = &record.Tunnel{Type: f.Tunnel.Type.String(), ID: f.Tunnel.ID}
		if f.Tunnel.OuterSrc.IsValid() {
			rec.Tunnel.OuterSrc = f.Tunnel.OuterSrc.String()
			rec.Tunnel.OuterDst = f.Tunnel.OuterDst.String()
		}
	}
	if f.OOODropped > 0 || f.Overlaps > 0 || f.DepthReached {
		rec.Reassembly = &record.Reassembly{OutOfOrderDropped: f.OOODropped, Overlaps: f.Overlaps, DepthReached: f.DepthReached}
	}
	return rec
}

func (h *flowHandler) communityID(f *reassembly.Flow) string {
	sp, dp := f.SrcPort, f.DstPort
	if f.Proto == capture.ProtoICMP || f.Proto == capture.ProtoICMPv6 {
		sp, dp = uint16(f.ICMPType), uint16(f.ICMPCode)
	}
	return communityid.Compute(h.p.cfg.CommunityIDSeed, f.Src, f.Dst, sp, dp, f.Proto)
}

// flowID is a deterministic 16-hex-digit id: the same capture always yields
// the same ids, so replays can be diffed and records joined with alerts.
func flowID(f *reassembly.Flow) string {
	hs := fnv.New64a()
	var b [2 + 2 + 1 + 8]byte
	a16, d16 := f.Src.As16(), f.Dst.As16()
	hs.Write(a16[:])
	hs.Write(d16[:])
	binary.BigEndian.PutUint16(b[0:], f.SrcPort)
	binary.BigEndian.PutUint16(b[2:], f.DstPort)
	b[4] = f.Proto
	binary.BigEndian.PutUint64(b[5:], uint64(f.Start))
	hs.Write(b[:])
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], hs.Sum64())
	return hex.EncodeToString(sum[:])
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

// encode marshals a record as one JSON line (without the newline).
func encode(v any) ([]byte, error) { return json.Marshal(v) }
