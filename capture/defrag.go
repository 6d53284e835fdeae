package capture

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Defaults for DefragConfig fields left zero.
const (
	DefaultDefragMaxBytes     = 4 << 20
	DefaultDefragMaxDatagrams = 256
	DefaultDefragTimeout      = 30 * time.Second
)

// initialSpans is the span capacity a datagram starts with; datagrams in
// more pieces grow it (bounded by maxDatagram/8 disjoint spans).
const initialSpans = 64

// maxDatagram is the largest reassembled payload: IP lengths are 16 bits.
const maxDatagram = 65535

// maxSpareBuffers is how many released reassembly buffers are kept for
// reuse, so steady fragment traffic does not allocate.
const maxSpareBuffers = 4

// DefragConfig bounds IP reassembly in one Decoder. Zero values mean the
// documented default.
//
// Overlap policy: first data wins. Bytes already held are never replaced by
// a later fragment, so what is scanned is what the first copy said;
// overlaps, and overlaps whose bytes differ, are counted. Linux (IPv4 since
// 4.19, and IPv6 per RFC 5722) keeps the first copy of a fragment that lies
// entirely inside data it holds and discards the whole datagram when a
// fragment overlaps only partly: the sensor then inspects a datagram the
// host never delivers, which errs on the side of seeing too much.
//
// Limits follow Linux, which bounds fragment reassembly by memory
// (net.ipv4.ipfrag_high_thresh, 4 MiB by default) and time (ipfrag_time,
// 30 s), not by a fragment count: a datagram of 8-byte fragments, up to
// 8192 of them, is delivered, so it is reassembled here too.
type DefragConfig struct {
	MaxBytes     int           // reassembly buffer bytes held at once; default 4 MiB
	MaxDatagrams int           // datagrams in progress at once; default 256
	Timeout      time.Duration // packet time a datagram may wait for its fragments; default 30 s
	MaxFragments int           // fragments per datagram; 0 (default) means no limit, as in Linux
}

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8 // IPv4 only: part of the RFC 791 key; IPv6 keys on src, dst, id
	v6       bool
}

type span struct{ start, end int }

type datagram struct {
	key    fragKey
	first  int64 // packet time of the first fragment seen
	buf    []byte
	spans  []span // covered byte ranges, sorted and merged
	nfrags int
	total  int // payload length once the last fragment is seen, else -1
	proto  uint8
	hdrLen int // IP header bytes of the offset-0 fragment, for IPLen
	inUse  bool
}

type defragmenter struct {
	cfg       DefragConfig
	stats     *DefragStats
	slots     []datagram
	index     map[fragKey]int
	free      []int
	spare     [][]byte
	held      int // cap of every buffer owned, in use or spare
	done      int // slot completed by the last Decode, released by the next
	lastSweep int64
}

func (f *defragmenter) init(cfg DefragConfig, stats *DefragStats) {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultDefragMaxBytes
	}
	if cfg.MaxDatagrams <= 0 {
		cfg.MaxDatagrams = DefaultDefragMaxDatagrams
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultDefragTimeout
	}
	f.cfg = cfg
	f.stats = stats
	f.slots = make([]datagram, cfg.MaxDatagrams)
	f.index = make(map[fragKey]int, cfg.MaxDatagrams)
	f.free = make([]int, 0, cfg.MaxDatagrams)
	for i := cfg.MaxDatagrams - 1; i >= 0; i-- {
		f.free = append(f.free, i)
	}
	f.done = -1
}

// releaseDone frees the datagram completed by the previous Decode, whose
// buffer the previous Packet.Payload pointed into.
func (f *defragmenter) releaseDone() {
	if f.done >= 0 {
		f.release(f.done)
		f.done = -1
	}
}

func (f *defragmenter) release(i int) {
	dg := &f.slots[i]
	if !dg.inUse {
		return
	}
	delete(f.index, dg.key)
	if dg.buf != nil {
		if len(f.spare) < maxSpareBuffers {
			f.spare = append(f.spare, dg.buf[:0])
		} else {
			f.held -= cap(dg.buf)
		}
	}
	dg.buf = nil
	dg.spans = dg.spans[:0]
	dg.inUse = false
	f.free = append(f.free, i)
}

// expire drops datagrams older than the timeout.
func (f *defragmenter) expire(now int64) {
	f.lastSweep = now
	limit := int64(f.cfg.Timeout)
	for i := range f.slots {
		dg := &f.slots[i]
		if dg.inUse && i != f.done && now-dg.first > limit {
			f.stats.Timeouts.Add(1)
			f.release(i)
		}
	}
}

// evictOldest drops the datagram with the oldest first fragment, other than
// keep. It reports whether one was dropped.
func (f *defragmenter) evictOldest(keep int) bool {
	oldest := -1
	for i := range f.slots {
		dg := &f.slots[i]
		if dg.inUse && i != keep && i != f.done && (oldest < 0 || dg.first < f.slots[oldest].first) {
			oldest = i
		}
	}
	if oldest < 0 {
		return false
	}
	f.stats.Evicted.Add(1)
	f.release(oldest)
	return true
}

// grow makes dg.buf hold at least n bytes within the MaxBytes budget.
func (f *defragmenter) grow(slot, n int) bool {
	dg := &f.slots[slot]
	if cap(dg.buf) >= n {
		if len(dg.buf) < n {
			dg.buf = dg.buf[:n]
		}
		return true
	}
	// A spare buffer large enough avoids allocating.
	for i, s := range f.spare {
		if cap(s) >= n {
			nb := s[:n]
			copy(nb, dg.buf)
			f.spare[i] = f.spare[len(f.spare)-1]
			f.spare = f.spare[:len(f.spare)-1]
			f.dropBuf(dg)
			dg.buf = nb
			return true
		}
	}
	c := max(n, 2*cap(dg.buf), 2048)
	c = min(c, maxDatagram)
	for f.held-cap(dg.buf)+c > f.cfg.MaxBytes {
		if len(f.spare) > 0 {
			f.held -= cap(f.spare[len(f.spare)-1])
			f.spare = f.spare[:len(f.spare)-1]
			continue
		}
		if !f.evictOldest(slot) {
			return false
		}
	}
	nb := make([]byte, n, c)
	copy(nb, dg.buf)
	f.dropBuf(dg)
	f.held += c
	dg.buf = nb
	return true
}

// dropBuf gives up dg's current buffer after it has been replaced.
func (f *defragmenter) dropBuf(dg *datagram) {
	if dg.buf != nil {
		f.held -= cap(dg.buf)
		dg.buf = nil
	}
}

// add files one fragment. It returns Fragment when the fragment is held,
// FragmentDropped when it (or its datagram) was refused, and OK with the
// completed slot when the datagram is whole.
func (f *defragmenter) add(key fragKey, ts int64, off int, data []byte, more bool, proto uint8, hdrLen int) (int, Result) {
	if ts-f.lastSweep >= int64(time.Second) || ts < f.lastSweep {
		f.expire(ts)
	}
	end := off + len(data)
	if end > maxDatagram || (more && (len(data) == 0 || len(data)%8 != 0)) {
		f.stats.Malformed.Add(1)
		return -1, FragmentDropped
	}
	slot, ok := f.index[key]
	if !ok {
		if len(f.free) == 0 && !f.evictOldest(-1) {
			f.stats.Evicted.Add(1) // only the just-completed datagram is held
			return -1, FragmentDropped
		}
		slot = f.free[len(f.free)-1]
		f.free = f.free[:len(f.free)-1]
		dg := &f.slots[slot]
		*dg = datagram{key: key, first: ts, spans: dg.spans[:0], total: -1, inUse: true}
		if dg.spans == nil {
			dg.spans = make([]span, 0, initialSpans)
		}
		f.index[key] = slot
	}
	dg := &f.slots[slot]
	dg.nfrags++
	if f.cfg.MaxFragments > 0 && dg.nfrags > f.cfg.MaxFragments {
		f.stats.TooMany.Add(1)
		f.release(slot)
		return -1, FragmentDropped
	}
	if !more {
		last := 0
		if n := len(dg.spans); n > 0 {
			last = dg.spans[n-1].end
		}
		if (dg.total >= 0 && dg.total != end) || last > end {
			f.stats.Malformed.Add(1)
			f.release(slot)
			return -1, FragmentDropped
		}
		dg.total = end
	} else if dg.total >= 0 && end > dg.total {
		f.stats.Malformed.Add(1)
		f.release(slot)
		return -1, FragmentDropped
	}
	if !f.grow(slot, end) {
		f.stats.Evicted.Add(1)
		f.release(slot)
		return -1, FragmentDropped
	}
	if off == 0 {
		dg.proto, dg.hdrLen = proto, hdrLen
	}
	f.fill(dg, off, data)
	f.stats.Held.Add(1)
	if dg.total >= 0 && len(dg.spans) == 1 && dg.spans[0].start == 0 && dg.spans[0].end == dg.total {
		f.stats.Reassembled.Add(1)
		if f.done >= 0 && f.done != slot {
			// A datagram rebuilt inside one that was rebuilt in this same
			// Decode (fragments in a fragmented tunnel): the outer bytes
			// have been copied out already, so its buffer can go.
			f.release(f.done)
		}
		f.done = slot
		return slot, OK
	}
	return slot, Fragment
}

// fill copies the bytes of data not yet held (first data wins) and records
// the range as covered.
func (f *defragmenter) fill(dg *datagram, off int, data []byte) {
	end := off + len(data)
	pos := off
	overlap, conflict := false, false
	for _, s := range dg.spans[firstSpanEndingAfter(dg.spans, off):] {
		if s.start >= end {
			break
		}
		if s.start > pos {
			copy(dg.buf[pos:s.start], data[pos-off:s.start-off])
		}
		lo, hi := max(s.start, pos), min(s.end, end)
		overlap = true
		if string(dg.buf[lo:hi]) != string(data[lo-off:hi-off]) {
			conflict = true
		}
		pos = hi
	}
	if pos < end {
		copy(dg.buf[pos:end], data[pos-off:])
	}
	if overlap {
		f.stats.Overlaps.Add(1)
		if conflict {
			f.stats.Conflicts.Add(1)
		}
		if covered(dg.spans, off, end) {
			f.stats.Duplicates.Add(1)
		}
	}
	dg.spans = mergeSpan(dg.spans, span{off, end})
}

func covered(spans []span, start, end int) bool {
	i := firstSpanEndingAfter(spans, start)
	return i < len(spans) && spans[i].start <= start && spans[i].end >= end
}

// firstSpanEndingAfter returns the index of the first span whose end is
// beyond off (len(spans) if none): spans are sorted and disjoint, so a
// datagram in thousands of pieces costs O(log n) per fragment to place.
func firstSpanEndingAfter(spans []span, off int) int {
	lo, hi := 0, len(spans)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if spans[m].end <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// mergeSpan inserts n into the sorted, disjoint spans and merges neighbours.
// The result never holds more spans than fragments.
func mergeSpan(spans []span, n span) []span {
	i := firstSpanEndingAfter(spans, n.start-1) // spans ending at n.start merge too
	j := i
	for j < len(spans) && spans[j].start <= n.end {
		n.start = min(n.start, spans[j].start)
		n.end = max(n.end, spans[j].end)
		j++
	}
	if i == j {
		spans = append(spans, span{})
		copy(spans[i+1:], spans[i:])
		spans[i] = n
		return spans
	}
	spans[i] = n
	return append(spans[:i+1], spans[j:]...)
}

// defragIPv4 holds an IPv4 fragment and decodes the datagram once complete.
// hdr is the IP header, payload the fragment data captured, claimed the data
// length the header announced.
func (d *Decoder) defragIPv4(hdr, payload []byte, claimed int, p *Packet, depth int) Result {
	frag := binary.BigEndian.Uint16(hdr[6:8])
	if len(payload) < claimed {
		// The capture cut the fragment, so its datagram can never be
		// rebuilt. A first fragment still names the flow: report its
		// transport header as a truncated packet rather than lose it.
		if frag&0x1fff == 0 {
			d.stats.Defrag.TruncatedFirst.Add(1)
			p.Truncated = true
			return d.decodeL4(hdr[9], payload, p, depth)
		}
		d.stats.Defrag.TruncatedDropped.Add(1)
		return FragmentDropped
	}
	key := fragKey{src: p.Src, dst: p.Dst, id: uint32(binary.BigEndian.Uint16(hdr[4:6])), proto: hdr[9]}
	slot, r := d.defrag.add(key, p.TS, int(frag&0x1fff)*8, payload, frag&0x2000 != 0, hdr[9], len(hdr))
	if r != OK {
		return r
	}
	dg := &d.defrag.slots[slot]
	p.Reassembled = true
	p.IPLen = dg.hdrLen + dg.total
	return d.decodeL4(dg.proto, dg.buf[:dg.total], p, depth)
}

// defragIPv6 holds an IPv6 fragment (RFC 8200 section 4.5). hdrLen is the
// length of the IPv6 header and the unfragmentable extension headers.
func (d *Decoder) defragIPv6(nh uint8, offMF uint16, id uint32, payload []byte, hdrLen int, p *Packet, depth int) Result {
	if p.Truncated {
		if offMF&0xfff8 == 0 { // a first fragment still names the flow, as for IPv4
			d.stats.Defrag.TruncatedFirst.Add(1)
			return d.decodeIPv6Ext(nh, payload, p, depth, hdrLen, false)
		}
		d.stats.Defrag.TruncatedDropped.Add(1)
		return FragmentDropped
	}
	key := fragKey{src: p.Src, dst: p.Dst, id: id, v6: true}
	slot, r := d.defrag.add(key, p.TS, int(offMF&0xfff8), payload, offMF&0x1 != 0, nh, hdrLen)
	if r != OK {
		return r
	}
	dg := &d.defrag.slots[slot]
	p.Reassembled = true
	p.IPLen = dg.hdrLen + dg.total
	return d.decodeIPv6Ext(dg.proto, dg.buf[:dg.total], p, depth, dg.hdrLen, false)
}
