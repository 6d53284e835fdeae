// Package pcaplog is the alert pcap store and writer, like Suricata's
// pcap-log in alert mode or Arkime's session pcaps: each worker's Stream
// keeps the first bytes of every flow's raw frames in a preallocated arena
// (bounded per flow and per worker, oldest flows evicted and counted), and
// when a rule alerts on a flow it writes that flow's kept frames, then up to
// a cap of the frames that follow, to rotating pcap files under one
// directory. One goroutine (the Log's) does the file writing, fed by a
// bounded queue the workers never wait on: what does not fit is dropped and
// counted. A Stream is used by one goroutine; its frames land in files of
// its own (alerts-SEQ-wWORKER.pcap), so what a worker writes depends only on
// the packets it saw and a replay writes the same bytes every time.
//
// The files hold raw traffic, payload included: the directory is created
// mode 0700 and the files 0600. Nothing from the frames goes anywhere else;
// an alert is told only the file, the offset and counts (Ref).
package pcaplog

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// Snaplen is the snapshot length of the files written: a longer frame is
// written cut to it (its original length kept).
const Snaplen = 262144

const (
	fileHeaderLen = 24
	recHeaderLen  = 16
	// chunkSize is the arena's allocation unit. Small, because most flows
	// are a handshake and a few packets (a chunk of 512 bytes holds three
	// Ethernet TCP handshake frames), and a flow's unused tail is wasted.
	chunkSize = 512
)

// Frame is one captured frame as a Stream is given it. Data is only read
// during the call.
type Frame struct {
	TS   int64  // packet time, Unix ns
	Link uint16 // pcap link type (LINKTYPE_*)
	Wire int    // length on the wire (0: len(Data))
	Data []byte // the captured bytes, from the link layer
}

// Handle names a flow's slot in a Stream. The zero Handle is no slot; a
// Handle whose slot was evicted or released goes stale (its generation no
// longer matches), so a flow whose frames were evicted is not stored again
// from the middle.
type Handle uint64

// Ref is where an alerting flow's frames went.
type Ref struct {
	File      string // path of the pcap file
	Offset    int64  // offset of the flow's first record in File
	Packets   int    // the flow's records written when the alert fired
	Truncated bool   // not every frame of the flow up to the alert is there
}

type slot struct {
	gen        uint32
	head, tail int32 // the slot's chunks (a list through Stream.next); -1: none
	tailUsed   int32 // bytes used in the tail chunk
	held       int64 // frame bytes kept (for the per-flow bound)
	stored     int64 // bytes in chunks: record headers and frames
	packets    int32 // frames kept
	skipped    uint32
	link       uint16
	capped     bool // pcap_flow_bytes reached: nothing more is kept
	alerted    bool
	listed     bool // in the eviction list (holds chunks, not alerted)
	after      int64
	prev, next int32 // eviction list, oldest first
	ref        Ref
}

// store is a Stream's arena of frames: fixed-size chunks handed out to
// flows from a free stack, and slots for the flows, all allocated once.
type store struct {
	arena      []byte
	next       []int32 // chunk -> next chunk of its slot; -1: last
	freeChunks []int32
	slots      []slot
	freeSlots  []int32
	oldest     int32 // eviction list head (the flow that began first)
	newest     int32
	flowBytes  int64
	c          *counters
}

// chunkCost is what one chunk costs with its bookkeeping: the chunk, its
// next and free-stack entries, and a slot with its free-stack entry (a flow
// holds at least one chunk, so there are as many slots as chunks). Memory
// is divided by it, so the whole store stays within Config.Memory.
const chunkCost = chunkSize + 4 + 4 + int64(unsafe.Sizeof(slot{})) + 4

func (s *store) init(memory, flowBytes int64, c *counters) {
	n := max(int(memory/chunkCost), 1)
	s.arena = make([]byte, n*chunkSize) // untouched pages cost no memory until used
	s.next = make([]int32, n)
	s.freeChunks = make([]int32, n)
	for i := range n {
		s.freeChunks[i] = int32(n - 1 - i)
	}
	s.slots = make([]slot, n) // generation 0 is valid: nothing to touch
	s.freeSlots = make([]int32, n)
	for i := range n {
		s.freeSlots[i] = int32(n - 1 - i)
	}
	s.oldest, s.newest = -1, -1
	s.flowBytes = flowBytes
	s.c = c
}

func (s *store) get(h Handle) *slot {
	i := int64(h&0xffffffff) - 1
	if i < 0 || i >= int64(len(s.slots)) {
		return nil
	}
	sl := &s.slots[i]
	if sl.gen != uint32(h>>32) {
		return nil
	}
	return sl
}

// open takes a slot for a new flow, evicting the oldest flow when none is
// free; it returns 0 when every slot belongs to an alerted flow.
func (s *store) open() Handle {
	if len(s.freeSlots) == 0 && !s.evict(-1) {
		s.c.NoSlot.Add(1)
		return 0
	}
	i := s.freeSlots[len(s.freeSlots)-1]
	s.freeSlots = s.freeSlots[:len(s.freeSlots)-1]
	sl := &s.slots[i]
	*sl = slot{gen: sl.gen, head: -1, tail: -1, prev: -1, next: -1}
	s.c.FlowsStored.Add(1)
	return Handle(uint64(sl.gen)<<32 | uint64(i+1))
}

// release frees a slot and makes its handles stale.
func (s *store) release(i int32) {
	sl := &s.slots[i]
	s.freeChunksOf(sl)
	s.unlist(i)
	sl.gen++ // a Handle is never 0 (index+1), whatever the generation
	sl.ref = Ref{}
	s.freeSlots = append(s.freeSlots, i)
}

func (s *store) freeChunksOf(sl *slot) {
	n := 0
	for c := sl.head; c >= 0; c = s.next[c] {
		s.freeChunks = append(s.freeChunks, c)
		n++
	}
	if n > 0 {
		s.c.HeldBytes.Add(-int64(n) * chunkSize)
	}
	sl.head, sl.tail, sl.tailUsed, sl.stored = -1, -1, 0, 0
}

// evict releases the flow that began first, other than keep, and counts it.
func (s *store) evict(keep int32) bool {
	i := s.oldest
	if i == keep && i >= 0 {
		i = s.slots[i].next
	}
	if i < 0 {
		return false
	}
	s.c.Evicted.Add(1)
	s.release(i)
	return true
}

func (s *store) list(i int32) {
	sl := &s.slots[i]
	sl.listed, sl.prev, sl.next = true, s.newest, -1
	if s.newest >= 0 {
		s.slots[s.newest].next = i
	} else {
		s.oldest = i
	}
	s.newest = i
}

func (s *store) unlist(i int32) {
	sl := &s.slots[i]
	if !sl.listed {
		return
	}
	if sl.prev >= 0 {
		s.slots[sl.prev].next = sl.next
	} else {
		s.oldest = sl.next
	}
	if sl.next >= 0 {
		s.slots[sl.next].prev = sl.prev
	} else {
		s.newest = sl.prev
	}
	sl.listed, sl.prev, sl.next = false, -1, -1
}

// keep appends f (at most n bytes of it) to slot i's records, evicting
// older flows for room; it reports whether it could.
func (s *store) keep(i int32, f *Frame, n int) bool {
	sl := &s.slots[i]
	need := int64(recHeaderLen + n)
	avail := int64(0)
	if sl.tail >= 0 {
		avail = chunkSize - int64(sl.tailUsed)
	}
	if more := need - avail; more > 0 {
		chunks := int((more + chunkSize - 1) / chunkSize)
		for len(s.freeChunks) < chunks {
			if !s.evict(i) {
				return false
			}
		}
	}
	var h [recHeaderLen]byte
	putRecHeader(h[:], f, n)
	s.append(sl, h[:])
	s.append(sl, f.Data[:n])
	sl.stored += need
	if !sl.listed {
		s.list(i)
	}
	return true
}

func (s *store) append(sl *slot, b []byte) {
	for len(b) > 0 {
		if sl.tail < 0 || sl.tailUsed == chunkSize {
			c := s.freeChunks[len(s.freeChunks)-1]
			s.freeChunks = s.freeChunks[:len(s.freeChunks)-1]
			s.next[c] = -1
			if sl.tail >= 0 {
				s.next[sl.tail] = c
			} else {
				sl.head = c
			}
			sl.tail, sl.tailUsed = c, 0
			s.c.HeldBytes.Add(chunkSize)
		}
		off := int(sl.tail)*chunkSize + int(sl.tailUsed)
		n := copy(s.arena[off:int(sl.tail+1)*chunkSize], b)
		sl.tailUsed += int32(n)
		b = b[n:]
	}
}

// reader walks a slot's records in its chunks.
type reader struct {
	s    *store
	c    int32 // current chunk
	off  int   // offset in it
	left int64 // bytes left in the slot
}

func (r *reader) read(dst []byte) {
	for len(dst) > 0 {
		if r.off == chunkSize {
			r.c, r.off = r.s.next[r.c], 0
		}
		n := copy(dst, r.s.arena[int(r.c)*chunkSize+r.off:int(r.c+1)*chunkSize])
		r.off += n
		r.left -= int64(n)
		dst = dst[n:]
	}
}

// span returns up to n contiguous bytes at the reader (within one chunk).
func (r *reader) span(n int) []byte {
	if r.off == chunkSize {
		r.c, r.off = r.s.next[r.c], 0
	}
	n = min(n, chunkSize-r.off)
	b := r.s.arena[int(r.c)*chunkSize+r.off : int(r.c)*chunkSize+r.off+n]
	r.off += n
	r.left -= int64(n)
	return b
}

func putRecHeader(h []byte, f *Frame, n int) {
	wire := f.Wire
	if wire < len(f.Data) {
		wire = len(f.Data)
	}
	sec, nsec := f.TS/1e9, f.TS%1e9
	if f.TS < 0 {
		sec, nsec = 0, 0
	}
	binary.LittleEndian.PutUint32(h[0:], uint32(sec))
	binary.LittleEndian.PutUint32(h[4:], uint32(nsec))
	binary.LittleEndian.PutUint32(h[8:], uint32(n))
	binary.LittleEndian.PutUint32(h[12:], uint32(wire))
}

// counters are one Stream's (or the writer's) counts. Each Stream has its
// own, written only by its goroutine, so workers never share a cache line.
type counters struct {
	FlowsStored atomic.Uint64
	HeldBytes   atomic.Int64
	Evicted     atomic.Uint64
	NoSlot      atomic.Uint64
	Alerts      atomic.Uint64
	NoPackets   atomic.Uint64
	Packets     atomic.Uint64
	Bytes       atomic.Uint64
	Queue       atomic.Uint64
	OverCap     atomic.Uint64
	WriteErrors atomic.Uint64
	NoFrame     atomic.Uint64
	Rotated     atomic.Uint64
	Deleted     atomic.Uint64
	_           [64]byte
}
