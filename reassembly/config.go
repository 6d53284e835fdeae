package reassembly

import (
	"math/bits"
	"time"
)

// Config bounds one Table. Zero in any field means the documented default;
// negative values mean "off" where a field says so.
type Config struct {
	// MaxFlows caps the flows this table tracks at once; at the cap the least
	// recently active flow is emitted (state timeout) and counted as evicted.
	// Default 1<<20. It is per Table: the caller splits a global budget
	// across workers.
	MaxFlows int

	// Memcap is the flow table's byte budget: the estimated bytes of the
	// open flows (the table's own per-flow state, FlowCost per flow and
	// what consumers charge with Table.Charge). Creating a flow that would
	// exceed it evicts the least recently active flows first, emitted with
	// state timeout and counted in FlowsEvicted and FlowsEvictedMemcap.
	// Per Table, like MaxFlows. Zero or negative: no byte budget.
	Memcap int64
	// FlowCost is what the consumer's state of one open flow costs (its
	// Stream and bookkeeping), charged against Memcap for every flow.
	FlowCost int

	// InspectDepth is how many payload bytes per direction are reassembled
	// and delivered; past it the direction is only counted. Default 1 MiB;
	// negative means unlimited.
	InspectDepth int

	// FlowOOOCap bounds the out-of-order bytes one flow may buffer (both
	// directions, counted in buffer capacity). At the cap the flow's oldest
	// hole is declared lost (Stream.Gap) and the data behind it delivered, so
	// buffered data is never silently thrown away. Default 1 MiB: with the
	// default InspectDepth nothing past 1 MiB of a direction is buffered
	// anyway, and a hole that 1 MiB of later data has not filled is capture
	// loss, not reordering. Minimum 64 KiB (one maximal segment).
	FlowOOOCap int

	// OverlapWindow is how many delivered bytes per direction that the
	// peer has not acknowledged yet are kept, so a retransmission carrying
	// different bytes is compared and its copy delivered to the consumer
	// (see Overlapper). The buffer grows with the unacknowledged data up
	// to this size and counts against the global memcap. Retransmitted
	// bytes the receiver acknowledged before are ignored, as the host
	// ignores them; unacknowledged ones no longer kept are delivered as an
	// alternate unchecked. Default 16 KiB (a dozen full segments: most
	// retransmissions repeat the last few); at most 64 KiB; negative
	// disables keeping them (every unacknowledged retransmission is then
	// delivered unchecked). A ring goes back to the pool as soon as the
	// peer acknowledged everything in it.
	OverlapWindow int

	// TCPNewTimeout expires TCP flows whose responder never answered (SYN
	// only). Default 30 s: longer than the first four SYN retransmissions
	// (1+2+4+8 s), short enough that a SYN scan does not pin the table.
	TCPNewTimeout time.Duration
	// TCPEstablishedTimeout is the idle timeout of TCP flows that saw both
	// directions or were picked up mid-stream. Default 5 min.
	TCPEstablishedTimeout time.Duration
	// TCPClosedLinger is how long the key of a TCP flow that saw FIN both
	// ways or an accepted RST is remembered, absorbing final ACKs and
	// retransmissions, before a packet on it may open a new flow (a pure
	// SYN always does: port reuse). Default 5 s; a late packet restarts it.
	//
	// A flow whose close completed — each FIN acknowledged by the peer, or
	// the RST — with nothing left to deliver is emitted once
	// TCPCloseGrace passed without a packet (state closed or reset) and
	// leaves only a tombstone (tomb.go) for the rest of the linger: later
	// packets are counted in Stats.LatePackets, not in its record. A flow whose close did not complete (a FIN never
	// acknowledged, data still buffered) or whose consumer needs it whole
	// (Closer.Closed returning false) is kept whole for the linger and
	// emitted after it, late packets counted in the record.
	//
	// Zeek (tcp_close_delay, tcp_reset_delay: 5 s) and Suricata (the flow
	// manager's closed timeout, 60 s by default) keep every closed flow
	// whole until its delay ends and count late packets in its log entry;
	// at 44,000 new flows a second that pins 220,000 closed flows in
	// memory for 5 s. tapdlp writes the record when the close is over on
	// the wire (and TCPCloseGrace passed) instead, so a record differs
	// from Zeek's conn.log only in packets that arrive later than the
	// grace after the last ACK of the close (a FIN retransmitted after
	// its timeout): they are in Zeek's counts and history, and only in
	// tapdlp's metrics.
	TCPClosedLinger time.Duration
	// TCPCloseGrace is how long a flow whose close completed stays whole
	// before it is emitted and leaves its tombstone: packets within it
	// (a SPAN port's duplicate of the last ACK, copies reordered between
	// mirror ports, an ACK or RST crossing the peer's RST) count in the
	// record, as the host saw them and as tshark and Zeek count them. A
	// packet in the grace restarts it. Default 100 ms: far above the
	// microseconds between a packet and its mirrored copy and a LAN's
	// round trip, short enough that the flows it holds stay few (4,400 at
	// 44,000 new flows a second, their parsers and scanners already given
	// back). Negative: emitted at once.
	TCPCloseGrace time.Duration
	// UDPTimeout is the idle timeout of UDP flows. Default 60 s.
	UDPTimeout time.Duration
	// DNSTimeout is the idle timeout of UDP flows to or from port 53.
	// Default 10 s, Zeek's dns_session_timeout: a resolver answers in
	// milliseconds and retries within seconds, and a client's next lookup
	// comes from a new port. Held for the UDP timeout, DNS flows were what
	// a busy link kept open: at 44,000 new flows a second, 20 % of them
	// DNS, 528,000 flows for 60 s against 88,000 for 10 s.
	DNSTimeout time.Duration
	// OtherTimeout is the idle timeout of ICMP and other IP protocols.
	// Default 60 s.
	OtherTimeout time.Duration
	// ActiveTimeout emits an interim record (state active, final=false) of a
	// flow every ActiveTimeout of packet time while it lives. Counters in the
	// interim record are cumulative since the flow started. Default 5 min;
	// negative disables interim records.
	ActiveTimeout time.Duration
	// ExpireOnAdvance makes idle and active timeouts fire only in Advance
	// (and, for one flow, when its next packet finds it past its deadline),
	// never because a packet moved the table's clock. A table that sees
	// only a share of the packets (one of several workers) then expires the
	// same flows at the same instants as a table that sees them all, when
	// the caller advances every table at the same packet times and sets the
	// clock before each packet (SetClock).
	ExpireOnAdvance bool
}

// Defaults, see Config.
const (
	DefaultMaxFlows              = 1 << 20
	DefaultInspectDepth          = 1 << 20
	DefaultFlowOOOCap            = 1 << 20
	DefaultOverlapWindow         = 16 << 10
	DefaultTCPNewTimeout         = 30 * time.Second
	DefaultTCPEstablishedTimeout = 5 * time.Minute
	DefaultTCPClosedLinger       = 5 * time.Second
	DefaultTCPCloseGrace         = 50 * time.Millisecond
	DefaultUDPTimeout            = 60 * time.Second
	DefaultDNSTimeout            = 10 * time.Second
	DefaultOtherTimeout          = 60 * time.Second
	DefaultActiveTimeout         = 5 * time.Minute

	minFlowOOOCap = 64 << 10
)

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// withDefaults resolves zero fields; negative durations other than
// ActiveTimeout are treated as the default because a negative idle timeout
// would expire every flow at once.
func (c Config) withDefaults() Config {
	c.MaxFlows = orDefault(c.MaxFlows, DefaultMaxFlows)
	if c.MaxFlows < 1 {
		c.MaxFlows = DefaultMaxFlows
	}
	c.InspectDepth = orDefault(c.InspectDepth, DefaultInspectDepth)
	c.FlowOOOCap = max(orDefault(c.FlowOOOCap, DefaultFlowOOOCap), minFlowOOOCap)
	c.OverlapWindow = min(orDefault(c.OverlapWindow, DefaultOverlapWindow), maxClass)
	if c.OverlapWindow > 0 {
		c.OverlapWindow = 1 << bits.Len(uint(c.OverlapWindow-1)) // a ring: a power of two
	}
	fix := func(v, def time.Duration) time.Duration {
		if v <= 0 {
			return def
		}
		return v
	}
	c.TCPNewTimeout = fix(c.TCPNewTimeout, DefaultTCPNewTimeout)
	c.TCPEstablishedTimeout = fix(c.TCPEstablishedTimeout, DefaultTCPEstablishedTimeout)
	c.TCPClosedLinger = fix(c.TCPClosedLinger, DefaultTCPClosedLinger)
	c.TCPCloseGrace = min(orDefault(c.TCPCloseGrace, DefaultTCPCloseGrace), c.TCPClosedLinger)
	c.UDPTimeout = fix(c.UDPTimeout, DefaultUDPTimeout)
	c.DNSTimeout = fix(c.DNSTimeout, DefaultDNSTimeout)
	c.OtherTimeout = fix(c.OtherTimeout, DefaultOtherTimeout)
	c.ActiveTimeout = orDefault(c.ActiveTimeout, DefaultActiveTimeout)
	return c
}
