package reassembly

import (
	"sync/atomic"
)

// Stats counts what the flow tables did and dropped. One Stats may be shared
// by all workers: its counters move per flow or per out-of-order event, never
// per in-order packet, so sharing costs no contention on the hot path. The
// zero value is ready to use.
type Stats struct {
	FlowsOpen          atomic.Int64 // gauge: flows currently in the tables (Table.Len is not safe to read from another goroutine)
	FlowsCreated       atomic.Uint64
	FlowsTimeout       atomic.Uint64 // emitted after an idle timeout
	FlowsClosed        atomic.Uint64 // emitted after FIN both ways and the linger
	FlowsReset         atomic.Uint64 // emitted after a RST and the linger
	FlowsShutdown      atomic.Uint64 // emitted by Flush
	FlowsEvicted       atomic.Uint64 // emitted early because MaxFlows or Memcap was reached
	FlowsEvictedMemcap atomic.Uint64 // of FlowsEvicted, those evicted at Memcap (the table's byte budget)
	FlowsReused        atomic.Uint64 // closed flow (or its tombstone) ended early by a new SYN on its tuple
	FlowsTombstoned    atomic.Uint64 // of FlowsClosed and FlowsReset, those emitted when their close completed, leaving a tombstone for the linger
	Tombstones         atomic.Int64  // gauge: tombstones held (flows emitted at their close, still within the linger)
	TombstonesEvicted  atomic.Uint64 // tombstones dropped before their linger ended, for room (MaxFlows or Memcap)
	LatePackets        atomic.Uint64 // packets absorbed by a tombstone: they reached a flow after its final record (not in any record)
	LateBytes          atomic.Uint64 // IP bytes of LatePackets
	FlowsContinued     atomic.Uint64 // TCP flows picked up mid-stream that continue one that timed out (Flow.Continues)
	InterimRecords     atomic.Uint64 // active-timeout interim records
	StreamsDeclined    atomic.Uint64 // flows whose Handler.Open returned nil
	OOOBytesBuffered   atomic.Uint64 // out-of-order payload bytes buffered
	OOOBytesDropped    atomic.Uint64 // out-of-order payload bytes dropped at the global memcap
	MemcapDrops        atomic.Uint64 // segments (pieces) dropped at the global memcap
	CapGaps            atomic.Uint64 // holes skipped because a flow hit FlowOOOCap or the memcap
	AckGaps            atomic.Uint64 // holes skipped because the peer acknowledged past them
	EndGaps            atomic.Uint64 // holes skipped because the flow ended
	MissedBytes        atomic.Uint64 // bytes never delivered (all gaps)
	OverlapBytes       atomic.Uint64 // overlapping bytes whose content differed
	OverlapEvents      atomic.Uint64 // retransmissions that disagreed with the first copy (alternate views delivered)
	OverlapUnchecked   atomic.Uint64 // retransmitted, unacknowledged bytes no longer kept to compare: delivered as an alternate unchecked
	DepthReached       atomic.Uint64 // directions that reached InspectDepth
	ICMPAttached       atomic.Uint64 // ICMP errors attached to the flow they quote (Table.ICMPError)
	ICMPUnmatched      atomic.Uint64 // ICMP errors quoting no flow in the table, or a responder's packet

	ChecksumDrops   atomic.Uint64 // bad-checksum packets dropped in a direction that had good ones (decoys the host discards)
	ChecksumKept    atomic.Uint64 // bad-checksum packets kept: their direction never had a good checksum (offload, rewritten capture)
	RSTAccepted     atomic.Uint64 // RSTs that end the flow (sequence number exactly as the receiver expects)
	RSTChallenged   atomic.Uint64 // in-window RSTs at another sequence number: the host answers with a challenge ACK and stays open (RFC 5961)
	RSTOutOfWindow  atomic.Uint64 // RSTs outside the receive window: the host ignores them
	SynDataAccepted atomic.Uint64 // SYN payload bytes delivered because the peer acknowledged them (TCP Fast Open)
	SynDataIgnored  atomic.Uint64 // SYN payload bytes dropped: the peer did not take them, as a host without Fast Open does
}

// Each calls fn for every counter with a fixed, stable snake_case name:
// counters for tapdlp_reassembly_<name>_total, except "flows_open" and
// "tombstones", gauges.
// Memory.Used is the matching gauge for buffered bytes.
func (s *Stats) Each(fn func(name string, v uint64)) {
	fn("flows_open", uint64(max(s.FlowsOpen.Load(), 0)))
	fn("flows_created", s.FlowsCreated.Load())
	fn("flows_expired_timeout", s.FlowsTimeout.Load())
	fn("flows_closed", s.FlowsClosed.Load())
	fn("flows_reset", s.FlowsReset.Load())
	fn("flows_shutdown", s.FlowsShutdown.Load())
	fn("flows_evicted", s.FlowsEvicted.Load())
	fn("flows_evicted_memcap", s.FlowsEvictedMemcap.Load())
	fn("flows_reused", s.FlowsReused.Load())
	fn("flows_tombstoned", s.FlowsTombstoned.Load())
	fn("tombstones", uint64(max(s.Tombstones.Load(), 0)))
	fn("tombstones_evicted", s.TombstonesEvicted.Load())
	fn("late_packets", s.LatePackets.Load())
	fn("late_bytes", s.LateBytes.Load())
	fn("flows_continued", s.FlowsContinued.Load())
	fn("interim_records", s.InterimRecords.Load())
	fn("streams_declined", s.StreamsDeclined.Load())
	fn("ooo_bytes_buffered", s.OOOBytesBuffered.Load())
	fn("ooo_bytes_dropped", s.OOOBytesDropped.Load())
	fn("memcap_drops", s.MemcapDrops.Load())
	fn("cap_gaps", s.CapGaps.Load())
	fn("ack_gaps", s.AckGaps.Load())
	fn("end_gaps", s.EndGaps.Load())
	fn("missed_bytes", s.MissedBytes.Load())
	fn("overlap_bytes", s.OverlapBytes.Load())
	fn("overlap_events", s.OverlapEvents.Load())
	fn("overlap_unchecked_bytes", s.OverlapUnchecked.Load())
	fn("depth_reached", s.DepthReached.Load())
	fn("checksum_drops", s.ChecksumDrops.Load())
	fn("checksum_kept", s.ChecksumKept.Load())
	fn("rst_accepted", s.RSTAccepted.Load())
	fn("rst_challenged", s.RSTChallenged.Load())
	fn("rst_out_of_window", s.RSTOutOfWindow.Load())
	fn("syn_data_accepted_bytes", s.SynDataAccepted.Load())
	fn("syn_data_ignored_bytes", s.SynDataIgnored.Load())
}

// countEnd attributes a final emission to its counter.
func (s *Stats) countEnd(why EndReason, evicted bool) {
	switch {
	case evicted:
		s.FlowsEvicted.Add(1)
	case why == EndTimeout:
		s.FlowsTimeout.Add(1)
	case why == EndClosed:
		s.FlowsClosed.Add(1)
	case why == EndReset:
		s.FlowsReset.Add(1)
	default:
		s.FlowsShutdown.Add(1)
	}
}
