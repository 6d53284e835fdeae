package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tapdlp/tapdlp/internal/decompress"
)

// maxCapLen is the largest packet record accepted from a file: libpcap's
// MAXIMUM_SNAPLEN. pcapgo already refuses to allocate a record's claimed
// length before reading it (it grows the buffer with the bytes that really
// arrive), so a corrupt length cannot cost more memory than the file holds;
// this check turns such a record into an error instead of a huge packet.
const maxCapLen = 262144

var (
	magicPcapNG = []byte{0x0a, 0x0d, 0x0d, 0x0a}
)

// ErrFormat is wrapped by OpenFile errors for input that is not a capture.
var ErrFormat = errors.New("not a pcap or pcapng capture")

// packetReader is what pcapgo's two readers share.
type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// FileSource reads packets from a pcap or pcapng file, optionally gzip or
// zstd compressed, or from standard input. It is not safe for concurrent use.
type FileSource struct {
	name   string
	file   *os.File // nil for standard input
	count  *countingReader
	size   int64
	dec    *decompress.Reader // gzip or zstd by magic number, or plain
	pcap   *pcapgo.Reader
	ng     *pcapgo.NgReader
	rd     packetReader
	link   LinkType // classic pcap: one link type for the file
	index  int      // packets returned so far
	err    error    // sticky error once reading failed
	closed bool
}

// OpenFile opens a capture file; "-" reads standard input. The format is
// detected from the magic number, never from the file name.
func OpenFile(path string) (*FileSource, error) {
	s := &FileSource{name: path, size: -1}
	var r io.Reader
	if path == "-" {
		s.name = "stdin"
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("capture: %w", err)
		}
		s.file = f
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			s.size = st.Size()
		}
		r = f
	}
	if err := s.open(r); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// NewReaderSource reads a capture from r (for tests and embedded callers);
// name is used in error messages. Size reports -1.
func NewReaderSource(name string, r io.Reader) (*FileSource, error) {
	s := &FileSource{name: name, size: -1}
	if err := s.open(r); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *FileSource) open(r io.Reader) error {
	s.count = &countingReader{r: r}
	dec, err := decompress.NewReader(s.count)
	if err != nil {
		return fmt.Errorf("capture: %s: %w", s.name, err)
	}
	s.dec = dec
	inb := dec.Reader
	head, err := inb.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("capture: %s: %w (file too short)", s.name, ErrFormat)
		}
		return fmt.Errorf("capture: %s: %w", s.name, err)
	}
	if bytes.Equal(head, magicPcapNG) {
		// WantMixedLinkType keeps packets of every interface (libpcap drops
		// those whose link type differs from the first interface's). Its
		// cost: pcapgo boxes the link type per packet, which allocates for
		// link types above 255 (SLL2).
		ng, err := pcapgo.NewNgReader(inb, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return fmt.Errorf("capture: %s: pcapng: %w", s.name, err)
		}
		s.ng, s.rd = ng, ng
		return nil
	}
	switch head[0] {
	case 0xa1, 0xd4, 0x4d, 0x3c: // classic pcap magics, either byte order
	default:
		return fmt.Errorf("capture: %s: %w (magic % x)", s.name, ErrFormat, head)
	}
	pr, err := pcapgo.NewReader(inb)
	if err != nil {
		return fmt.Errorf("capture: %s: pcap: %w", s.name, err)
	}
	s.pcap, s.rd = pr, pr
	s.link = LinkType(pr.LinkType())
	return nil
}

// Next returns the next packet. data is owned by the source and valid until
// the next call. It returns io.EOF at the end of the capture; any other
// error names the file and the packet index and is returned again by later
// calls.
func (s *FileSource) Next() (data []byte, m Meta, err error) {
	if s.err != nil {
		return nil, Meta{}, s.err
	}
	data, ci, err := s.rd.ZeroCopyReadPacketData()
	if err == nil && ci.CaptureLength > maxCapLen {
		err = fmt.Errorf("capture length %d exceeds %d", ci.CaptureLength, maxCapLen)
	}
	if err != nil {
		// pcapgo reports a record header followed by no data as io.EOF.
		if err == io.EOF && ci.CaptureLength == 0 {
			s.err = io.EOF
			return nil, Meta{}, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		s.err = fmt.Errorf("capture: %s: packet %d: %w", s.name, s.index, err)
		return nil, Meta{}, s.err
	}
	s.index++
	m = Meta{TS: ci.Timestamp.UnixNano(), CapLen: ci.CaptureLength, WireLen: ci.Length, LinkType: s.link}
	if s.ng != nil {
		intf, ierr := s.ng.Interface(ci.InterfaceIndex)
		if ierr != nil {
			s.err = fmt.Errorf("capture: %s: packet %d: %w", s.name, s.index-1, ierr)
			return nil, Meta{}, s.err
		}
		m.LinkType = LinkType(intf.LinkType)
	}
	if m.WireLen < m.CapLen {
		m.WireLen = m.CapLen
	}
	return data, m, nil
}

// Packets returns how many packets Next has returned.
func (s *FileSource) Packets() int { return s.index }

// BytesRead returns the bytes consumed from the underlying file (compressed
// bytes for compressed input), for a progress display.
func (s *FileSource) BytesRead() int64 { return s.count.n }

// Size returns the file size, or -1 for standard input and non-regular files.
func (s *FileSource) Size() int64 { return s.size }

// Name returns the path the source was opened with ("stdin" for "-").
func (s *FileSource) Name() string { return s.name }

// Close releases the file and decompressors. It is safe to call twice.
func (s *FileSource) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.dec != nil {
		err = s.dec.Close()
	}
	if s.file != nil {
		if cerr := s.file.Close(); cerr != nil {
			err = cerr
		}
	}
	return err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
