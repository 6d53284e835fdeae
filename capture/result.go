package capture

import "sync/atomic"

// Result is what Decode made of a frame. It is a state, not an error: bad
// input is normal on a tap, so it is counted rather than reported.
type Result uint8

// Decode results.
const (
	OK              Result = iota // an IP packet was decoded into the Packet
	NotIP                         // a valid frame without IP in it (ARP, LLDP, STP, …)
	Truncated                     // the capture ended inside a header that was needed
	Malformed                     // a header contradicts itself (bad length, version, …)
	Fragment                      // an IP fragment, held for reassembly
	FragmentDropped               // an IP fragment the defragmenter refused (see DefragStats)
	Unsupported                   // a link type or encapsulation this decoder does not handle
	TooDeep                       // more nested tunnels than DecoderConfig.MaxTunnelDepth
	BadChecksum                   // an IPv4 header, TCP or UDP checksum failed (checksum mode on, or an IPv4 fragment): the host drops it
	numResults
)

var resultNames = [numResults]string{"ok", "not_ip", "truncated", "malformed", "fragment", "fragment_dropped", "unsupported", "too_deep", "bad_checksum"}

// String returns the metric label of the result.
func (r Result) String() string {
	if r < numResults {
		return resultNames[r]
	}
	return "unknown"
}

// Results lists every Result, for registering one metric per value.
func Results() []Result {
	rs := make([]Result, numResults)
	for i := range rs {
		rs[i] = Result(i)
	}
	return rs
}

// decodeErrors are the results that mean a frame could not be decoded (as
// opposed to OK, NotIP and Fragment, which are normal traffic).
var decodeErrors = [...]Result{Truncated, Malformed, FragmentDropped, Unsupported, TooDeep}

// DecodeErrors lists the results counted as decode errors: the replay
// summary's total and the decode-error metric use this one list.
func DecodeErrors() []Result { return append([]Result(nil), decodeErrors[:]...) }

// TunnelTypes lists every tunnel type other than TunnelNone, for
// registering one decap metric per type.
func TunnelTypes() []TunnelType {
	ts := make([]TunnelType, 0, numTunnelTypes-1)
	for t := TunnelVXLAN; int(t) < numTunnelTypes; t++ {
		ts = append(ts, t)
	}
	return ts
}

// numTunnelTypes bounds the per-tunnel-type decap counters.
const numTunnelTypes = int(TunnelPPPoE) + 1

// DecodeStats counts what decoders saw. Every reason has its own counter,
// built once, so the per-packet path only does an atomic add. One DecodeStats
// may be shared by the decoders of several workers.
type DecodeStats struct {
	results    [numResults]atomic.Uint64
	decaps     [numTunnelTypes]atomic.Uint64
	extraVLANs atomic.Uint64 // VLAN tags beyond MaxVLANs, not kept in Packet.VLAN

	badIPv4Sum, badTCPSum, badUDPSum atomic.Uint64 // checksum failures by header
	checksumPartial                  atomic.Uint64 // pseudo-header-only (offload) checksums left unjudged in auto mode

	Defrag DefragStats
}

// Result returns how many frames ended with r.
func (s *DecodeStats) Result(r Result) uint64 {
	if r >= numResults {
		return 0
	}
	return s.results[r].Load()
}

// Decaps returns how many encapsulations of type t were removed.
func (s *DecodeStats) Decaps(t TunnelType) uint64 {
	if int(t) >= numTunnelTypes {
		return 0
	}
	return s.decaps[t].Load()
}

// ExtraVLANs returns how many VLAN tags were seen beyond the MaxVLANs a
// Packet keeps.
func (s *DecodeStats) ExtraVLANs() uint64 { return s.extraVLANs.Load() }

// BadChecksums returns how many IPv4 headers, TCP segments and UDP
// datagrams failed their checksum: dropped as BadChecksum, or in checksum
// mode auto marked ChecksumBad for the flow table to judge.
func (s *DecodeStats) BadChecksums() (ipv4, tcp, udp uint64) {
	return s.badIPv4Sum.Load(), s.badTCPSum.Load(), s.badUDPSum.Load()
}

// ChecksumPartials returns how many TCP and UDP checksums holding only the
// pseudo-header sum (offloaded on the capturing host) auto mode left
// unjudged.
func (s *DecodeStats) ChecksumPartials() uint64 { return s.checksumPartial.Load() }

// DefragStats counts the defragmenter's work and everything it refused.
type DefragStats struct {
	Held        atomic.Uint64 // fragments accepted and held
	Reassembled atomic.Uint64 // datagrams completed
	Overlaps    atomic.Uint64 // fragments that overlapped data already held (first data wins)
	Conflicts   atomic.Uint64 // overlaps whose bytes differed from what was held
	Duplicates  atomic.Uint64 // fragments entirely covered by data already held
	Malformed   atomic.Uint64 // fragments with impossible offsets or lengths, dropped
	TooMany     atomic.Uint64 // datagrams dropped for exceeding MaxFragments (off by default, as in Linux)
	Timeouts    atomic.Uint64 // datagrams dropped incomplete after Timeout
	Evicted     atomic.Uint64 // datagrams dropped to make room (MaxDatagrams or MaxBytes)
	// Fragments the capture cut short (fewer bytes than the IP header
	// claims), so their datagram can never be rebuilt: a first fragment
	// still names the flow and is decoded alone as a truncated packet
	// (TruncatedFirst, not a drop); any other is dropped (TruncatedDropped).
	TruncatedFirst   atomic.Uint64
	TruncatedDropped atomic.Uint64
}
