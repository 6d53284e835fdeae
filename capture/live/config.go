package live

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultRingSize     = 64 << 20 // per socket
	DefaultBlockSize    = 1 << 20
	DefaultFrameSize    = 16 << 10
	DefaultBlockTimeout = 10 * time.Millisecond
	// DefaultSnaplen is tcpdump's: with GRO and GSO a packet socket sees
	// merged TCP segments of up to 64 KiB plus headers (more with BIG TCP).
	DefaultSnaplen     = 262144
	DefaultFanoutGroup = 0x7a70 // arbitrary; change it when two sensors share an interface
	// MinDefragSnaplen is the smallest snaplen allowed with kernel
	// defragmentation: a reassembled jumbo datagram must not be cut.
	MinDefragSnaplen = 9216
)

// FanoutMode selects how the kernel spreads an interface's packets over the
// sockets of its fanout group.
type FanoutMode uint8

// Fanout modes. FanoutHash is the only mode in which the kernel keeps a
// flow on one socket; the pipeline routes every packet by its own symmetric
// flow hash anyway, so the others only change how decoding load is spread.
const (
	FanoutHash FanoutMode = iota // PACKET_FANOUT_HASH (symmetric flow hash)
	FanoutCPU                    // PACKET_FANOUT_CPU: the CPU that received the packet
	FanoutQM                     // PACKET_FANOUT_QM: the NIC's receive queue
	FanoutLB                     // PACKET_FANOUT_LB: round robin
)

var fanoutNames = [...]string{"hash", "cpu", "qm", "lb"}

// String returns the mode's configuration name.
func (m FanoutMode) String() string {
	if int(m) < len(fanoutNames) {
		return fanoutNames[m]
	}
	return fmt.Sprintf("fanout(%d)", uint8(m))
}

// ParseFanoutMode parses a configuration name ("hash", "cpu", "qm", "lb").
func ParseFanoutMode(s string) (FanoutMode, error) {
	for i, n := range fanoutNames {
		if strings.EqualFold(s, n) {
			return FanoutMode(i), nil
		}
	}
	return 0, fmt.Errorf("live: fanout mode %q: want one of %s", s, strings.Join(fanoutNames[:], ", "))
}

// Config describes the capture. Zero values mean the documented default;
// Interfaces is required.
type Config struct {
	// Interfaces to capture on. Frames from all of them are one traffic
	// stream: a passive tap that delivers each direction on its own port
	// needs both ports here so the halves of a flow meet.
	Interfaces []string
	// Sockets is the number of sockets per interface (one per pipeline
	// reader); 0 means 1.
	Sockets int
	// Fanout is the fanout mode of every interface's group.
	Fanout FanoutMode
	// FanoutGroup is the group id of the first interface; interface j uses
	// FanoutGroup+j, because a kernel fanout group belongs to one device.
	// 0 means DefaultFanoutGroup.
	FanoutGroup uint16
	// NoDefrag turns off PACKET_FANOUT_FLAG_DEFRAG, with which the kernel
	// reassembles IPv4 fragments before fanout so every fragment of a
	// datagram reaches one socket (the hash of a non-first fragment has no
	// ports). IPv6 fragments are never reassembled by the kernel; the
	// pipeline's decoder does that.
	NoDefrag bool
	// RingSize is the memory-mapped ring of each socket in bytes, rounded
	// down to whole blocks; 0 means DefaultRingSize.
	RingSize int
	// BlockSize is the TPACKET_V3 block size (a multiple of the page size);
	// it also bounds the largest frame. 0 means DefaultBlockSize.
	BlockSize int
	// FrameSize is the nominal frame size of the ring (TPACKET_V3 packs
	// variable-length frames into blocks, so it only shapes ring geometry;
	// BlockSize must be a multiple of it). 0 means DefaultFrameSize.
	FrameSize int
	// BlockTimeout is how long the kernel fills a block before handing a
	// partly filled one to user space: the worst-case capture latency.
	// 0 means DefaultBlockTimeout.
	BlockTimeout time.Duration
	// Snaplen is the number of bytes kept per frame, enforced by the
	// kernel through the socket filter's return value. 0 means
	// DefaultSnaplen; with defragmentation it must be >= MinDefragSnaplen.
	Snaplen int
	// NoPromiscuous leaves the interfaces' promiscuous mode alone. A
	// SPAN port usually needs promiscuous mode (mirrored frames are not
	// addressed to the sensor).
	NoPromiscuous bool
	// Filter is a tcpdump-syntax capture filter attached to every socket;
	// empty accepts everything.
	Filter string
	// User, when set, is the account the process switches to once every
	// socket is open (see DropPrivileges).
	User string
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Sockets <= 0 {
		c.Sockets = 1
	}
	if c.FanoutGroup == 0 {
		c.FanoutGroup = DefaultFanoutGroup
	}
	if c.RingSize <= 0 {
		c.RingSize = DefaultRingSize
	}
	if c.BlockSize <= 0 {
		c.BlockSize = DefaultBlockSize
	}
	if c.FrameSize <= 0 {
		c.FrameSize = DefaultFrameSize
	}
	if c.BlockTimeout <= 0 {
		c.BlockTimeout = DefaultBlockTimeout
	}
	if c.Snaplen <= 0 {
		c.Snaplen = DefaultSnaplen
	}
	return c
}

// blocks is the number of ring blocks per socket.
func (c Config) blocks() int { return c.RingSize / c.BlockSize }

// defrag reports whether the fanout group asks for kernel defragmentation.
func (c Config) defrag() bool { return !c.NoDefrag }

// tpacketV3Overhead is the block descriptor plus one frame header: what a
// block must hold besides the largest frame.
const tpacketV3Overhead = 48 + 48 + 32

// Validate checks c (after defaults) without touching the system.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if len(c.Interfaces) == 0 {
		errs = append(errs, errors.New("no interface"))
	}
	seen := map[string]bool{}
	for _, name := range c.Interfaces {
		switch {
		case name == "" || name == "any":
			errs = append(errs, fmt.Errorf("interface %q: name a device (\"any\" cannot join a fanout group)", name))
		case seen[name]:
			errs = append(errs, fmt.Errorf("interface %q listed twice", name))
		}
		seen[name] = true
	}
	if int(c.Fanout) >= len(fanoutNames) {
		errs = append(errs, fmt.Errorf("fanout mode %d unknown", c.Fanout))
	}
	if int(c.FanoutGroup)+len(c.Interfaces)-1 > 0xffff {
		errs = append(errs, fmt.Errorf("fanout group %d + %d interfaces overflows 16 bits", c.FanoutGroup, len(c.Interfaces)))
	}
	if c.Sockets > 1024 {
		errs = append(errs, fmt.Errorf("sockets per interface %d: more than 1024", c.Sockets))
	}
	const page = 4096
	if c.BlockSize%page != 0 {
		errs = append(errs, fmt.Errorf("block size %d is not a multiple of the page size %d", c.BlockSize, page))
	}
	if c.FrameSize%16 != 0 || c.FrameSize < 128 || c.BlockSize%c.FrameSize != 0 {
		errs = append(errs, fmt.Errorf("frame size %d must be a multiple of 16, at least 128 and divide the block size %d", c.FrameSize, c.BlockSize))
	}
	if c.blocks() < 2 {
		errs = append(errs, fmt.Errorf("ring size %d holds fewer than 2 blocks of %d bytes", c.RingSize, c.BlockSize))
	}
	if c.BlockTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("block timeout %s is below the kernel's 1ms resolution", c.BlockTimeout))
	}
	if c.Snaplen > c.BlockSize-tpacketV3Overhead {
		errs = append(errs, fmt.Errorf("snaplen %d does not fit a block of %d bytes", c.Snaplen, c.BlockSize))
	}
	if c.defrag() && c.Snaplen < MinDefragSnaplen {
		errs = append(errs, fmt.Errorf("snaplen %d is below %d, the minimum with kernel defragmentation", c.Snaplen, MinDefragSnaplen))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("live: %w", err)
	}
	return nil
}
