package tls

import (
	"bytes"
	"hash/maphash"
	"sync/atomic"
)

// JA4Memo remembers the JA4 fingerprints of recent hellos, so a hello that
// offers what an earlier one offered costs its (sorted) lists and a hash
// lookup instead of two SHA-256 sums and the hex spelling of its lists:
// measured, that was 40 % of a TLS flow's application-layer work, and real
// traffic carries a handful of client stacks, each sending the same
// fingerprint flow after flow.
//
// The key is everything JA4 is computed from (section a, the sorted cipher
// and extension lists without GREASE, the signature algorithms in wire
// order), compared byte for byte: a hit returns exactly what AppendJA4
// would. It is direct-mapped (the newest wins a slot), keyed with a
// per-memo random seed so traffic cannot aim collisions at one slot, and
// owned by one goroutine (a worker): no locking. Bound: ja4MemoSlots keys
// of at most maxJA4Key bytes each (hellos with longer lists are computed
// every time and not kept), about 40 KiB. Replaced entries are counted in
// the counter given to Init.
type JA4Memo struct {
	seed    maphash.Seed
	slots   [ja4MemoSlots]ja4Entry
	evicted *atomic.Uint64
	ready   bool
}

type ja4Entry struct {
	key []byte // see memoKey; nil while the slot is empty
	ja4 string
}

const (
	ja4MemoSlots = 64  // a power of two
	maxJA4Key    = 512 // bytes of key: 240 list entries, beyond any real hello
)

// Init seeds the memo and sets the counter its evictions are added to (nil:
// not counted). A zero JA4Memo seeds itself on first use.
func (m *JA4Memo) Init(evicted *atomic.Uint64) {
	m.seed, m.evicted, m.ready = maphash.MakeSeed(), evicted, true
}

// JA4 returns the hello's JA4 fingerprint (as AppendJA4 spells it), the
// string made for an identical hello before when it is still remembered.
func (m *JA4Memo) JA4(h *ClientHello, transport byte) string {
	if !m.ready {
		m.Init(m.evicted)
	}
	var s ja4Scratch
	ciphers, exts, nExt := h.ja4Lists(&s)
	key := h.memoKey(s.text[:0], transport, ciphers, exts, nExt)
	if len(key) > maxJA4Key {
		var b [JA4Len]byte
		return string(h.appendJA4Sorted(b[:0], transport, &s, ciphers, exts, nExt))
	}
	e := &m.slots[maphash.Bytes(m.seed, key)&(ja4MemoSlots-1)]
	if e.key != nil && bytes.Equal(e.key, key) {
		return e.ja4
	}
	if e.key != nil && m.evicted != nil {
		m.evicted.Add(1)
	}
	e.key = append(e.key[:0], key...)
	// The key lives in s.text: spell the fingerprint from the lists again.
	var b [JA4Len]byte
	e.ja4 = string(h.appendJA4Sorted(b[:0], transport, &s, ciphers, exts, nExt))
	return e.ja4
}

// memoKey appends the inputs of the hello's JA4 to dst: section a, then
// each list with its length in front (so no two different inputs spell the
// same key), two bytes per value.
func (h *ClientHello) memoKey(dst []byte, transport byte, ciphers, exts []uint16, nExt int) []byte {
	dst = h.appendJA4a(dst, transport, len(ciphers), nExt)
	dst = appendU16s(dst, ciphers)
	dst = appendU16s(dst, exts)
	n := len(dst)
	dst = append(dst, 0, 0)
	sig := 0
	for _, v := range h.SignatureAlgorithms {
		if !IsGREASE(v) {
			dst = append(dst, byte(v>>8), byte(v))
			sig++
		}
	}
	dst[n], dst[n+1] = byte(sig>>8), byte(sig)
	return dst
}

func appendU16s(dst []byte, vs []uint16) []byte {
	dst = append(dst, byte(len(vs)>>8), byte(len(vs)))
	for _, v := range vs {
		dst = append(dst, byte(v>>8), byte(v))
	}
	return dst
}
