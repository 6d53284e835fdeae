package bodydec

import (
	"encoding/binary"
	"errors"
	"io"
)

// zipReader reads a zip archive front to back, as it arrives, without the
// central directory (which comes last): each local file header is followed
// by the entry's data, stored or deflated. Entries are delivered one after
// the other, each followed by a line break so values do not join across
// files. It stops cleanly at the central directory; an entry it cannot
// read (another method, encrypted, a stored entry of unknown size) ends the
// archive with errZipUnsupported, like corrupt data.
type zipReader struct {
	s      *stage
	cur    io.Reader // the current entry's data; nil between entries
	stored int64     // bytes left of a stored entry
	desc   bool      // a data descriptor follows the entry
	sep    bool      // the line break after an entry is due
	ended  bool
}

var errZipUnsupported = errors.New("bodydec: zip entry method or flags not supported")

const (
	zipLocalSig = 0x04034b50
	zipDescSig  = 0x08074b50
)

// Read implements io.Reader over the entries' data.
func (z *zipReader) Read(p []byte) (int, error) {
	for {
		if z.ended {
			return 0, io.EOF
		}
		if z.sep {
			z.sep = false
			p[0] = '\n'
			return 1, nil
		}
		if z.cur == nil {
			if err := z.next(); err != nil {
				return 0, err
			}
			continue
		}
		if z.cur == z.s && z.stored == 0 {
			z.endEntry()
			continue
		}
		q := p
		if z.cur == z.s {
			q = p[:min(int64(len(p)), z.stored)]
		}
		n, err := z.cur.Read(q)
		if z.cur == z.s {
			z.stored -= int64(n)
		}
		if err == io.EOF {
			if z.cur == z.s {
				return n, io.ErrUnexpectedEOF
			}
			if err := z.skipDescriptor(); err != nil {
				return n, err
			}
			z.endEntry()
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (z *zipReader) endEntry() {
	z.cur, z.sep = nil, true
}

// next reads a local file header and readies the entry's data; at the
// central directory (or any other signature) the archive ends.
func (z *zipReader) next() error {
	var h [30]byte
	if _, err := io.ReadFull(z.s, h[:4]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // an archive ends with its central directory
		}
		return err
	}
	if binary.LittleEndian.Uint32(h[:4]) != zipLocalSig {
		z.ended = true // central directory: every entry was read
		return io.EOF
	}
	if _, err := io.ReadFull(z.s, h[4:]); err != nil {
		return err
	}
	flags := binary.LittleEndian.Uint16(h[6:])
	method := binary.LittleEndian.Uint16(h[8:])
	csize := int64(binary.LittleEndian.Uint32(h[18:]))
	skip := int64(binary.LittleEndian.Uint16(h[26:])) + int64(binary.LittleEndian.Uint16(h[28:]))
	if _, err := io.CopyN(io.Discard, z.s, skip); err != nil {
		return err
	}
	z.desc = flags&8 != 0
	switch {
	case flags&1 != 0: // encrypted
		return errZipUnsupported
	case method == 0 && !z.desc && csize != 0xffffffff:
		z.cur, z.stored = z.s, csize
	case method == 8:
		fl, err := z.s.flate()
		if err != nil {
			return err
		}
		z.cur = fl
	default:
		return errZipUnsupported
	}
	return nil
}

// skipDescriptor reads the data descriptor after a deflated entry that
// announced one: an optional signature, CRC-32 and two sizes (32-bit; a
// zip64 descriptor's larger sizes leave 8 bytes that the next header check
// rejects, which ends the archive early rather than misreading it).
func (z *zipReader) skipDescriptor() error {
	if !z.desc {
		return nil
	}
	var d [4]byte
	if _, err := io.ReadFull(z.s, d[:]); err != nil {
		return err
	}
	n := int64(8)
	if binary.LittleEndian.Uint32(d[:]) == zipDescSig {
		n = 12
	}
	_, err := io.CopyN(io.Discard, z.s, n)
	return err
}
