package sinks

import (
	"fmt"
	"path/filepath"
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
