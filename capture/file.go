package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tapdlp/tapdlp/internal/decompress"
)

var magicPcapNG = []byte{0x0a, 0x0d, 0x0d, 0x0a}

// ErrFormat is wrapped by OpenFile errors for input that is not a capture.
var ErrFormat = errors.New("not a pcap or pcapng capture")

// FileSource reads packets from a pcap or pcapng file, optionally gzip or
// zstd compressed, or from standard input. Every length the file claims is
// checked against a limit before anything is allocated for it (see
// pcapfile.go): a hostile file costs at most a packet buffer of maxCapLen
// bytes, never the claimed size. It is not safe for concurrent use.
type FileSource struct {
	name   string
	file   *os.File // nil for standard input
	count  *countingReader
	size   int64
	dec    *decompress.Reader // gzip or zstd by magic number, or plain
	pcap   *pcapReader        // classic pcap (pcapfile.go), or
	ng     *ngReader          // pcapng (pcapng.go)
	stats  FileStats
	index  int   // packets returned so far
	err    error // sticky error once reading failed
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
	dec, err := decompress.NewReaderSize(s.count, readBuffer)
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
		ng, err := newNgReader(inb, &s.stats)
		if err != nil {
			return fmt.Errorf("capture: %s: pcapng: %w", s.name, err)
		}
		s.ng = ng
		return nil
	}
	pr, err := newPcapReader(inb, &s.stats)
	if err != nil {
		if errors.Is(err, ErrFormat) {
			return fmt.Errorf("capture: %s: %w", s.name, err)
		}
		return fmt.Errorf("capture: %s: pcap: %w", s.name, err)
	}
	s.pcap = pr
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
	if s.ng != nil {
		data, m, err = s.ng.next()
	} else {
		data, m, err = s.pcap.next()
	}
	if err != nil {
		if err == io.EOF { // only on a record or block boundary
			s.err = io.EOF
			return nil, Meta{}, io.EOF
		}
		s.err = fmt.Errorf("capture: %s: packet %d: %w", s.name, s.index, err)
		return nil, Meta{}, s.err
	}
	s.index++
	if m.WireLen < m.CapLen {
		m.WireLen = m.CapLen
	}
	return data, m, nil
}

// Stats returns what the reader refused or skipped so far.
func (s *FileSource) Stats() FileStats { return s.stats }

// OnSecret registers fn to receive each pcapng Decryption Secrets Block as
// the reader reaches it, before the packets that follow it are returned.
// Call it before the first Next: blocks read earlier are not replayed to
// fn (Secrets has them). fn runs on the goroutine calling Next; the
// Secret's Data may be kept but must not be modified (Secrets shares it).
func (s *FileSource) OnSecret(fn func(Secret)) {
	if s.ng != nil {
		s.ng.onSecret = fn
	}
}

// Secrets returns the Decryption Secrets Blocks read so far (all of them
// once Next returned io.EOF), at most 16 MiB in all; FileStats counts the
// ones over that bound. Classic pcap has none.
func (s *FileSource) Secrets() []Secret {
	if s.ng == nil {
		return nil
	}
	return s.ng.secrets
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
