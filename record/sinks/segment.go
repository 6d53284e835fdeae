package sinks

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"

	"github.com/tapdlp/tapdlp/record"
)

// Spool segment format. A segment is a file named <id>.seg (id: 16 hex
// digits) that starts with segMagic and holds records framed as
//
//	uint32 length (little endian) | uint32 CRC-32C of the payload | payload
//
// A process that dies mid-append leaves a torn last record; the CRC and the
// length bound let the reader tell a torn or corrupt tail from a record and
// skip the rest of that segment instead of delivering garbage or looping.
const (
	segMagicV1   = "TDLPSPL1" // 1: bare JSON records (before kind and key were carried); converted at open
	segMagic     = "TDLPSPL2" // 2: entries carry kind and key (frame.go)
	segHeaderLen = len(segMagic)
	recHeaderLen = 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recStatus is the outcome of decoding one framed record.
type recStatus uint8

const (
	recOK        recStatus = iota
	recEnd                 // no bytes left: a clean end
	recTruncated           // a record started but its bytes are not all there
	recCorrupt             // length out of bounds or CRC mismatch
)

// decodeRecord decodes the record at the start of b. On recOK, payload
// aliases b and n is the number of bytes the record occupies.
func decodeRecord(b []byte, maxRecord int) (payload []byte, n int, st recStatus) {
	if len(b) == 0 {
		return nil, 0, recEnd
	}
	if len(b) < recHeaderLen {
		return nil, 0, recTruncated
	}
	l := binary.LittleEndian.Uint32(b)
	if l == 0 || uint64(l) > uint64(maxRecord) {
		return nil, 0, recCorrupt
	}
	if uint64(len(b)-recHeaderLen) < uint64(l) {
		return nil, 0, recTruncated
	}
	p := b[recHeaderLen : recHeaderLen+int(l)]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, recCorrupt
	}
	return p, recHeaderLen + int(l), recOK
}

// appendRecord frames rec onto dst.
func appendRecord(dst, rec []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(rec)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(rec, castagnoli))
	return append(dst, rec...)
}

// segScan is what a whole-segment scan found.
type segScan struct {
	records int       // good records before the first problem
	goodEnd int       // offset just past the last good record
	status  recStatus // recEnd for a clean segment
}

// scanSegment walks a whole segment image (header included) from offset
// start. It always terminates: every step either consumes at least
// recHeaderLen+1 bytes or stops.
func scanSegment(data []byte, start, maxRecord int) segScan {
	if len(data) < segHeaderLen || string(data[:segHeaderLen]) != segMagic {
		return segScan{goodEnd: 0, status: recCorrupt}
	}
	if start < segHeaderLen {
		start = segHeaderLen
	}
	if start > len(data) {
		return segScan{goodEnd: len(data), status: recCorrupt}
	}
	s := segScan{goodEnd: start}
	for {
		_, n, st := decodeRecord(data[s.goodEnd:], maxRecord)
		if st != recOK {
			s.status = st
			return s
		}
		s.records++
		s.goodEnd += n
	}
}

// migrateV1 returns a format-2 image of a format-1 segment holding its good
// records from offset start on (those before were delivered). A format-1
// record is bare JSON, so its kind and community_id are read from it here:
// the one place this package parses a record, once per record spooled by
// an older version, so an upgrade loses nothing that was spooled.
func migrateV1(data []byte, start, maxRecord int) []byte {
	out := []byte(segMagic)
	if start < segHeaderLen || start > len(data) {
		start = segHeaderLen
	}
	for off := start; ; {
		p, n, st := decodeRecord(data[off:], maxRecord)
		if st != recOK {
			return out
		}
		var m struct {
			Type        string `json:"type"`
			CommunityID string `json:"community_id"`
		}
		_ = json.Unmarshal(p, &m)
		k, _ := record.ParseKind(m.Type)
		out = appendRecord(out, frame(record.Encoded{Kind: k, Key: m.CommunityID, JSON: p}))
		off += n
	}
}
