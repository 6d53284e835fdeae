package pcapgen

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Link is the link type a Writer frames IP packets with.
type Link int

// Links a Writer can write.
const (
	LinkEthernet Link = iota // Ethernet II with the default MACs
	LinkRaw                  // LINKTYPE_RAW: the IP packet itself
	LinkSLL2                 // Linux cooked capture v2
)

func (l Link) linkType() layers.LinkType {
	switch l {
	case LinkRaw:
		return layers.LinkTypeRaw
	case LinkSLL2:
		return layers.LinkTypeLinuxSLL2
	}
	return layers.LinkTypeEthernet
}

// StartTime is the timestamp of a Writer's first packet.
var StartTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultStep is how far a Writer's clock advances per packet.
const DefaultStep = time.Millisecond

// Writer writes packets to a pcap or pcapng stream with deterministic
// timestamps: StartTime, then Step later for every packet.
type Writer struct {
	link Link
	pcap *pcapgo.Writer
	ng   *pcapgo.NgWriter
	now  time.Time
	Step time.Duration
}

// NewWriter writes a classic pcap header (nanosecond resolution) to w.
func NewWriter(w io.Writer, link Link) (*Writer, error) {
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(262144, link.linkType()); err != nil {
		return nil, fmt.Errorf("pcapgen: pcap header: %w", err)
	}
	return &Writer{link: link, pcap: pw, now: StartTime, Step: DefaultStep}, nil
}

// NewNgWriter writes a pcapng section and interface to w.
func NewNgWriter(w io.Writer, link Link) (*Writer, error) {
	nw, err := pcapgo.NewNgWriter(w, link.linkType())
	if err != nil {
		return nil, fmt.Errorf("pcapgen: pcapng header: %w", err)
	}
	return &Writer{link: link, ng: nw, now: StartTime, Step: DefaultStep}, nil
}

// Now returns the timestamp the next packet gets.
func (w *Writer) Now() time.Time { return w.now }

// Advance moves the clock forward by d (for timeout tests).
func (w *Writer) Advance(d time.Duration) { w.now = w.now.Add(d) }

// WriteIP frames an IP packet for the writer's link type and writes it.
func (w *Writer) WriteIP(ip []byte) error {
	switch w.link {
	case LinkRaw:
		return w.WriteFrame(ip)
	case LinkSLL2:
		return w.WriteFrame(SLL2(etherTypeOf(ip), ip))
	}
	return w.WriteFrame(EthernetIP(ip))
}

// WriteFrame writes a frame that already has the writer's link header.
func (w *Writer) WriteFrame(frame []byte) error {
	ci := gopacket.CaptureInfo{Timestamp: w.now, CaptureLength: len(frame), Length: len(frame)}
	w.now = w.now.Add(w.Step)
	var err error
	if w.ng != nil {
		err = w.ng.WritePacket(ci, frame)
	} else {
		err = w.pcap.WritePacket(ci, frame)
	}
	if err != nil {
		return fmt.Errorf("pcapgen: write packet: %w", err)
	}
	return nil
}

// Flush flushes a pcapng writer's buffer (a pcap writer does not buffer).
func (w *Writer) Flush() error {
	if w.ng != nil {
		return w.ng.Flush()
	}
	return nil
}

// SLL2 returns a Linux cooked v2 header (incoming packet on ifindex 1, an
// Ethernet source address) followed by payload.
func SLL2(proto uint16, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(b[0:2], proto)
	binary.BigEndian.PutUint32(b[4:8], 1)
	binary.BigEndian.PutUint16(b[8:10], 1) // ARPHRD_ETHER
	b[10] = 0                              // PACKET_HOST
	b[11] = 6
	copy(b[12:18], ClientMAC[:])
	return append(b, payload...)
}
