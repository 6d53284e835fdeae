package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// File reader limits. Every length read from a file is checked against one
// of these before anything is allocated for it, so a hostile file (and a
// compressed one costs the attacker nothing) cannot make the reader grow a
// buffer to a claimed size.
const (
	// maxCapLen is the largest packet record accepted from a file:
	// libpcap's MAXIMUM_SNAPLEN. A longer record is an error.
	maxCapLen = 262144
	// maxBlockLen bounds a pcapng block. A longer packet, interface or
	// section header block is an error; any other block (name resolution,
	// statistics, decryption secrets, custom, unknown) is skipped unread
	// and counted.
	maxBlockLen = 16 << 20
	// maxSecretsLen bounds the decryption secrets one file may hand out
	// (all Decryption Secrets Blocks together); the rest is counted in
	// FileStats.SecretsDropped.
	maxSecretsLen = 16 << 20
	// maxInterfaces bounds the interfaces of one pcapng section.
	maxInterfaces = 1 << 16
	// readBuffer is the buffer a capture is read through. Packets are
	// handed out in place in it (byteReader.take), so it holds the longest
	// record; a quarter MiB per read also takes a quarter of the read
	// system calls of decompress.BufferSize (BENCHMARKS.md, disp4).
	readBuffer = maxCapLen
)

// ErrTooLong is wrapped by the error of a record or block whose claimed
// length is beyond the reader's limits (see FileStats.TooLong).
var ErrTooLong = errors.New("length beyond limit")

// FileStats counts what a file reader refused or skipped. A FileSource is
// used by one goroutine, so the counters are plain integers; read them with
// FileSource.Stats.
type FileStats struct {
	// TooLong counts records and blocks refused because a claimed length
	// was beyond a limit (the error that ended the file, or a skipped
	// block counted in OversizeBlocks too).
	TooLong uint64
	// SkippedBlocks counts pcapng blocks of unknown or custom type.
	SkippedBlocks uint64
	// OversizeBlocks counts pcapng blocks longer than the block limit that
	// were skipped without being read (non-packet blocks only).
	OversizeBlocks uint64
	// SkippedSections counts pcapng sections with an unknown major version
	// (skipped whole, as the pcapng specification asks).
	SkippedSections uint64
	// Secrets counts Decryption Secrets Blocks handed out.
	Secrets uint64
	// SecretsDropped counts Decryption Secrets Blocks not handed out
	// because they were over the size limit or malformed.
	SecretsDropped uint64
}

// Secret is the content of one pcapng Decryption Secrets Block.
type Secret struct {
	Type uint32 // SecretsTLSKeyLog, …
	Data []byte
}

// Decryption secrets types (pcapng DSB "Secrets Type").
const (
	SecretsTLSKeyLog   uint32 = 0x544c534b // NSS key log lines ("TLSK")
	SecretsWireGuard   uint32 = 0x57474b4c // "WGKL"
	SecretsZigBeeNWK   uint32 = 0x5a4e574b
	SecretsZigBeeAPS   uint32 = 0x5a415053
	SecretsOPCUAKeyLog uint32 = 0x55414b4c
)

// byteReader is the shared input side of both readers: a buffered reader
// with exact reads and skips whose short ends are io.ErrUnexpectedEOF.
type byteReader struct {
	r *bufio.Reader
}

func (b byteReader) full(p []byte) error {
	if _, err := io.ReadFull(b.r, p); err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

func (b byteReader) skip(n int) error {
	if n <= 0 {
		return nil
	}
	if _, err := b.r.Discard(n); err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// take returns the next n bytes in place, in the reader's buffer, valid
// until the next read: one copy fewer per packet than reading them into a
// packet buffer of the reader's own. Callers bound n by maxCapLen, which
// readBuffer holds.
func (b byteReader) take(n int) ([]byte, error) {
	data, err := b.r.Peek(n)
	if err != nil {
		switch err {
		case io.EOF:
			err = io.ErrUnexpectedEOF
		case bufio.ErrBufferFull: // a caller broke the bound
			err = fmt.Errorf("record of %d bytes beyond the %d-byte read buffer: %w", n, b.r.Size(), ErrTooLong)
		}
		return nil, err
	}
	b.r.Discard(n) // cannot fail: the bytes are buffered
	return data[:n:n], nil
}

// grow reads n bytes appended to dst, in chunks, so the slice grows with
// the bytes that really arrive rather than with the claim. Callers bound n.
func (b byteReader) grow(dst []byte, n int) ([]byte, error) {
	const chunk = 64 << 10
	for n > 0 {
		k := min(n, chunk)
		if cap(dst)-len(dst) < k {
			dst = append(dst[:cap(dst)], make([]byte, k)...)[:len(dst)]
		}
		if err := b.full(dst[len(dst) : len(dst)+k]); err != nil {
			return dst, err
		}
		dst = dst[:len(dst)+k]
		n -= k
	}
	return dst, nil
}

// pcapReader reads a classic pcap file (microsecond or nanosecond
// resolution, either byte order). Packets are returned in place in the
// read buffer (at most maxCapLen each): no allocation or copy per packet.
type pcapReader struct {
	in      byteReader
	be      bool
	nanos   bool
	link    LinkType
	snaplen uint32
	stats   *FileStats
}

const (
	pcapMagicMicro = 0xa1b2c3d4
	pcapMagicNano  = 0xa1b23c4d
)

func (r *pcapReader) u32(b []byte) uint32 {
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// newPcapReader reads the 24-byte file header.
func newPcapReader(br *bufio.Reader, stats *FileStats) (*pcapReader, error) {
	r := &pcapReader{in: byteReader{br}, stats: stats}
	var h [24]byte
	if err := r.in.full(h[:4]); err != nil {
		return nil, err
	}
	switch {
	case binary.LittleEndian.Uint32(h[:]) == pcapMagicMicro:
	case binary.LittleEndian.Uint32(h[:]) == pcapMagicNano:
		r.nanos = true
	case binary.BigEndian.Uint32(h[:]) == pcapMagicMicro:
		r.be = true
	case binary.BigEndian.Uint32(h[:]) == pcapMagicNano:
		r.be, r.nanos = true, true
	default:
		return nil, fmt.Errorf("%w (magic % x)", ErrFormat, h[:4])
	}
	if err := r.in.full(h[4:]); err != nil {
		return nil, err
	}
	major := binary.LittleEndian.Uint16(h[4:6])
	if r.be {
		major = binary.BigEndian.Uint16(h[4:6])
	}
	if major != 2 {
		return nil, fmt.Errorf("unknown pcap major version %d", major)
	}
	r.snaplen = r.u32(h[16:20])
	// The upper bits of the link type field carry FCS information
	// (LINKTYPE_FCS); the link type itself is the low 16 bits.
	r.link = LinkType(uint16(r.u32(h[20:24])))
	return r, nil
}

// next reads one record. data aliases the read buffer until the next
// call. io.EOF means the file ended on a record boundary.
func (r *pcapReader) next() (data []byte, m Meta, err error) {
	h, err := r.in.r.Peek(16) // the record header, read in place too
	if err != nil {
		if len(h) == 0 && err == io.EOF {
			return nil, Meta{}, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, Meta{}, err
	}
	sec, frac := r.u32(h[0:4]), r.u32(h[4:8])
	caplen, wirelen := r.u32(h[8:12]), r.u32(h[12:16])
	r.in.r.Discard(16) // cannot fail: the bytes are buffered
	if caplen > maxCapLen {
		r.stats.TooLong++
		return nil, Meta{}, fmt.Errorf("capture length %d exceeds %d: %w", caplen, maxCapLen, ErrTooLong)
	}
	data, err = r.in.take(int(caplen))
	if err != nil {
		return nil, Meta{}, err
	}
	ts := int64(sec) * 1e9
	if r.nanos {
		ts += int64(frac)
	} else {
		ts += int64(frac) * 1000
	}
	return data, Meta{TS: ts, CapLen: int(caplen), WireLen: int(wirelen), LinkType: r.link}, nil
}
