package quic

import (
	"encoding/binary"
	"errors"
)

// Packet-level errors; sentinels so that the per-packet path does not allocate.
var (
	ErrShortHeader = errors.New("quic: long header truncated")
	ErrNotInitial  = errors.New("quic: not an Initial packet")
	ErrDecrypt     = errors.New("quic: Initial packet failed authentication")
	ErrBadFrame    = errors.New("quic: malformed frame")
)

// varint decodes a QUIC variable-length integer (RFC 9000 §16).
func varint(b []byte) (v uint64, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	n = 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0, false
	}
	v = uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n, true
}

// longType returns the packet type of a long header in v1 numbering
// (0 Initial, 1 0-RTT, 2 Handshake, 3 Retry); v2 rotated the values.
func longType(first byte, version uint32) uint8 {
	t := (first >> 4) & 3
	if version == Version2 {
		t = (t + 3) & 3 // v2: Initial 1, 0-RTT 2, Handshake 3, Retry 0
	}
	return t
}

const (
	typeInitial = 0
	typeRetry   = 3
)

// header is a parsed long header.
type header struct {
	version  uint32
	typ      uint8
	dcid     []byte
	pnOffset int // where the protected packet number starts
	end      int // end of this packet within the datagram
}

// parseLong parses the long header at the start of b. For packets other
// than Initial only the length needed to skip them is computed.
func parseLong(b []byte) (h header, err error) {
	if len(b) < 7 || b[0]&0x80 == 0 {
		return h, ErrShortHeader
	}
	h.version = binary.BigEndian.Uint32(b[1:])
	h.typ = longType(b[0], h.version)
	off := 5
	dl := int(b[off])
	off++
	if dl > 20 || off+dl+1 > len(b) {
		return h, ErrShortHeader
	}
	h.dcid = b[off : off+dl]
	off += dl
	sl := int(b[off])
	off++
	if sl > 20 || off+sl > len(b) {
		return h, ErrShortHeader
	}
	off += sl
	if h.typ == typeRetry {
		h.end = len(b) // a Retry has no length and fills the datagram
		return h, nil
	}
	if h.typ == typeInitial {
		tl, n, ok := varint(b[off:])
		if !ok || tl > uint64(len(b)) {
			return h, ErrShortHeader
		}
		off += n + int(tl)
	}
	if off > len(b) {
		return h, ErrShortHeader
	}
	pl, n, ok := varint(b[off:])
	if !ok || pl > uint64(len(b)-off-n) {
		return h, ErrShortHeader
	}
	off += n
	h.pnOffset = off
	h.end = off + int(pl)
	return h, nil
}

// decodePN expands a truncated packet number (RFC 9000 §A.3).
func decodePN(largest int64, truncated uint64, pnLen int) uint64 {
	expected := uint64(largest + 1)
	win := uint64(1) << (8 * pnLen)
	hwin, mask := win/2, win-1
	candidate := (expected &^ mask) | truncated
	switch {
	case candidate+hwin <= expected && candidate < (1<<62)-win:
		return candidate + win
	case candidate > expected+hwin && candidate >= win:
		return candidate - win
	}
	return candidate
}

// open removes header protection and decrypts the Initial packet
// pkt[:h.end-…], which the caller has copied into scratch memory: pkt is
// modified in place. It returns the plaintext payload (aliasing pkt).
func (o *opener) open(pkt []byte, h header, largest int64) (payload []byte, pn uint64, err error) {
	if h.pnOffset+4+16 > h.end {
		return nil, 0, ErrShortHeader
	}
	mask := &o.mask
	o.hp.Encrypt(mask[:], pkt[h.pnOffset+4:h.pnOffset+20])
	pkt[0] ^= mask[0] & 0x0f
	pnLen := int(pkt[0]&3) + 1
	var trunc uint64
	for i := 0; i < pnLen; i++ {
		pkt[h.pnOffset+i] ^= mask[1+i]
		trunc = trunc<<8 | uint64(pkt[h.pnOffset+i])
	}
	pn = decodePN(largest, trunc, pnLen)
	nonce := &o.nonce
	*nonce = o.iv
	for i := 0; i < 8; i++ {
		nonce[11-i] ^= byte(pn >> (8 * i))
	}
	hdrEnd := h.pnOffset + pnLen
	out, err := o.aead.Open(pkt[hdrEnd:hdrEnd], nonce[:], pkt[hdrEnd:h.end], pkt[:hdrEnd])
	if err != nil {
		return nil, 0, ErrDecrypt
	}
	return out, pn, nil
}
