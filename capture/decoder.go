package capture

// Defaults for DecoderConfig fields left zero.
const (
	DefaultMaxTunnelDepth = 4
	DefaultVXLANPort      = 4789
	DefaultGENEVEPort     = 6081
)

// DecoderConfig tunes a Decoder. Zero values mean the documented default.
type DecoderConfig struct {
	// MaxTunnelDepth is how many encapsulations are removed before Decode
	// gives up with TooDeep. 0 means DefaultMaxTunnelDepth.
	MaxTunnelDepth int
	// VXLANPorts are the UDP ports (source or destination, as Wireshark
	// does) decoded as VXLAN when the header's I flag is set. Empty means
	// {4789}; []uint16{0} disables VXLAN (no real datagram uses port 0).
	VXLANPorts []uint16
	// GENEVEPorts are the UDP ports (source or destination) decoded as
	// GENEVE. Empty means {6081}; []uint16{0} disables GENEVE.
	GENEVEPorts []uint16
	// Defrag bounds IP reassembly.
	Defrag DefragConfig
	// Checksums selects checksum verification; the zero value is
	// ChecksumAuto (see ChecksumMode).
	Checksums ChecksumMode
	// KeepFrames makes Decode point Packet.Frame at the frame (and set
	// Packet.Link), for consumers that store raw packets (alert pcaps).
	KeepFrames bool
}

// Decoder turns frames into Packets. It owns its reassembly buffers and
// scratch state, so each worker goroutine needs its own; it is not safe for
// concurrent use.
//
// The layers are parsed by hand rather than with gopacket's
// DecodingLayerParser: on Ethernet/IPv4/TCP it takes about 33 ns per frame
// against 121 ns for gopacket filling the same fields (BenchmarkDecode,
// BenchmarkDecodeGopacket); gopacket has no DecodingLayer for IPv6
// routing headers, MPLS pseudowires or ERSPAN III; and a DecodingLayerParser
// holds one layer per type, so tunnels would need one parser per depth.
//
// Checksums (IPv4 header, TCP and UDP over the IPv4 or IPv6 pseudo-header)
// are verified as the receiving host does, so a decoy segment with a bad
// checksum, which the host discards, cannot take the place of the real
// data (see ChecksumMode for what auto, the default, does with one).
// Packets whose checksum cannot be checked (cut by the snaplen,
// segmentation-offload lengths of 0, an IPv6 routing header still to be
// followed) are left ChecksumUnverified.
type Decoder struct {
	maxDepth    int
	vxlanPorts  []uint16
	genevePorts []uint16
	stats       *DecodeStats
	defrag      defragmenter
	csumMode    ChecksumMode
	noL4Sum     bool // the packet being decoded cannot have its L4 checksum verified
	keepFrames  bool
}

// NewDecoder returns a Decoder counting into stats (which may be shared
// between decoders; nil gets a private one).
func NewDecoder(cfg DecoderConfig, stats *DecodeStats) *Decoder {
	if stats == nil {
		stats = new(DecodeStats)
	}
	d := &Decoder{
		maxDepth:    cfg.MaxTunnelDepth,
		vxlanPorts:  cfg.VXLANPorts,
		genevePorts: cfg.GENEVEPorts,
		stats:       stats,
	}
	if d.maxDepth <= 0 {
		d.maxDepth = DefaultMaxTunnelDepth
	}
	if len(d.vxlanPorts) == 0 {
		d.vxlanPorts = []uint16{DefaultVXLANPort}
	}
	if len(d.genevePorts) == 0 {
		d.genevePorts = []uint16{DefaultGENEVEPort}
	}
	d.defrag.init(cfg.Defrag, &stats.Defrag)
	d.csumMode = cfg.Checksums
	d.keepFrames = cfg.KeepFrames
	if d.csumMode > ChecksumOff {
		d.csumMode = ChecksumAuto
	}
	return d
}

// Stats returns the counters the decoder writes to.
func (d *Decoder) Stats() *DecodeStats { return d.stats }

// Decode decodes one frame of link type m.LinkType into p, which it resets
// first. p.Payload points into data, or into the decoder's reassembly buffer
// when p.Reassembled is set, and is valid until the next Decode call.
func (d *Decoder) Decode(data []byte, m Meta, p *Packet) Result {
	d.defrag.releaseDone()
	*p = Packet{TS: m.TS, WireLen: m.WireLen}
	if d.keepFrames {
		p.Frame, p.Link = data, m.LinkType
	}
	d.noL4Sum = false
	if p.WireLen == 0 {
		p.WireLen = len(data)
	}
	if m.WireLen > len(data) {
		p.Truncated = true
	}
	r := d.decodeLink(data, m.LinkType, p)
	d.stats.results[r].Add(1)
	return r
}

// Flush drops every datagram still being reassembled whose first fragment
// is older than now - Timeout; a caller without traffic calls it so held
// memory is returned. now is packet time in Unix nanoseconds.
func (d *Decoder) Flush(now int64) { d.defrag.expire(now) }

// Held returns the fragment bytes the decoder holds right now.
func (d *Decoder) Held() int { return d.defrag.held }
