// Command c2c measures what it costs this machine to move a cache line
// from one core to another: the figure that decides how much a two-core
// replay loses to the data its dispatcher hands its workers (BENCHMARKS.md,
// session 10). On a VM the two virtual CPUs may sit on cores that share a
// last-level cache or on cores that do not, and the host moves them; a
// benchmark series that does not say which it had cannot be compared with
// another.
//
// It prints, for the cores given with -a and -b (Linux only):
//
//   - pingpong: the one-way latency of a cache line written in turn by a
//     thread on each core (half a round trip), in ns;
//   - write and read: a thread on core a fills 256 KiB buffers (as the
//     dispatcher fills a batch) that a thread on core b then reads, one
//     word per line (as a worker does), over a ring of four; ns per 64-byte
//     line on each side, from its own clock, and the same work done by one
//     thread on core a alone;
//   - stream: what handing a line to the other core adds, write and read
//     together, over doing both on one core: the price of each line a
//     two-core replay moves from its dispatcher to a worker.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	a := flag.Int("a", 0, "first core")
	b := flag.Int("b", 1, "second core")
	rounds := flag.Int("n", 200000, "ping-pong round trips")
	flag.Parse()
	r, err := measure(*a, *b, *rounds)
	if err != nil {
		fmt.Fprintln(os.Stderr, "c2c:", err)
		os.Exit(1)
	}
	fmt.Println(r)
}

// result is what one measurement found.
type result struct {
	pingPong float64    // ns, one way
	stream   streamCost // core a writes, core b reads
	alone    streamCost // both on core a
}

func measure(a, b, rounds int) (result, error) {
	var r result
	var err error
	if r.pingPong, err = pingPong(a, b, rounds); err != nil {
		return r, err
	}
	if r.stream, err = stream(a, b); err != nil {
		return r, err
	}
	if r.alone, err = alone(a); err != nil {
		return r, err
	}
	runtime.KeepAlive(sink)
	return r, nil
}

// String is the line bench/scaling.py and bench/nearwatch.py parse
// ("pingpong N ns  stream X ns/line").
func (r result) String() string {
	handoff := r.stream.write + r.stream.read - r.alone.write - r.alone.read
	return fmt.Sprintf("pingpong %.0f ns  stream %.1f ns/line  write %.1f (alone %.1f)  read %.1f (alone %.1f) ns/line",
		r.pingPong, handoff, r.stream.write, r.alone.write, r.stream.read, r.alone.read)
}

// pin locks the calling goroutine to its thread and the thread to core;
// the caller unlocks (runtime.UnlockOSThread) whether or not it failed. A
// goroutine that ends locked takes its thread with it, so a helper need
// not.
func pin(core int) error {
	runtime.LockOSThread()
	var set unix.CPUSet
	set.Set(core)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pin to core %d: %w", core, err)
	}
	return nil
}

// line is a cache line of its own.
type line struct {
	_ [64]byte
	v atomic.Uint64
	_ [56]byte
}

func pingPong(a, b, n int) (float64, error) {
	// Core a first: once the helper is pinned it spins until this side
	// plays, so this side must not be able to fail after starting it.
	defer runtime.UnlockOSThread()
	if err := pin(a); err != nil {
		return 0, err
	}
	var l line
	errc := make(chan error, 1)
	go func() {
		if err := pin(b); err != nil {
			errc <- err
			return
		}
		errc <- nil
		for i := uint64(1); i <= uint64(2*n); i += 2 {
			for l.v.Load() != i {
			}
			l.v.Store(i + 1)
		}
	}()
	if err := <-errc; err != nil {
		return 0, err
	}
	start := time.Now()
	for i := uint64(0); i < uint64(2*n); i += 2 {
		l.v.Store(i + 1)
		for l.v.Load() != i+2 {
		}
	}
	return float64(time.Since(start).Nanoseconds()) / float64(2*n), nil
}

const (
	bufBytes = 256 << 10
	ring     = 4
	passes   = 400
)

// streamCost is the cost of handing buffers from a writer to a reader, in
// ns per 64-byte line for each side, each from its own clock.
type streamCost struct{ write, read float64 }

const lines = passes * bufBytes / 64

// stream hands a ring of buffers from a thread on core a (which fills
// them) to a thread on core b (which reads one word of each line), as the
// dispatcher hands batches to a worker.
func stream(a, b int) (streamCost, error) {
	defer runtime.UnlockOSThread()
	if err := pin(a); err != nil { // before the helper, as in pingPong
		return streamCost{}, err
	}
	bufs := newRing()
	var full [ring]line // 1: written, waiting for the reader
	errc := make(chan error, 1)
	readc := make(chan time.Duration, 1)
	go func() {
		if err := pin(b); err != nil {
			errc <- err
			return
		}
		errc <- nil
		var spent time.Duration
		for p := 0; p < passes; p++ {
			i := p % ring
			for full[i].v.Load() != 1 {
			}
			start := time.Now()
			sink += readBuf(bufs[i])
			spent += time.Since(start)
			full[i].v.Store(0)
		}
		readc <- spent
	}()
	if err := <-errc; err != nil {
		return streamCost{}, err
	}
	var spent time.Duration
	for p := 0; p < passes; p++ {
		i := p % ring
		for full[i].v.Load() != 0 {
		}
		start := time.Now()
		writeBuf(bufs[i], p)
		spent += time.Since(start)
		full[i].v.Store(1)
	}
	read := <-readc
	return streamCost{perLine(spent), perLine(read)}, nil
}

// alone is stream with both sides on core a, one after the other: the
// same work without a line changing cores.
func alone(a int) (streamCost, error) {
	defer runtime.UnlockOSThread()
	if err := pin(a); err != nil {
		return streamCost{}, err
	}
	bufs := newRing()
	var w, r time.Duration
	for p := 0; p < passes; p++ {
		buf := bufs[p%ring]
		start := time.Now()
		writeBuf(buf, p)
		mid := time.Now()
		sink += readBuf(buf)
		w, r = w+mid.Sub(start), r+time.Since(mid)
	}
	return streamCost{perLine(w), perLine(r)}, nil
}

// sink keeps the reads from being optimized away.
var sink uint64

func newRing() [ring][]uint64 {
	var bufs [ring][]uint64
	for i := range bufs {
		bufs[i] = make([]uint64, bufBytes/8)
	}
	return bufs
}

func writeBuf(buf []uint64, p int) {
	for j := range buf {
		buf[j] = uint64(p + j)
	}
}

// readBuf reads one word per line, as a parser touches a packet's lines.
func readBuf(buf []uint64) uint64 {
	var sum uint64
	for j := 0; j < len(buf); j += 8 {
		sum += buf[j]
	}
	return sum
}

func perLine(d time.Duration) float64 { return float64(d.Nanoseconds()) / lines }
