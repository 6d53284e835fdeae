package sinks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/config"
)

// smallQueue makes segments small so the spool rotates them, and backoffs
// short. The memory queue holds more records than any test writes during an
// outage (at most 3000), so whether a record is dropped for queue_full
// never depends on how fast the spiller goroutine was scheduled; the spool
// is still exercised because a failed send switches the sink to spilling.
var smallQueue = QueueConfig{
	MemoryRecords:   4096,
	SegmentSize:     4 << 10,
	Backoff:         config.Duration(10 * time.Millisecond),
	MaxBackoff:      config.Duration(50 * time.Millisecond),
	ShutdownTimeout: config.Duration(300 * time.Millisecond),
}

// eventually polls cond until it holds or the deadline passes: tests wait
// for a state, never for a guessed duration.
func eventually(limit time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

func assertExactlyOnceInOrder(t *testing.T, got []string, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("received %d records, want %d", len(got), n)
	}
	for i, g := range got {
		if want := string(recN(i)); g != want {
			t.Fatalf("record %d is %q, want %q (lost, duplicated or reordered)", i, g, want)
		}
	}
}

// TestSyslogOutageExactlyOnce stops the receiver in the middle of a stream,
// keeps writing while it is down (memory spills to the spool), restarts it
// and checks every record arrived exactly once, in order.
func TestSyslogOutageExactlyOnce(t *testing.T) {
	rcv := newReceiver(t, "tcp", nil)
	r, err := build(OutputsConfig{StateDir: t.TempDir(), Sinks: []OutputConfig{syslogOutput("siem", "tcp", rcv.addr, smallQueue)}}, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	write := func(from, to int) {
		for i := from; i < to; i++ {
			if err := r.Write(enc(recN(i))); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
			if i%50 == 0 {
				time.Sleep(time.Millisecond) // a stream, not one burst
			}
		}
	}
	write(0, 1000)
	rcv.waitFor(1000, 10*time.Second)
	rcv.stop()
	start := time.Now()
	write(1000, 3000)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("writing while the receiver was down took %v: Write must not block", d)
	}
	s := r.Stats("siem")
	if !eventually(10*time.Second, func() bool { return s.Spooled.Load() > 0 }) {
		t.Fatal("nothing was spooled while the receiver was down")
	}
	rcv.start()
	write(3000, 4000)
	got := rcv.waitFor(4000, 20*time.Second)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	assertExactlyOnceInOrder(t, got, 4000)
	if s.Failed.Load() == 0 || s.Reconnects.Load() == 0 {
		t.Fatalf("failed %d reconnects %d: the outage went unnoticed", s.Failed.Load(), s.Reconnects.Load())
	}
	for r := DropReason(0); r < numDropReasons; r++ {
		if s.Dropped(r) != 0 {
			t.Fatalf("dropped %d for %s", s.Dropped(r), r)
		}
	}
	if s.Written.Load() != 4000 {
		t.Fatalf("written %d, want 4000", s.Written.Load())
	}
}

// TestSpoolSurvivesProcessRestart closes a sink whose destination is down
// (everything ends in the spool), builds a new one on the same state
// directory and checks the spooled records are delivered first, once.
func TestSpoolSurvivesProcessRestart(t *testing.T) {
	state := t.TempDir()
	rcv := newReceiver(t, "tcp", nil)
	addr := rcv.addr
	rcv.stop()
	cfg := OutputsConfig{StateDir: state, Sinks: []OutputConfig{syslogOutput("siem", "tcp", addr, smallQueue)}}
	r1, err := build(cfg, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if err := r1.Write(enc(recN(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	if s := r1.Stats("siem"); s.Spooled.Load() != 500 || s.Written.Load() != 0 {
		t.Fatalf("first run: spooled %d written %d, want 500 and 0", s.Spooled.Load(), s.Written.Load())
	}
	if segs, _ := filepath.Glob(filepath.Join(state, "spool", "siem", "*.seg")); len(segs) == 0 {
		t.Fatal("no spool segments on disk after shutdown")
	}

	rcv.start()
	r2, err := build(cfg, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	for i := 500; i < 1000; i++ {
		if err := r2.Write(enc(recN(i))); err != nil {
			t.Fatal(err)
		}
	}
	got := rcv.waitFor(1000, 20*time.Second)
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	assertExactlyOnceInOrder(t, got, 1000)
	if segs, _ := filepath.Glob(filepath.Join(state, "spool", "siem", "*.seg")); len(segs) != 0 {
		t.Fatalf("%d spool segments left after everything was delivered", len(segs))
	}
}

// TestDurableDropsOnlyWhenSpoolFull fills memory and a tiny spool while the
// destination is down: Write stays fast and every record is either
// delivered later or counted as dropped for spool_full.
func TestDurableDropsOnlyWhenSpoolFull(t *testing.T) {
	rcv := newReceiver(t, "tcp", nil)
	addr := rcv.addr
	rcv.stop()
	q := smallQueue
	q.SpoolSize = 16 << 10
	r, err := build(OutputsConfig{StateDir: t.TempDir(), Sinks: []OutputConfig{syslogOutput("siem", "tcp", addr, q)}}, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	start := time.Now()
	for i := range n {
		_ = r.Write(enc(recN(i)))
		if i%100 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Write blocked: %v for %d records", d, n)
	}
	time.Sleep(200 * time.Millisecond)
	s := r.Stats("siem")
	if s.SpoolBytes.Load() > 16<<10 {
		t.Fatalf("spool holds %d bytes, over its cap", s.SpoolBytes.Load())
	}
	rcv.start()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if s.SpoolBytes.Load() == 0 && s.QueueLen.Load() == 0 && s.Written.Load() == uint64(len(rcv.got())) {
			break
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	dropped := s.Dropped(DropSpoolFull) + s.Dropped(DropQueueFull)
	if s.Dropped(DropSpoolFull) == 0 {
		t.Fatal("no spool_full drops although the spool was far too small")
	}
	got := rcv.got()
	if uint64(len(got))+dropped != n || s.Written.Load() != uint64(len(got)) {
		t.Fatalf("received %d (written %d) + dropped %d != %d written", len(got), s.Written.Load(), dropped, n)
	}
	// What arrived is in order (drops make gaps, never reorder).
	last := -1
	for _, g := range got {
		var i int
		if _, err := fmt.Sscanf(g, `{"type":"flow","n":%d}`, &i); err != nil || i <= last {
			t.Fatalf("out of order or duplicated: %q after %d", g, last)
		}
		last = i
	}
}

// collect is a transport that keeps what it was sent.
type collect struct {
	mu   sync.Mutex
	recs []string
}

func (c *collect) send(_ context.Context, recs [][]byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range recs {
		c.recs = append(c.recs, string(r))
	}
	return len(recs), nil
}
func (c *collect) close() error { return nil }

func (c *collect) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs)
}

// TestDurableWriteAhead: with a spool, a record is in the spool file when
// Write returns, before the sender has tried it.
func TestDurableWriteAhead(t *testing.T) {
	dir := t.TempDir()
	stats := new(Stats)
	block := make(chan struct{})
	d, err := newDurable("wal", blockingTransport{block}, queueOptions{SpoolDir: dir, ShutdownTimeout: time.Millisecond}, stats)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := d.Write(enc(recN(i))); err != nil {
			t.Fatal(err)
		}
	}
	// The sender is stuck in send: every record must already be on disk.
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	var recs int
	for _, s := range segs {
		b, _ := os.ReadFile(s)
		recs += scanSegment(b, 0, 1<<20).records
	}
	if recs != 10 || stats.Spooled.Load() != 10 || stats.QueueLen.Load() != 0 {
		t.Fatalf("%d records on disk, spooled %d, queue %d; want 10, 10, 0", recs, stats.Spooled.Load(), stats.QueueLen.Load())
	}
	close(block)
	_ = d.Close()
}

type blockingTransport struct{ c chan struct{} }

func (b blockingTransport) send(ctx context.Context, recs [][]byte) (int, error) {
	select {
	case <-b.c:
	case <-ctx.Done():
	}
	return 0, ctx.Err()
}
func (blockingTransport) close() error { return nil }

// TestDurableSpoolErrorFallsBackToMemory: a spool that cannot be written
// (disk error) must not stop delivery: records go through memory instead.
func TestDurableSpoolErrorFallsBackToMemory(t *testing.T) {
	c := &collect{}
	stats := new(Stats)
	d, err := newDurable("fb", c, queueOptions{SpoolDir: t.TempDir()}, stats)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(enc(recN(0))); err != nil {
		t.Fatal(err)
	}
	d.sp.mu.Lock()
	_ = d.sp.w.Close() // the next write to the segment fails
	d.sp.mu.Unlock()
	for i := 1; i < 20; i++ {
		if err := d.Write(enc(recN(i))); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); c.n() < 20 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	_ = d.Close()
	if c.n() != 20 {
		t.Fatalf("delivered %d of 20", c.n())
	}
	for r := DropReason(0); r < numDropReasons; r++ {
		if stats.Dropped(r) != 0 {
			t.Errorf("dropped %d for %s", stats.Dropped(r), r)
		}
	}
}
