// Package reassembly owns the flow table: bidirectional flow keys, TCP state
// and Zeek-style history, per-direction counters, packet-time timeouts, and
// TCP stream reassembly into ordered bytes pushed to a Stream consumer. Memory
// is bounded by construction (flow count, per-flow and global reassembly
// memcaps) and every drop is counted. It must not know about PII,
// destinations or any application protocol: consumers do that.
package reassembly

import (
	"net/netip"

	"github.com/tapdlp/tapdlp/capture"
)

// Dir is a flow direction relative to the initiator.
type Dir uint8

// Directions. DirOut is from the initiator (record "src") to the responder.
const (
	DirOut Dir = 0
	DirIn  Dir = 1
)

// String returns "out" or "in", the record's direction identifiers.
func (d Dir) String() string {
	if d == DirOut {
		return "out"
	}
	return "in"
}

// Handler is implemented by the pipeline: it is told when a flow starts and
// when it must be written out. Calls for one Table come from one goroutine.
type Handler interface {
	// Open is called once when a flow is created, before any data is
	// delivered. It returns the Stream that receives the flow's payload, or
	// nil when nobody wants it (the flow is then only counted).
	Open(f *Flow) Stream
	// Emit is called when a record for f must be written: why says why (its
	// String is the record's state). final is false for interim records of
	// long-lived flows (EndActive); after a final Emit, f and its Stream are
	// dropped and must not be kept.
	Emit(f *Flow, why EndReason, final bool)
}

// EndReason says why the table emits a flow.
type EndReason uint8

// End reasons. Their String values are the record's flow states.
const (
	EndClosed   EndReason = iota // TCP FIN handshake seen
	EndReset                     // TCP RST seen
	EndTimeout                   // idle timeout in packet time, or evicted for room
	EndActive                    // interim record of a long-lived flow (active timeout)
	EndShutdown                  // still open when the input ended or the sensor stopped
	numEndReasons
)

var endNames = [numEndReasons]string{"closed", "reset", "timeout", "active", "shutdown"}

// String returns the reason's stable identifier ("closed", "reset",
// "timeout", "active", "shutdown").
func (r EndReason) String() string {
	if r < numEndReasons {
		return endNames[r]
	}
	return "unknown"
}

// Stream consumes one flow's payload. TCP payload arrives as contiguous,
// ordered bytes per direction; each UDP datagram's payload arrives as one
// Data call. b is only valid during the call: copy what you keep.
type Stream interface {
	// Data delivers the next bytes of direction dir at packet time ts. The
	// return value says whether the consumer wants more of this direction;
	// once false, the table stops reassembling dir (bytes are still counted).
	Data(dir Dir, b []byte, ts int64) (more bool)
	// Gap reports n bytes of dir that will never be delivered (lost in
	// capture, or dropped at a memcap); the next Data continues after them.
	Gap(dir Dir, n int)
}

// Overlapper is implemented by a Stream that wants the other version of
// bytes a sender transmitted twice with different content. A passive
// sensor cannot tell which copy the receiving host kept (a decoy may have
// been sent with a TTL too low to reach it, or be the retransmission the
// host took), so Data carries the first copy and Overlap the conflicting
// one; a consumer scanning content should scan both.
//
// A Stream that does not implement it is only told through Flow.Overlaps
// and the counters. The table checks for it once, when the flow opens.
type Overlapper interface {
	// Overlap delivers an alternate view of direction dir starting at
	// stream offset off (bytes since the direction's first byte, as
	// counted by Data and Gap): the conflicting copy, with up to
	// OverlapContext bytes of the first copy on either side so a value
	// straddling the edge is whole. When the conflict reaches the point
	// delivered so far, the next OverlapContext bytes given to Data are
	// passed here too, each call continuing where the previous one ended
	// (off equal to its off plus length); an off elsewhere starts a new
	// view. b is only valid during the call: copy what you keep. It is
	// called before the Data call of the same packet, if any.
	Overlap(dir Dir, off uint64, b []byte, ts int64)
}

// Closer is implemented by a Stream that wants to know when its TCP flow
// has closed and nothing more can reach it: FIN seen both ways or an
// accepted RST, and nothing of either direction left that the table could
// still deliver or compare a retransmission with (no out-of-order or SYN
// bytes buffered, every delivered byte acknowledged). Its consumer can
// finish its work now and give back what it holds. Closed is called at
// most once per flow, during Table.Packet.
//
// Closed returns whether the flow may be emitted as soon as its close
// completes (both FINs acknowledged, or the RST: at once or at a later
// packet), leaving a tombstone that absorbs late packets for the rest of
// Config.TCPClosedLinger (see tomb.go). A consumer that may still need the
// flow whole (TLS that keys arriving later may decrypt) returns false: the
// flow then lingers and its final record, with the late packets counted,
// comes after the linger. A flow whose Stream is not a Closer, or that has
// none, is emitted at the close.
type Closer interface {
	Closed() (emitNow bool)
}

// OverlapContext is how many bytes of the first copy surround a
// conflicting copy given to Overlapper.Overlap.
const OverlapContext = 512

// Flow is the table's state for one flow. The Handler and Stream may read it
// during their calls and must not modify it or keep it past a final Emit.
//
// Its fields are ordered so that small ones share words (a conn, of which
// Flow is the first part, fits the 768-byte size class: 128 B less per open
// flow than before).
type Flow struct {
	// Oriented 5-tuple: Src is the initiator.
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8

	NVLAN              uint8
	ICMPType, ICMPCode uint8  // of the first ICMP packet
	Hash               uint32 // symmetric 5-tuple hash (capture.Packet.FlowHash)
	VLAN               [capture.MaxVLANs]uint16

	Start int64 // packet time of the first packet, Unix ns
	Last  int64 // packet time of the latest packet, Unix ns

	Bytes   [2]uint64 // IP bytes per Dir
	Packets [2]uint64 // packets per Dir
	Missed  [2]uint64 // TCP bytes never delivered per Dir (gaps, memcap drops)

	OOODropped uint64 // out-of-order bytes dropped at a memcap
	Overlaps   uint64 // retransmitted bytes whose content differed from the first copy (delivered or buffered); both copies go to the consumer

	// Continues is set on a TCP flow picked up mid-stream on the tuple of a
	// flow that ended by idle timeout shortly before, whose sequence
	// numbers it carries on: the same connection after a pause longer than
	// the timeout. PrevStart is that flow's Start. It is oriented like that
	// flow, so a consumer may join the two (a value straddling the pause).
	PrevStart int64

	// The encapsulation the flow's first packet came in (see Tunnel) and
	// the first ICMP error that quoted one of its packets (see
	// ICMPReject): both rare, so held by pointer, nil when none (inline
	// they took 80 B of every flow and kept a conn out of the 704-byte
	// size class).
	tunnel *capture.TunnelInfo
	rej    *ICMPReject

	// history holds the Zeek-style history letters so far (e.g. "ShADadFf")
	// in a fixed array so recording a letter never allocates.
	history  [maxHistory]byte
	nhistory uint8

	DepthReached bool // inspect_depth reached in at least one direction
	Continues    bool // see PrevStart
	told         bool // the stream was told the flow closed (see Closer; in Flow's padding, not conn's)
	early        bool // told, and the flow may be emitted once its close completes (see tomb.go)

	// stream is the flow's consumer (Handler.Open's result). It is kept
	// here rather than in the table's private state so the handler can
	// reach its own state from the flow (Flow.Stream) without a map of
	// its own: measured ~40 B per open flow for a map from *Flow.
	stream Stream
}

// Stream returns the consumer Handler.Open gave for f (nil when none).
func (f *Flow) Stream() Stream { return f.stream }

// ICMPReject returns the first ICMP or ICMPv6 error (destination
// unreachable, time exceeded) that quoted one of this flow's packets
// (Table.ICMPError); its From is the zero Addr when none did.
func (f *Flow) ICMPReject() ICMPReject {
	if f.rej == nil {
		return ICMPReject{}
	}
	return *f.rej
}

// Tunnel returns the encapsulation of the flow's first packet (Type
// capture.TunnelNone when it came bare).
func (f *Flow) Tunnel() capture.TunnelInfo {
	if f.tunnel == nil {
		return capture.TunnelInfo{}
	}
	return *f.tunnel
}

// ICMPReject is an ICMP error attached to the flow whose packet it quoted.
type ICMPReject struct {
	Type, Code uint8
	From       netip.Addr // the router or host that sent the error
}

// maxHistory bounds the history string; Zeek's letters each appear at most a
// few times (repeats are logarithmically counted), so 32 is ample.
const maxHistory = 32

// History returns the Zeek-style history string (allocates; call at Emit).
func (f *Flow) History() string { return string(f.history[:f.nhistory]) }
