package pipeline

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
)

// mergeHarness runs a merger over fake workers that only record the packet
// times they receive, in order.
type mergeHarness struct {
	m    *merger
	ls   *LiveStats
	mu   sync.Mutex
	got  []int64
	done sync.WaitGroup
}

func newMergeHarness(t *testing.T, readers, workers int) *mergeHarness {
	t.Helper()
	p := discardPipeline(t, "", workers)
	h := &mergeHarness{ls: new(LiveStats)}
	ws := make([]*worker, workers)
	for i := range ws {
		w := &worker{id: i, in: make(chan *batch, p.inFlight), free: make(chan *batch, p.inFlight), made: p.inFlight}
		for range p.inFlight {
			w.free <- newBatch()
		}
		ws[i] = w
		h.done.Go(func() {
			for b := range w.in {
				h.mu.Lock()
				for _, pk := range b.pkts {
					h.got = append(h.got, pk.TS)
				}
				h.mu.Unlock()
				b.reset()
				w.free <- b
			}
		})
	}
	h.m = newMerger(newDispatcher(p, ws), readers, h.ls)
	return h
}

// send hands the merger a batch from reader r with packets at the given
// times and watermark wm, as the reader's send does.
func (h *mergeHarness) send(r int, wm int64, done bool, times ...int64) {
	b := <-h.m.pools[r]
	for i, ts := range times {
		p := capture.Packet{
			TS: ts, Proto: capture.ProtoUDP,
			Src: netip.AddrFrom4([4]byte{10, 0, 0, byte(r)}), Dst: netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}),
			SrcPort: uint16(1000 + i), DstPort: 53, Payload: []byte("x"),
		}
		b.add(&p)
	}
	b.now = wm
	h.m.take(mergeMsg{r: r, b: b, done: done})
	h.m.release()
}

// finish stops every reader and returns the times the workers saw.
func (h *mergeHarness) finish() []int64 {
	h.m.release()
	h.m.d.close()
	h.done.Wait()
	return h.got
}

func TestMergerOrdersAcrossReaders(t *testing.T) {
	tests := []struct {
		name  string
		steps []struct {
			r    int
			wm   int64
			done bool
			ts   []int64
		}
		// pending is how many packets must still be held after the steps
		// (before the readers stop).
		pending int
	}{
		{
			name: "later batch waits for the other reader's watermark",
			steps: []struct {
				r    int
				wm   int64
				done bool
				ts   []int64
			}{
				{1, 30, false, []int64{20, 30}}, // a SYN-ACK seen on the second port first
				{0, 15, false, []int64{10, 15}}, // the SYN, older, arrives later
			},
			pending: 2, // 20 and 30: reader 0 may still deliver something before 20
		},
		{
			name: "idle reader's watermark releases",
			steps: []struct {
				r    int
				wm   int64
				done bool
				ts   []int64
			}{
				{0, 12, false, []int64{10, 12}},
				{1, 100, false, nil}, // idle: nothing before 100
			},
			pending: 0,
		},
		{
			name: "stopped reader never blocks",
			steps: []struct {
				r    int
				wm   int64
				done bool
				ts   []int64
			}{
				{0, 50, false, []int64{40, 50}},
				{1, 5, true, []int64{5}},
			},
			pending: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newMergeHarness(t, 2, 1) // one worker: its order is the merger's
			total := 0
			for _, s := range tt.steps {
				h.send(s.r, s.wm, s.done, s.ts...)
				total += len(s.ts)
			}
			pending := 0
			for r, q := range h.m.q {
				for i, b := range q {
					pending += len(b.pkts)
					if i == 0 {
						pending -= h.m.pos[r]
					}
				}
			}
			if pending != tt.pending {
				t.Errorf("%d packets held, want %d", pending, tt.pending)
			}
			for r := range h.m.done {
				if !h.m.done[r] {
					h.m.take(mergeMsg{r: r, b: <-h.m.pools[r], done: true})
				}
			}
			got := h.finish()
			if len(got) != total {
				t.Fatalf("workers got %d packets, want %d", len(got), total)
			}
			for i := 1; i < len(got); i++ {
				if got[i] < got[i-1] {
					t.Fatalf("released out of order: %v", got)
				}
			}
			if n := h.ls.LatePackets.Load(); n != 0 {
				t.Errorf("%d late packets, want 0", n)
			}
		})
	}
}

// TestMergerReleaseOrder checks the exact order in which the merger hands
// packets to the dispatcher, with one worker so nothing reorders after it.
func TestMergerReleaseOrder(t *testing.T) {
	h := newMergeHarness(t, 3, 1)
	h.send(2, 35, false, 31, 35)
	h.send(1, 33, false, 20, 33)
	h.send(0, 25, false, 10, 25)
	h.send(0, 40, false, 39)
	h.send(1, 60, false)
	h.send(2, 60, true, 50)
	h.send(0, 70, true)
	h.send(1, 70, true)
	got := h.finish()
	want := []int64{10, 20, 25, 31, 33, 35, 39, 50}
	if len(got) != len(want) {
		t.Fatalf("released %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("released %v, want %v", got, want)
		}
	}
	if n := h.ls.LatePackets.Load(); n != 0 {
		t.Errorf("%d late packets, want 0", n)
	}
}

// TestMergerCountsLate checks that a packet older than what was already
// released is still delivered, and counted.
func TestMergerCountsLate(t *testing.T) {
	h := newMergeHarness(t, 2, 1)
	h.send(0, 100, false, 100)
	h.send(1, 200, false, 200) // releases 100 (reader 0's watermark is 100 < 200: 200 held)
	h.send(0, 300, false, 50)  // reader 0 breaks its own promise: 50 < 100
	h.send(0, 300, true)
	h.send(1, 300, true)
	got := h.finish()
	if len(got) != 3 {
		t.Fatalf("released %v, want 3 packets", got)
	}
	if n := h.ls.LatePackets.Load(); n != 1 {
		t.Errorf("%d late packets, want 1", n)
	}
}

// BenchmarkMerger measures the merge and routing of two readers' batches
// (interleaved packet times, 1400-byte payloads) into two workers.
func BenchmarkMerger(b *testing.B) {
	p := discardPipeline(b, "", 2)
	ws := make([]*worker, 2)
	var wg sync.WaitGroup
	for i := range ws {
		w := &worker{id: i, in: make(chan *batch, p.inFlight), free: make(chan *batch, p.inFlight), made: p.inFlight}
		for range p.inFlight {
			w.free <- newBatch()
		}
		ws[i] = w
		wg.Go(func() {
			for bt := range w.in {
				bt.reset()
				w.free <- bt
			}
		})
	}
	ls := new(LiveStats)
	m := newMerger(newDispatcher(p, ws), 2, ls)
	payload := make([]byte, 1400)
	var ts int64
	fill := func(r int) {
		bt := <-m.pools[r]
		for i := range batchPackets {
			ts += 1000
			pk := capture.Packet{
				TS: ts, Proto: capture.ProtoTCP, Src: netip.AddrFrom4([4]byte{10, 0, 0, byte(r)}),
				Dst: netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}), SrcPort: 40000, DstPort: 443, Payload: payload,
			}
			bt.add(&pk)
		}
		bt.now = ts
		m.take(mergeMsg{r: r, b: bt})
	}
	b.ReportAllocs()
	b.SetBytes(batchPackets * int64(len(payload)))
	b.ResetTimer()
	for i := range b.N {
		fill(i & 1)
		m.release()
	}
	b.StopTimer()
	m.take(mergeMsg{r: 0, b: <-m.pools[0], done: true})
	m.take(mergeMsg{r: 1, b: <-m.pools[1], done: true})
	m.release()
	m.d.close()
	wg.Wait()
	if ls.LatePackets.Load() != 0 {
		b.Fatalf("%d late packets", ls.LatePackets.Load())
	}
}
