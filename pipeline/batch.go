package pipeline

import (
	"unsafe"

	"github.com/tapdlp/tapdlp/capture"
)

// A batch carries decoded packets from the dispatcher to one worker. Packet
// payloads are copied into buf because the decoder reuses its frame and
// defragmentation buffers; copying L4 payload only is cheaper than keeping
// whole frames and lets decoding (including tunnels and defragmentation)
// happen once, before dispatch, so the symmetric hash sees inner 5-tuples.
type batch struct {
	pkts   []capture.Packet
	stamps []int64  // monotonic read time of sampled packets (0: not sampled), parallel to pkts
	use    []use    // what the worker does with each packet, parallel to pkts
	ev     []uint64 // each packet's event number (its position), parallel to pkts
	clk    []int64  // the dispatcher's clock at each packet, parallel to pkts
	buf    []byte
	// ticks are the clock ticks among the packets, in order (see tickAt).
	ticks []tickAt
	// through is the last event dispatched when the batch was sent: the
	// worker has everything up to it once the batch is processed.
	through uint64
	// now is a live reader's watermark when it hands the batch to the
	// merger (live.go).
	now int64
	// shutdown says the batch's last tick is the end of the input.
	shutdown bool

	// The dispatcher writes the slice headers above with every packet it
	// adds, and a worker reads those of the batch it works on with every
	// packet it takes. Batch headers are allocated one after another, so
	// unpadded (176 bytes) the end of one shared a cache line with the
	// start of the next, and the two cores took that line from each other
	// for every packet. Padded to 256 bytes, a size class whose objects
	// start on cache-line boundaries, each batch has lines of its own
	// (TestBatchHeaderOwnsItsCacheLines). BENCHMARKS.md, session 9.
	_ [256 - batchFields]byte
}

// batchFields is the size of batch's fields, without the padding.
const batchFields = 7*unsafe.Sizeof([]byte(nil)) + 2*8 + 8

// tickAt is a clock tick in a batch: event ev at packet time now, after the
// batch's first after packets. A batch carries up to batchTicks of them, so
// that in a replay ticks ride with the packets instead of each sending
// every worker its batch (see dispatcher.tick).
type tickAt struct {
	after int
	ev    uint64
	now   int64
}

// batchTicks bounds the ticks a batch carries: with one tick per 10 ms of
// packet time, a batch is sent after at most 320 ms of it.
const batchTicks = 32

const (
	// batchPackets: each batch is a hand-off between goroutines, and with
	// more goroutines than cores (dispatcher, workers, ordered stage) every
	// hand-off risks a core idling while the goroutine it woke waits for
	// one. 512 instead of 256: 2-core wall on the short-flow mix 0.96 →
	// 0.87 s and 0.855 → 0.83 s in two series, no difference in a third
	// (BENCHMARKS.md, par5). Records do not depend on it (the DNS cache
	// answers as of each worker's clock, however far ahead the dispatcher
	// learns).
	batchPackets = 512
	batchBytes   = 512 << 10 // holds at least one maximal (defragmented) datagram
)

// batchesInFlight is how many batches each worker has, in flight or free:
// what bounds the dispatcher's memory and how far it may run ahead of a
// worker on another core. On one core (GOMAXPROCS=1) nothing runs beside
// the dispatcher, which fills every batch before a worker gets the core, so
// batches beyond two only cost memory and cache: short-flow mix on one
// core 61 → 53 MiB peak RSS and 0.77 → 0.74 CPU-s with two instead of
// eight (BENCHMARKS.md, session 7).
func batchesInFlight(procs int) int {
	if procs == 1 {
		return 2
	}
	return 8
}

// use says what a worker does with a batched packet. An ICMP error that
// quotes a flow goes to two workers when the flow and the ICMP flow hash to
// different ones: the quoted flow's owner attaches it (useAttach), the ICMP
// flow's owner accounts it as a packet of the ICMP flow (usePacket). Each
// step happens on exactly one worker, so records do not depend on the
// number of workers.
type use uint8

const (
	usePacket          use = iota // a packet of its flow
	useAttach                     // only attach the ICMP error to the flow it quotes
	usePacketAndAttach            // both, on the same worker
)

func newBatch() *batch {
	return &batch{pkts: make([]capture.Packet, 0, batchPackets), stamps: make([]int64, 0, batchPackets),
		use: make([]use, 0, batchPackets), buf: make([]byte, 0, batchBytes),
		ev: make([]uint64, 0, batchPackets), clk: make([]int64, 0, batchPackets), ticks: make([]tickAt, 0, batchTicks)}
}

// fits reports whether p (its payload, and its frame when the decoder kept
// frames for alert pcaps) can be added.
func (b *batch) fits(p *capture.Packet) bool {
	return len(b.pkts) < cap(b.pkts) && len(b.buf)+len(p.Payload)+len(p.Frame) <= cap(b.buf)
}

// add copies p (and its payload) into the batch. The caller checked fits.
func (b *batch) add(p *capture.Packet) { b.addStamped(p, 0, usePacket) }

// addStamped is add with the packet's monotonic read time when it is
// sampled for the latency histogram (0: not sampled).
func (b *batch) addStamped(p *capture.Packet, stamp int64, u use) {
	b.stamps = append(b.stamps, stamp)
	b.use = append(b.use, u)
	b.pkts = append(b.pkts, *p)
	q := &b.pkts[len(b.pkts)-1]
	start := len(b.buf)
	if p.Frame != nil {
		b.buf = append(b.buf, p.Frame...)
		q.Frame = b.buf[start:len(b.buf):len(b.buf)]
		if off, ok := within(p.Frame, p.Payload); ok {
			// The payload is part of the frame (not defragmented): point
			// into the copy rather than copy it twice.
			q.Payload = q.Frame[off : off+len(p.Payload) : off+len(p.Payload)]
			return
		}
		start = len(b.buf)
	}
	b.buf = append(b.buf, p.Payload...)
	q.Payload = b.buf[start:len(b.buf):len(b.buf)]
}

// within returns the offset of sub in b when sub is a non-empty part of
// b's memory.
func within(b, sub []byte) (int, bool) {
	if len(sub) == 0 || len(sub) > len(b) {
		return 0, false
	}
	off := uintptr(unsafe.Pointer(unsafe.SliceData(sub))) - uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if off > uintptr(len(b)-len(sub)) {
		return 0, false
	}
	return int(off), true
}

func (b *batch) reset() {
	b.pkts = b.pkts[:0]
	b.stamps = b.stamps[:0]
	b.use = b.use[:0]
	b.buf = b.buf[:0]
	b.ev = b.ev[:0]
	b.clk = b.clk[:0]
	b.ticks = b.ticks[:0]
	b.through, b.now, b.shutdown = 0, 0, false
}
