package live

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/tapdlp/tapdlp/capture"
)

// ErrTimeout is returned by Socket.Next when no frame arrived within the
// poll timeout (the block timeout): the caller's chance to look at the clock
// and its context.
var ErrTimeout = afpacket.ErrTimeout

// Socket is one AF_PACKET socket: one member of one interface's fanout group.
// Next is for one goroutine; Stats may be called from any other.
type Socket struct {
	iface string
	index int // position in the interface's fanout group
	link  capture.LinkType
	tp    *afpacket.TPacket

	// since is when the socket finished joining its group. Frames stamped
	// earlier reached it before the fanout (and the filter) applied, so
	// every socket of the group holds a copy: they are discarded, not
	// counted twice.
	since int64
	vlan  int32 // VLAN id of the last frame Next returned, -1 for none

	mu    sync.Mutex // guards the counters below (Next never takes it)
	last  [3]uint32  // afpacket's running (wrapping) kernel counters at the last read
	stats SocketStats
	stale atomic.Uint64 // frames discarded as queued before the fanout applied
}

// SocketStats are the kernel's counters for one socket (PACKET_STATISTICS),
// accumulated in 64 bits.
type SocketStats struct {
	Interface string
	Socket    int    // position in the interface's fanout group
	Packets   uint64 // frames that passed the filter, including dropped ones
	Drops     uint64 // frames lost because the ring was full
	Freezes   uint64 // times the kernel froze the ring's queue because it was full
	Stale     uint64 // frames discarded at start-up (queued before the fanout applied)
}

// Interface returns the name of the socket's interface.
func (s *Socket) Interface() string { return s.iface }

// Index returns the socket's position in its interface's fanout group.
func (s *Socket) Index() int { return s.index }

// LinkType returns the link type of the frames Next returns.
func (s *Socket) LinkType() capture.LinkType { return s.link }

func openSocket(cfg Config, iface string, group uint16, index int, link capture.LinkType, prog []bpf.RawInstruction) (*Socket, error) {
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(iface),
		afpacket.TPacketVersion3,
		afpacket.OptBlockSize(cfg.BlockSize),
		afpacket.OptFrameSize(cfg.FrameSize),
		afpacket.OptNumBlocks(cfg.blocks()),
		afpacket.OptBlockTimeout(cfg.BlockTimeout),
		// Waking up once per block timeout when idle lets the reader
		// advance its clock (flow timeouts) and notice shutdown.
		afpacket.OptPollTimeout(cfg.BlockTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("live: %s socket %d: open TPACKET_V3 ring: %w", iface, index, err)
	}
	s := &Socket{iface: iface, index: index, link: link, tp: tp, vlan: -1}
	s.stats.Interface, s.stats.Socket = iface, index
	fail := func(what string, err error) (*Socket, error) {
		tp.Close()
		return nil, fmt.Errorf("live: %s socket %d: %s: %w", iface, index, what, err)
	}
	// The filter also enforces the snaplen (its accept return value), so
	// it is attached even when it accepts everything.
	if err := tp.SetBPF(prog); err != nil {
		return fail("attach BPF filter", err)
	}
	if !cfg.NoPromiscuous && index == 0 {
		// Membership is per socket and reference counted by the kernel,
		// which undoes it when the socket closes: one socket suffices.
		if err := tp.SetPromiscuous(true); err != nil {
			return fail("enable promiscuous mode", err)
		}
	}
	if err := tp.SetFanout(fanoutType(cfg), group); err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EALREADY) {
			err = fmt.Errorf("%w (is fanout group %d used by another process with other settings?)", err, group)
		}
		return fail(fmt.Sprintf("join fanout group %d", group), err)
	}
	s.since = time.Now().UnixNano()
	// What the kernel counted so far predates the fanout: the baseline.
	_, v3, err := tp.SocketStats()
	if err != nil {
		return fail("read statistics", err)
	}
	s.last = [3]uint32{uint32(v3.Packets()), uint32(v3.Drops()), uint32(v3.QueueFreezes())}
	return s, nil
}

func fanoutType(cfg Config) afpacket.FanoutType {
	var t afpacket.FanoutType
	switch cfg.Fanout {
	case FanoutCPU:
		t = afpacket.FanoutCPU
	case FanoutQM:
		t = afpacket.FanoutQueueMapping
	case FanoutLB:
		t = afpacket.FanoutLoadBalance
	default:
		t = afpacket.FanoutHash
	}
	if cfg.defrag() {
		t |= afpacket.FanoutHashWithDefrag // the PACKET_FANOUT_FLAG_DEFRAG bit, valid with every mode
	}
	return t
}

// Next returns the next frame and its metadata; the frame points into the
// ring and is valid until the next call. It returns ErrTimeout when nothing
// arrived within the block timeout. VLAN reports the tag the kernel
// stripped from this frame.
//
// Checksums are not looked at (frames marked TP_STATUS_CSUMNOTREADY, whose
// checksum the NIC has yet to fill in on transmit, are as good as any): the
// decoder never verifies them.
//
// Untagged frames cost no allocation. For a frame with a stripped tag,
// afpacket appends the id to CaptureInfo.AncillaryData, which allocates;
// avoiding it would mean forking afpacket's ring reader.
func (s *Socket) Next() ([]byte, capture.Meta, error) {
	for {
		data, ci, err := s.tp.ZeroCopyReadPacketData()
		if err != nil {
			return nil, capture.Meta{}, err
		}
		ts := ci.Timestamp.UnixNano()
		if ts < s.since {
			s.stale.Add(1)
			continue
		}
		s.vlan = -1
		wire := ci.Length
		if id, ok := ancillaryVLAN(ci.AncillaryData); ok {
			s.vlan = int32(id)
			wire += 4 // the tag was on the wire; tp_len does not count it
		}
		return data, capture.Meta{TS: ts, CapLen: len(data), WireLen: wire, LinkType: s.link}, nil
	}
}

// VLAN returns the VLAN id the kernel stripped from the frame Next last
// returned (TP_STATUS_VLAN_VALID), and whether there was one.
func (s *Socket) VLAN() (uint16, bool) {
	if s.vlan < 0 {
		return 0, false
	}
	return uint16(s.vlan), true
}

// ancillaryVLAN extracts the stripped VLAN id from afpacket's ancillary
// data. Anything unexpected (other types, ids outside 12 bits) is ignored.
func ancillaryVLAN(anc []any) (uint16, bool) {
	for _, a := range anc {
		if v, ok := a.(afpacket.AncillaryVLAN); ok && v.VLAN >= 0 && v.VLAN <= 0x0fff {
			return uint16(v.VLAN), true
		}
	}
	return 0, false
}

// Stats reads the kernel's counters. PACKET_STATISTICS resets them on every
// read; afpacket keeps 32-bit running sums, which wrap, so the 64-bit totals
// are built from differences: Stats must be called at least once per 2^32
// frames (the pipeline calls it every few seconds).
func (s *Socket) Stats() (SocketStats, error) {
	_, v3, err := s.tp.SocketStats()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		return s.stats, fmt.Errorf("live: %s socket %d: read statistics: %w", s.iface, s.index, err)
	}
	cur := [3]uint32{uint32(v3.Packets()), uint32(v3.Drops()), uint32(v3.QueueFreezes())}
	s.stats.Packets += uint64(cur[0] - s.last[0])
	s.stats.Drops += uint64(cur[1] - s.last[1])
	s.stats.Freezes += uint64(cur[2] - s.last[2])
	s.last = cur
	s.stats.Stale = s.stale.Load()
	return s.stats, nil
}

// Close releases the ring and the socket (and with it the promiscuous
// membership and the fanout slot).
func (s *Socket) Close() { s.tp.Close() }
