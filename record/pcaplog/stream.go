package pcaplog

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

const (
	// bufSize and buffersPerStream bound what a Stream may have queued for
	// the writer: 2 MiB (allocated as needed), enough for the largest record
	// (Snaplen) and for bursts of alerts each writing pcap_flow_bytes.
	bufSize          = 64 << 10
	buffersPerStream = 32
)

// Stream is one worker's store of frames and its sequence of pcap files.
// It is used by one goroutine.
type Stream struct {
	l          *Log
	id         int32
	st         store
	c          *counters
	afterBytes int64
	fileSize   int64

	// the current file, as this Stream has laid it out: the writer follows
	seq      uint32
	size     int64 // bytes in the file so far, header included (0: no file yet)
	link     uint16
	fileName string
	broken   atomic.Bool // set by the writer when the current file failed

	cur        []byte
	curPackets int32
	free       chan []byte
	made       int
}

// Keep stores f as the flow's next frame, or writes it straight away when
// the flow already alerted. h is the flow's slot (0: take one, returned).
func (s *Stream) Keep(h Handle, f *Frame) Handle {
	if h == 0 {
		h = s.st.open()
	}
	sl := s.st.get(h)
	if sl == nil {
		return h // evicted (or no slot): not kept from the middle
	}
	if sl.alerted {
		s.after(sl, f)
		return h
	}
	n := min(len(f.Data), Snaplen)
	switch {
	case sl.capped:
		sl.skipped++
		sl.ref.Truncated = true
		return h
	case sl.packets > 0 && f.Link != sl.link:
		sl.skipped++ // one flow, two link types: rare enough not to rotate for
		sl.ref.Truncated = true
		return h
	}
	if rem := s.st.flowBytes - sl.held; int64(n) >= rem {
		n = int(rem)
		sl.capped = true
		if n < len(f.Data) {
			sl.ref.Truncated = true
		}
	}
	if n <= 0 {
		sl.skipped++
		sl.ref.Truncated = true
		return h
	}
	i := int32(h&0xffffffff) - 1
	if !s.st.keep(i, f, n) {
		sl.skipped++
		sl.capped = true
		sl.ref.Truncated = true
		return h
	}
	if sl.packets == 0 {
		sl.link = f.Link
	}
	sl.packets++
	sl.held += int64(n)
	return h
}

// Alert writes the flow's kept frames, then pending (the frame being
// processed when the rule fired, not yet kept; nil: none), and from now on
// Keep writes its frames (up to the after-alert cap). It returns the flow's
// handle (a new one when h was stale or 0) and where its frames are; ok is
// false when there are none to point at. A later alert of the same flow
// gets the same place.
func (s *Stream) Alert(h Handle, pending *Frame) (Handle, Ref, bool) {
	return s.alert(h, pending, math.MaxInt64)
}

// AlertAt is Alert for an alert decided after the fact (the ordered stage
// runs the rules a few batches behind the worker): the flow's kept frames
// are written as by Alert, including those that arrived after the alert's
// packet time at, but on a first alert the Ref counts only the frames up to
// at, so it does not depend on how far behind the decision came.
func (s *Stream) AlertAt(h Handle, at int64) (Handle, Ref, bool) {
	return s.alert(h, nil, at)
}

func (s *Stream) alert(h Handle, pending *Frame, until int64) (Handle, Ref, bool) {
	sl := s.st.get(h)
	if sl == nil {
		evicted := h != 0
		if pending == nil {
			s.c.NoPackets.Add(1)
			return h, Ref{}, false
		}
		if h = s.st.open(); h == 0 {
			s.c.NoPackets.Add(1)
			return h, Ref{}, false
		}
		sl = s.st.get(h)
		sl.ref.Truncated = evicted
	}
	if sl.alerted {
		if pending != nil {
			s.after(sl, pending)
		}
		if sl.ref.Packets == 0 {
			s.c.NoPackets.Add(1)
			return h, Ref{}, false
		}
		s.c.Alerts.Add(1)
		return h, sl.ref, true
	}
	i := int32(h&0xffffffff) - 1
	s.st.unlist(i)
	sl.alerted = true
	s.c.OverCap.Add(uint64(sl.skipped))
	block := sl.stored
	if pending != nil {
		block += recHeaderLen + int64(min(len(pending.Data), Snaplen))
	}
	if sl.packets > 0 {
		s.prepare(sl.link, block)
	} else if pending != nil {
		s.prepare(pending.Link, block)
	}
	r := reader{s: &s.st, c: sl.head, left: sl.stored}
	var hdr [recHeaderLen]byte
	upto := 0 // frames written with a time at or before until
	for r.left > 0 {
		r.read(hdr[:])
		ts := int64(binary.LittleEndian.Uint32(hdr[0:]))*1e9 + int64(binary.LittleEndian.Uint32(hdr[4:]))
		n := int(binary.LittleEndian.Uint32(hdr[8:]))
		off, ok := s.begin(sl.link, recHeaderLen+n, false)
		if !ok {
			for n > 0 { // skip the frame
				n -= len(r.span(n))
			}
			sl.ref.Truncated = true
			continue
		}
		s.mark(sl, off)
		if ts <= until {
			upto++
		}
		s.put(hdr[:])
		for n > 0 {
			b := r.span(n)
			s.put(b)
			n -= len(b)
		}
	}
	s.st.freeChunksOf(sl)
	if pending != nil {
		s.after(sl, pending)
	}
	if sl.ref.Packets == 0 {
		s.c.NoPackets.Add(1)
		return h, Ref{}, false
	}
	s.c.Alerts.Add(1)
	ref := sl.ref
	if until != math.MaxInt64 && upto > 0 {
		ref.Packets = upto
	}
	return h, ref, true
}

// mark counts the flow's record written at off: the first one sets the
// Ref's file and offset.
func (s *Stream) mark(sl *slot, off int64) {
	if sl.ref.Packets == 0 {
		sl.ref.File, sl.ref.Offset = s.fileName, off
	}
	sl.ref.Packets++
}

// after writes a frame of an alerted flow, within the after-alert cap.
func (s *Stream) after(sl *slot, f *Frame) {
	n := min(len(f.Data), Snaplen)
	if rem := s.afterBytes - sl.after; int64(n) > rem {
		if rem <= 0 {
			s.c.OverCap.Add(1)
			return
		}
		n = int(rem)
	}
	off, ok := s.begin(f.Link, recHeaderLen+n, true)
	if !ok {
		return
	}
	sl.after += int64(n)
	s.mark(sl, off)
	var h [recHeaderLen]byte
	putRecHeader(h[:], f, n)
	s.put(h[:])
	s.put(f.Data[:n])
}

// Release forgets a flow that ended (alerted or not).
func (s *Stream) Release(h Handle) {
	if s.st.get(h) != nil {
		s.st.release(int32(h&0xffffffff) - 1)
	}
}

// NoFrame counts a packet whose frame could not be carried to the worker.
func (s *Stream) NoFrame() { s.c.NoFrame.Add(1) }

// prepare starts a new file before a block of n bytes that would carry the
// current one past the size limit, so a flow's kept frames stay together.
func (s *Stream) prepare(link uint16, n int64) {
	if s.size > fileHeaderLen && s.size+n > s.fileSize {
		s.rotate(link)
	}
}

// begin makes room for a record of n bytes in the current file, rotating
// first when the file is new, broken, of another link type or (bySize)
// would pass the size limit. It returns the record's offset in the file,
// or false, counted, when the writer's queue has no room.
func (s *Stream) begin(link uint16, n int, bySize bool) (int64, bool) {
	if s.size == 0 || s.link != link || s.broken.Load() || (bySize && s.size > fileHeaderLen && s.size+int64(n) > s.fileSize) {
		s.rotate(link)
	}
	room := (len(s.free) + buffersPerStream - s.made) * bufSize
	if s.cur != nil {
		room += cap(s.cur) - len(s.cur)
	}
	if room < n && !s.l.cfg.Block {
		s.c.Queue.Add(1)
		return 0, false
	}
	off := s.size
	s.size += int64(n)
	s.curPackets++
	return off, true
}

func (s *Stream) rotate(link uint16) {
	s.Flush()
	s.broken.Store(false)
	s.seq++
	s.size, s.link = fileHeaderLen, link
	s.fileName = filepath.Join(s.l.cfg.Dir, fileName(s.seq, s.id))
}

// put appends b to the queued bytes; begin made sure there is room.
func (s *Stream) put(b []byte) {
	for len(b) > 0 {
		if s.cur == nil || len(s.cur) == cap(s.cur) {
			s.send()
			s.cur = s.take()
		}
		n := copy(s.cur[len(s.cur):cap(s.cur)], b)
		s.cur = s.cur[:len(s.cur)+n]
		b = b[n:]
	}
}

// take returns an empty buffer: a free one, a new one while fewer than
// buffersPerStream exist, or (Config.Block) the next one the writer frees.
func (s *Stream) take() []byte {
	select {
	case b := <-s.free:
		return b[:0]
	default:
	}
	if s.made == buffersPerStream {
		return (<-s.free)[:0] // only when blocking: begin checked the room otherwise
	}
	s.made++
	return make([]byte, 0, bufSize)
}

// send queues the current buffer. The queue holds every buffer of every
// stream, so this never blocks.
func (s *Stream) send() {
	if len(s.cur) == 0 {
		return
	}
	s.l.q <- item{stream: s.id, seq: s.seq, link: s.link, packets: s.curPackets, buf: s.cur}
	s.cur, s.curPackets = nil, 0
}

// Flush hands what is queued in this Stream to the writer (a worker calls
// it after each batch, so a live capture's files lag by a batch at most).
func (s *Stream) Flush() {
	if len(s.cur) > 0 {
		s.send()
	}
}

// Close flushes and tells the writer this Stream's file is complete. The
// Stream must not be used afterwards.
func (s *Stream) Close() {
	s.Flush()
	s.l.q <- item{stream: s.id, close: true}
	s.l.closed()
}

func fileName(seq uint32, stream int32) string {
	return "alerts-" + pad(int(seq), 6) + "-w" + pad(int(stream), 2) + ".pcap"
}

func pad(n, w int) string {
	s := strconv.Itoa(n)
	for len(s) < w {
		s = "0" + s
	}
	return s
}
