package sinks

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Environment of the child process run by TestKillNineLosesNothing.
const (
	crashEnvMode = "TAPDLP_SINK_CRASH_MODE" // write or drain
	crashEnvDir  = "TAPDLP_SINK_CRASH_DIR"
	crashEnvAddr = "TAPDLP_SINK_CRASH_ADDR"
	crashEnvBase = "TAPDLP_SINK_CRASH_BASE"
	crashBatch   = 25 // records per send, as in the outage the issue describes
)

// TestCrashChild is the sensor side of TestKillNineLosesNothing, run in a
// child process: in write mode it writes numbered records to a syslog sink
// with a spool and prints each number once Write accepted it, until it is
// killed; in drain mode it opens the same spool and closes the sink, which
// delivers what the spool holds.
func TestCrashChild(t *testing.T) {
	mode := os.Getenv(crashEnvMode)
	if mode == "" {
		t.Skip("child of TestKillNineLosesNothing")
	}
	stats := new(Stats)
	tr := newSyslogTransport(syslogOptions{Network: "tcp", Address: os.Getenv(crashEnvAddr),
		Hostname: "sensor", ProcID: "1", DialTimeout: 200 * time.Millisecond, WriteTimeout: time.Second, Stats: stats})
	d, err := newDurable("crash", tr, queueOptions{SpoolDir: os.Getenv(crashEnvDir), SegmentBytes: 8 << 10,
		BatchRecords: crashBatch, Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		ShutdownTimeout: 20 * time.Second}, stats)
	if err != nil {
		t.Fatal(err)
	}
	if mode == "drain" {
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	base, _ := strconv.Atoi(os.Getenv(crashEnvBase))
	for i := base; ; i++ {
		if err := d.Write(enc(recN(i))); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		// One write(2) per accepted record: the parent sees exactly the
		// records Write returned nil for, whenever the kill lands.
		fmt.Fprintf(os.Stdout, "ack %d\n", i)
		if i%20 == 0 {
			time.Sleep(200 * time.Microsecond)
		}
	}
}

// TestKillNineLosesNothing kills a sensor writing to a syslog sink with
// SIGKILL at random instants, with the receiver down (records waiting for
// a retry, the case the issue reports) or up (records in flight), then
// restarts it: every record Write accepted must reach the receiver. The
// guarantee is at-least-once: a batch that was delivered but not yet
// committed when the process died is delivered again, so duplicates are
// bounded by one batch per kill, and nothing is lost.
func TestKillNineLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	rounds := 8
	if s := os.Getenv("TAPDLP_CRASH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	rcv := newReceiver(t, "tcp", nil)
	addr := rcv.addr
	up := true
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	acked := map[int]bool{}
	base := 0
	kills := 0
	for round := range rounds {
		wantUp := rng.IntN(3) != 0 // mostly up: records in flight when the kill lands
		if round%2 == 0 {
			wantUp = false // and every other round down: the retried batch
		}
		switch {
		case wantUp && !up:
			rcv.start()
		case !wantUp && up:
			rcv.stop()
		}
		up = wantUp
		n := runCrashChild(t, "write", dir, addr, base, time.Duration(20+rng.IntN(250))*time.Millisecond, acked)
		kills++
		t.Logf("round %d: receiver up %v, %d records accepted before SIGKILL", round, up, n)
		base += n + 1000 // numbers of this round never collide with the next
	}
	if !up {
		rcv.start()
	}
	// One more crash while delivering the backlog, then a clean drain.
	runCrashChild(t, "drain", dir, addr, 0, time.Duration(rng.IntN(30))*time.Millisecond, nil)
	kills++
	runCrashChild(t, "drain", dir, addr, 0, 0, nil)

	got := map[int]int{}
	dups := 0
	for _, m := range rcv.got() {
		var i int
		if _, err := fmt.Sscanf(m, `{"type":"flow","n":%d}`, &i); err != nil {
			t.Fatalf("unexpected message %q", m)
		}
		if got[i]++; got[i] > 1 {
			dups++
		}
	}
	lost := 0
	for i := range acked {
		if got[i] == 0 {
			lost++
			if lost <= 5 {
				t.Errorf("record %d was accepted by Write and never delivered", i)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d accepted records lost", lost, len(acked))
	}
	if dups > kills*crashBatch {
		t.Errorf("%d duplicates after %d kills: more than one batch per kill", dups, kills)
	}
	if len(acked) < rounds {
		t.Fatalf("only %d records accepted in %d rounds: the test did not exercise anything", len(acked), rounds)
	}
	t.Logf("%d records accepted over %d kills, all delivered; %d delivered twice", len(acked), kills, dups)
}

// runCrashChild runs TestCrashChild. With killAfter > 0 the child is
// killed with SIGKILL that long after its first accepted record (write
// mode) or after it started (drain mode); otherwise it must exit cleanly.
// Accepted record numbers are added to acked; it returns how many.
func runCrashChild(t *testing.T, mode, dir, addr string, base int, killAfter time.Duration, acked map[int]bool) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), crashEnvMode+"="+mode, crashEnvDir+"="+dir, crashEnvAddr+"="+addr, crashEnvBase+"="+strconv.Itoa(base))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := 0
	first := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		once := false
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				i, _ := strconv.Atoi(v)
				acked[i] = true
				n++
				if !once {
					once = true
					close(first)
				}
			}
		}
	}()
	if killAfter > 0 || mode == "write" {
		if mode == "write" {
			select {
			case <-first:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("child accepted nothing: %s", stderr.String())
			}
		}
		time.Sleep(killAfter)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		_ = cmd.Wait()
		return n
	}
	<-done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s child: %v\n%s", mode, err, stderr.String())
	}
	return n
}
