package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// pcapng block types (draft-ietf-opsawg-pcapng).
const (
	ngSHB       = 0x0a0d0d0a
	ngIDB       = 0x00000001
	ngPB        = 0x00000002 // obsolete Packet Block
	ngSPB       = 0x00000003
	ngNRB       = 0x00000004
	ngISB       = 0x00000005
	ngEPB       = 0x00000006
	ngDSB       = 0x0000000a
	ngCustom    = 0x00000bad
	ngCustomNC  = 0x40000bad
	ngByteOrder = 0x1a2b3c4d
)

// IDB options the reader uses.
const (
	ngOptEnd      = 0
	ngOptTSResol  = 9
	ngOptTSOffset = 14
)

// ngIface is what the reader keeps of an Interface Description Block.
type ngIface struct {
	link    LinkType
	snaplen uint32
	binary  bool   // resolution 2^-exp, else 10^-exp
	exp     uint8  // resolution exponent
	mask    uint64 // units per second (decimal resolutions)
	scale   int64  // nanoseconds per unit when mask <= 1e9
	offset  int64  // if_tsoffset, seconds
}

// ngReader reads pcapng: every section, every interface (mixed link types
// are kept), both byte orders. Each block's length is checked before the
// block is read; packet data (at most maxCapLen) is returned in place in
// the read buffer, other blocks are parsed as a stream or skipped without
// being buffered.
type ngReader struct {
	in     byteReader
	be     bool
	ifaces []ngIface
	buf    []byte   // packet data of a block too long for the read buffer
	hdr    [32]byte // fixed block fields; [28:32] the trailing length
	opt    [16]byte // one option value
	lastTS int64    // for Simple Packet Blocks, which carry no time
	stats  *FileStats

	secrets    []Secret // copies of every DSB, bounded by maxSecretsLen
	secretsLen int
	onSecret   func(Secret)
}

func (r *ngReader) u16(b []byte) uint16 {
	if r.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *ngReader) u32(b []byte) uint32 {
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *ngReader) u64(b []byte) uint64 {
	if r.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// newNgReader reads the first Section Header Block.
func newNgReader(br *bufio.Reader, stats *FileStats) (*ngReader, error) {
	r := &ngReader{in: byteReader{br}, stats: stats}
	if err := r.full(r.hdr[:8]); err != nil {
		return nil, err
	}
	if binary.LittleEndian.Uint32(r.hdr[:4]) != ngSHB {
		return nil, ErrFormat
	}
	if err := r.sectionHeader(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *ngReader) full(p []byte) error { return r.in.full(p) }

// blockLen validates a block's total length: a multiple of 4 and at least
// the type's minimum. The upper bound (maxBlockLen) is checked by each
// block type, which decides between an error and a counted skip.
func (r *ngReader) blockLen(typ uint32, l uint32, minLen uint32) error {
	if l%4 != 0 || l < minLen {
		return fmt.Errorf("pcapng block type %#x: bad length %d", typ, l)
	}
	return nil
}

// trailer reads a block's trailing length and checks it against the
// leading one, as libpcap does: a mismatch means the framing is lost.
func (r *ngReader) trailer(typ, l uint32) error {
	t := r.hdr[28:32] // a field, not a local: a local would escape through io.Reader
	if err := r.full(t); err != nil {
		return err
	}
	if got := r.u32(t); got != l {
		return fmt.Errorf("pcapng block type %#x: trailing length %d differs from %d", typ, got, l)
	}
	return nil
}

// sectionHeader reads a Section Header Block whose first 8 bytes are in
// r.hdr. Sections with an unknown major version are skipped whole.
func (r *ngReader) sectionHeader() error {
	for {
		if err := r.full(r.hdr[8:12]); err != nil {
			return err
		}
		switch {
		case binary.BigEndian.Uint32(r.hdr[8:12]) == ngByteOrder:
			r.be = true
		case binary.LittleEndian.Uint32(r.hdr[8:12]) == ngByteOrder:
			r.be = false
		default:
			return errors.New("pcapng section header: bad byte-order magic")
		}
		l := r.u32(r.hdr[4:8])
		if err := r.blockLen(ngSHB, l, 28); err != nil {
			return err
		}
		if l > maxBlockLen {
			r.stats.TooLong++
			return fmt.Errorf("pcapng section header length %d exceeds %d: %w", l, maxBlockLen, ErrTooLong)
		}
		if err := r.full(r.hdr[12:24]); err != nil {
			return err
		}
		major := r.u16(r.hdr[12:14])
		// Section options (comments, hardware, OS) are not needed.
		if err := r.in.skip(int(l) - 28); err != nil {
			return err
		}
		if err := r.trailer(ngSHB, l); err != nil {
			return err
		}
		r.ifaces = r.ifaces[:0]
		if major == 1 {
			return nil
		}
		r.stats.SkippedSections++
		if err := r.skipSection(); err != nil {
			return err
		}
	}
}

// skipSection skips blocks up to the next Section Header Block and leaves
// its first 8 bytes in r.hdr.
func (r *ngReader) skipSection() error {
	for {
		if err := r.full(r.hdr[:8]); err != nil {
			return err
		}
		typ := r.u32(r.hdr[:4])
		if typ == ngSHB {
			return nil
		}
		l := r.u32(r.hdr[4:8])
		if err := r.blockLen(typ, l, 12); err != nil {
			return err
		}
		if err := r.in.skip(int(l) - 12); err != nil {
			return err
		}
		if err := r.trailer(typ, l); err != nil {
			return err
		}
	}
}

// next returns the next packet of any packet block type, handling the
// blocks in between. io.EOF means the file ended on a block boundary.
func (r *ngReader) next() (data []byte, m Meta, err error) {
	for {
		n, err := io.ReadFull(r.in.r, r.hdr[:8])
		if err != nil {
			if n == 0 && err == io.EOF {
				return nil, Meta{}, io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, Meta{}, err
		}
		typ := r.u32(r.hdr[:4])
		if typ == ngSHB { // the same in both byte orders
			if err := r.sectionHeader(); err != nil {
				return nil, Meta{}, err
			}
			continue
		}
		l := r.u32(r.hdr[4:8])
		switch typ {
		case ngEPB, ngPB:
			return r.packet(typ, l)
		case ngSPB:
			return r.simplePacket(l)
		case ngIDB:
			if err := r.interfaceDesc(l); err != nil {
				return nil, Meta{}, err
			}
		case ngDSB:
			if err := r.decryptionSecrets(l); err != nil {
				return nil, Meta{}, err
			}
		default:
			// Name resolution and statistics are known blocks the pipeline
			// does not use; custom and unknown ones are counted.
			if typ != ngNRB && typ != ngISB {
				r.stats.SkippedBlocks++
			}
			if err := r.skipBlock(typ, l); err != nil {
				return nil, Meta{}, err
			}
		}
	}
}

// skipBlock skips a block's body without reading it into memory. A block
// over the limit is counted; it costs input bytes, never memory.
func (r *ngReader) skipBlock(typ, l uint32) error {
	if err := r.blockLen(typ, l, 12); err != nil {
		return err
	}
	if l > maxBlockLen {
		r.stats.TooLong++
		r.stats.OversizeBlocks++
	}
	if err := r.in.skip(int(l) - 12); err != nil {
		return err
	}
	return r.trailer(typ, l)
}

// interfaceDesc reads an Interface Description Block: link type, snap
// length and the two options that change timestamps.
func (r *ngReader) interfaceDesc(l uint32) error {
	if err := r.blockLen(ngIDB, l, 20); err != nil {
		return err
	}
	if l > maxBlockLen {
		r.stats.TooLong++
		return fmt.Errorf("pcapng interface block length %d exceeds %d: %w", l, maxBlockLen, ErrTooLong)
	}
	if len(r.ifaces) >= maxInterfaces {
		r.stats.TooLong++
		return fmt.Errorf("pcapng section has more than %d interfaces: %w", maxInterfaces, ErrTooLong)
	}
	if err := r.full(r.hdr[8:16]); err != nil {
		return err
	}
	ifc := ngIface{link: LinkType(r.u16(r.hdr[8:10])), snaplen: r.u32(r.hdr[12:16]), exp: 6}
	rem := int(l) - 20
	opt := &r.opt
	for rem >= 4 {
		if err := r.full(opt[:4]); err != nil {
			return err
		}
		rem -= 4
		code, olen := r.u16(opt[:2]), int(r.u16(opt[2:4]))
		if code == ngOptEnd {
			break
		}
		padded := (olen + 3) &^ 3
		if padded > rem {
			// An option running past its block: ignore the rest of the
			// options rather than read into the next block.
			break
		}
		rem -= padded
		if padded > len(opt) {
			if err := r.in.skip(padded); err != nil {
				return err
			}
			continue
		}
		if err := r.full(opt[:padded]); err != nil {
			return err
		}
		switch {
		case code == ngOptTSResol && olen >= 1:
			ifc.binary, ifc.exp = opt[0]&0x80 != 0, opt[0]&0x7f
		case code == ngOptTSOffset && olen >= 8:
			ifc.offset = int64(r.u64(opt[:8]))
		}
	}
	if err := r.in.skip(rem); err != nil {
		return err
	}
	if err := r.trailer(ngIDB, l); err != nil {
		return err
	}
	if ifc.binary {
		if ifc.exp > 63 {
			return fmt.Errorf("pcapng interface: timestamp resolution 2^-%d is too high", ifc.exp)
		}
	} else {
		if ifc.exp > 19 { // 10^20 does not fit in 64 bits
			return fmt.Errorf("pcapng interface: timestamp resolution 10^-%d is too high", ifc.exp)
		}
		ifc.mask = 1
		for range ifc.exp {
			ifc.mask *= 10
		}
		if ifc.mask <= 1e9 {
			ifc.scale = int64(1e9 / ifc.mask)
		}
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// nanos converts an interface's timestamp units to Unix nanoseconds.
func (ifc *ngIface) nanos(ts uint64) int64 {
	if ifc.binary {
		sec := ts >> ifc.exp
		frac := ts & (1<<ifc.exp - 1)
		hi, lo := bits.Mul64(frac, 1e9)
		ns := lo >> ifc.exp
		if ifc.exp > 0 {
			ns |= hi << (64 - ifc.exp)
		}
		return (int64(sec)+ifc.offset)*1e9 + int64(ns)
	}
	sec, frac := ts/ifc.mask, ts%ifc.mask
	var ns int64
	if ifc.scale > 0 {
		ns = int64(frac) * ifc.scale
	} else {
		ns = int64(frac / (ifc.mask / 1e9))
	}
	return (int64(sec)+ifc.offset)*1e9 + ns
}

// packet reads an Enhanced Packet Block or an obsolete Packet Block.
func (r *ngReader) packet(typ, l uint32) ([]byte, Meta, error) {
	if err := r.blockLen(typ, l, 32); err != nil {
		return nil, Meta{}, err
	}
	if l > maxBlockLen {
		r.stats.TooLong++
		return nil, Meta{}, fmt.Errorf("pcapng packet block length %d exceeds %d: %w", l, maxBlockLen, ErrTooLong)
	}
	if err := r.full(r.hdr[8:28]); err != nil {
		return nil, Meta{}, err
	}
	var idx uint32
	if typ == ngEPB {
		idx = r.u32(r.hdr[8:12])
	} else {
		idx = uint32(r.u16(r.hdr[8:10]))
	}
	if idx >= uint32(len(r.ifaces)) {
		return nil, Meta{}, fmt.Errorf("pcapng: interface %d not in section (%d interfaces)", idx, len(r.ifaces))
	}
	ifc := &r.ifaces[idx]
	ts := uint64(r.u32(r.hdr[12:16]))<<32 | uint64(r.u32(r.hdr[16:20]))
	caplen, wirelen := r.u32(r.hdr[20:24]), r.u32(r.hdr[24:28])
	if caplen > maxCapLen {
		r.stats.TooLong++
		return nil, Meta{}, fmt.Errorf("capture length %d exceeds %d: %w", caplen, maxCapLen, ErrTooLong)
	}
	padded := (int(caplen) + 3) &^ 3
	if padded > int(l)-32 {
		return nil, Meta{}, fmt.Errorf("pcapng packet block: capture length %d beyond block length %d", caplen, l)
	}
	data, err := r.readPacket(int(caplen), int(l)-32-int(caplen)+4)
	if err != nil {
		return nil, Meta{}, err
	}
	// Packet options (flags, hashes, drop counts) are not needed.
	if err := r.in.skip(int(l) - 32 - int(caplen)); err != nil {
		return nil, Meta{}, err
	}
	if err := r.trailer(typ, l); err != nil {
		return nil, Meta{}, err
	}
	r.lastTS = ifc.nanos(ts)
	return data, Meta{TS: r.lastTS, CapLen: int(caplen), WireLen: int(wirelen), LinkType: ifc.link}, nil
}

// simplePacket reads a Simple Packet Block: interface 0, no timestamp (the
// previous packet's time is used, so timeouts do not jump), captured
// length bounded by the block, the original length and the snap length.
func (r *ngReader) simplePacket(l uint32) ([]byte, Meta, error) {
	if err := r.blockLen(ngSPB, l, 16); err != nil {
		return nil, Meta{}, err
	}
	if len(r.ifaces) == 0 {
		return nil, Meta{}, errors.New("pcapng: simple packet block before any interface")
	}
	if err := r.full(r.hdr[8:12]); err != nil {
		return nil, Meta{}, err
	}
	ifc := &r.ifaces[0]
	wirelen := r.u32(r.hdr[8:12])
	room := l - 16
	caplen := min(wirelen, room)
	if ifc.snaplen != 0 {
		caplen = min(caplen, ifc.snaplen)
	}
	if caplen > maxCapLen {
		r.stats.TooLong++
		return nil, Meta{}, fmt.Errorf("capture length %d exceeds %d: %w", caplen, maxCapLen, ErrTooLong)
	}
	data, err := r.readPacket(int(caplen), int(room-caplen)+4)
	if err != nil {
		return nil, Meta{}, err
	}
	if err := r.in.skip(int(room - caplen)); err != nil {
		return nil, Meta{}, err
	}
	if err := r.trailer(ngSPB, l); err != nil {
		return nil, Meta{}, err
	}
	return data, Meta{TS: r.lastTS, CapLen: int(caplen), WireLen: int(wirelen), LinkType: ifc.link}, nil
}

// readPacket returns caplen (<= maxCapLen) bytes of packet data that stay
// valid while the rest of the block (after bytes: options, padding, the
// trailing length) is read. The whole block is brought into the read
// buffer first, so the data is handed out in place; only a block whose
// options do not fit next to the packet has its data copied to buf.
func (r *ngReader) readPacket(caplen, after int) ([]byte, error) {
	if _, err := r.in.r.Peek(min(caplen+after, r.in.r.Size())); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	data, err := r.in.take(caplen)
	if err != nil {
		return nil, err
	}
	if r.in.r.Buffered() < after {
		if cap(r.buf) < caplen {
			r.buf = make([]byte, caplen)
		}
		return r.buf[:copy(r.buf[:caplen], data):caplen], nil
	}
	return data, nil
}

// decryptionSecrets reads a Decryption Secrets Block, keeps a copy (up to
// maxSecretsLen for the whole file) and hands it to the secrets callback.
// A block over the limit is skipped unread and counted.
func (r *ngReader) decryptionSecrets(l uint32) error {
	if err := r.blockLen(ngDSB, l, 20); err != nil {
		return err
	}
	if l > maxBlockLen {
		r.stats.SecretsDropped++
		return r.skipBlock(ngDSB, l)
	}
	if err := r.full(r.hdr[8:16]); err != nil {
		return err
	}
	typ, n := r.u32(r.hdr[8:12]), r.u32(r.hdr[12:16])
	body := int(l) - 20
	padded := (int(n) + 3) &^ 3
	if n > uint32(body) || padded > body {
		r.stats.SecretsDropped++
		if err := r.in.skip(body); err != nil {
			return err
		}
		return r.trailer(ngDSB, l)
	}
	keep := r.secretsLen+int(n) <= maxSecretsLen
	var data []byte
	if keep {
		var err error
		// grow allocates as the bytes arrive, not as claimed.
		if data, err = r.in.grow(nil, int(n)); err != nil {
			return err
		}
		body -= int(n)
	} else {
		r.stats.SecretsDropped++
	}
	if err := r.in.skip(body); err != nil {
		return err
	}
	if err := r.trailer(ngDSB, l); err != nil {
		return err
	}
	if !keep {
		return nil
	}
	r.stats.Secrets++
	r.secretsLen += int(n)
	r.secrets = append(r.secrets, Secret{Type: typ, Data: data})
	if r.onSecret != nil {
		r.onSecret(Secret{Type: typ, Data: data})
	}
	return nil
}
