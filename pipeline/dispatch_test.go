package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/record"
)

// dispatchMix writes a short-flow capture for the dispatcher benchmark:
// DNS queries and answers, and TLS-sized TCP flows of small and full
// segments (about a third of the packets 64 bytes or less, like the short
// mix of BENCHMARKS.md).
func dispatchMix(tb testing.TB) string {
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.LinkEthernet)
	if err != nil {
		tb.Fatal(err)
	}
	w.Step = 50 * time.Microsecond
	small, full := bytes.Repeat([]byte{0x17}, 90), bytes.Repeat([]byte{0x17}, 1400)
	for i := range 3000 {
		cli := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(40000+i%20000))
		if i%4 == 0 {
			q := binary.BigEndian.AppendUint16(nil, uint16(i))
			q = append(q, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1)
			srv := netip.MustParseAddrPort("192.0.2.53:53")
			w.WriteIP(pcapgen.IPUDP(cli, srv, q))
			w.WriteIP(pcapgen.IPUDP(srv, cli, q))
			continue
		}
		srv := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 443)
		c := pcapgen.NewTCPConn(cli, srv, uint32(i), uint32(i)*7)
		segs := c.Handshake()
		segs = append(segs, c.Send(true, small)...)
		segs = append(segs, c.Send(false, full)...)
		segs = append(segs, c.Send(false, full)...)
		segs = append(segs, c.Send(true, small)...)
		segs = append(segs, c.Close(true)...)
		for _, f := range c.Packets(segs) {
			w.WriteIP(f)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "dispatch.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkDispatch measures the dispatcher alone — file read, decode, DNS
// learning, flow hash, the copy into the batches — with workers that only
// hand the batches back: the CPU the dispatcher takes from the workers on
// two cores. TAPDLP_DISPATCH_PCAP replaces the generated capture (e.g. the
// short mix of BENCHMARKS.md).
func BenchmarkDispatch(b *testing.B) {
	path := os.Getenv("TAPDLP_DISPATCH_PCAP")
	if path == "" {
		path = dispatchMix(b)
	}
	for _, n := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[n], func(b *testing.B) {
			cfg, err := parseTestConfig("")
			if err != nil {
				b.Fatal(err)
			}
			cfg.Workers = n
			p, err := New(cfg, Options{Sink: record.NewWriterSink(nopWriter{})})
			if err != nil {
				b.Fatal(err)
			}
			batches := make([][]*batch, n) // kept across iterations: the dispatcher's allocations are what is reported
			for i := range batches {
				for range p.inFlight {
					batches[i] = append(batches[i], newBatch())
				}
			}
			var packets, bytes int64
			b.ReportAllocs()
			for b.Loop() {
				workers := make([]*worker, n)
				done := make(chan struct{})
				for i := range workers {
					w := &worker{in: make(chan *batch, p.inFlight), free: make(chan *batch, p.inFlight), made: p.inFlight}
					for _, bt := range batches[i] {
						bt.reset()
						w.free <- bt
					}
					workers[i] = w
					go func() {
						for bt := range w.in {
							bt.reset()
							w.free <- bt
						}
						done <- struct{}{}
					}()
				}
				d := newDispatcher(p, workers)
				src, err := capture.OpenFile(path)
				if err != nil {
					b.Fatal(err)
				}
				if err := d.run(context.Background(), src, src.BytesRead); err != nil {
					b.Fatal(err)
				}
				packets += int64(src.Packets())
				bytes += src.BytesRead()
				src.Close()
				d.close()
				for range workers {
					<-done
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
			b.SetBytes(bytes / int64(b.N))
		})
	}
}

// TestBatchesInFlight: one core gets two batches per worker (more only wait
// in memory), several cores eight, so the dispatcher can run ahead.
func TestBatchesInFlight(t *testing.T) {
	for _, c := range []struct{ procs, want int }{{1, 2}, {2, 8}, {16, 8}} {
		prev := runtime.GOMAXPROCS(c.procs)
		cfg, err := parseTestConfig("")
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(cfg, Options{Sink: record.NewWriterSink(io.Discard)})
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		if p.inFlight != c.want {
			t.Errorf("GOMAXPROCS=%d: %d batches per worker, want %d", c.procs, p.inFlight, c.want)
		}
		if w := newWorker(0, p); cap(w.free) != c.want || len(w.free) != 1 || w.made != 1 {
			t.Errorf("GOMAXPROCS=%d: worker starts with %d of %d free batches (%d made), want 1 of %d", c.procs, len(w.free), cap(w.free), w.made, c.want)
		}
	}
}

// TestBatchesMadeOnDemand: a worker starts with one batch; the dispatcher
// makes another only when none is free, never more than inFlight, and then
// waits for the worker to hand one back.
func TestBatchesMadeOnDemand(t *testing.T) {
	p := discardPipeline(t, "", 0)
	p.inFlight = 3
	w := newWorker(0, p) // its channels hold inFlight, one batch made
	d := &dispatcher{p: p, workers: []*worker{w}, cur: []*batch{<-w.free}}

	// A worker that keeps up hands each batch back before the next send:
	// two batches, the one being filled and the one being processed.
	for range 5 {
		d.send(0)
		b := <-w.in
		b.reset()
		w.free <- b
	}
	if w.made != 2 {
		t.Fatalf("a worker that keeps up: %d batches made, want 2", w.made)
	}

	// A worker that holds everything: the dispatcher makes batches up to
	// inFlight (one current, the rest sent) and then blocks.
	held := []*batch{}
	for range p.inFlight - 1 {
		d.send(0)
		held = append(held, <-w.in)
	}
	if w.made != p.inFlight {
		t.Fatalf("a worker that holds every batch: %d made, want %d", w.made, p.inFlight)
	}
	sent := make(chan struct{})
	go func() {
		d.send(0)
		close(sent)
	}()
	held = append(held, <-w.in)
	select {
	case <-sent:
		t.Fatal("send made a batch beyond inFlight instead of waiting for a free one")
	case <-time.After(50 * time.Millisecond):
	}
	held[0].reset()
	w.free <- held[0]
	<-sent
	if w.made != p.inFlight {
		t.Fatalf("%d batches made, want %d", w.made, p.inFlight)
	}
	if d.cur[0] != held[0] {
		t.Fatal("the dispatcher did not take the batch handed back")
	}
}

// A batch header is a whole number of cache lines in a size class of its
// own, so the header the dispatcher fills and the ones the workers read
// never share a line (see batch).
func TestBatchHeaderOwnsItsCacheLines(t *testing.T) {
	if n := unsafe.Sizeof(batch{}); n != 256 {
		t.Fatalf("batch is %d bytes; keep it 256 (adjust batchFields when fields change)", n)
	}
	var bs []*batch
	for range 64 {
		bs = append(bs, newBatch())
	}
	for _, b := range bs {
		if a := uintptr(unsafe.Pointer(b)); a%64 != 0 {
			t.Fatalf("batch at %#x: not on a cache-line boundary", a)
		}
	}
}

// In a replay a tick rides in each worker's next batch, at its place among
// the packets; live it is sent at once. A sparse capture (a packet per
// millisecond: a tick per ten packets) then costs a replay a batch per
// batchTicks ticks, not a hand-off to every worker per tick.
func TestTicksRideWithPackets(t *testing.T) {
	const packets = 2000
	for _, live := range []bool{false, true} {
		p := discardPipeline(t, "", 2)
		var ws []*worker
		for i := range 2 {
			ws = append(ws, newWorker(i, p))
		}
		d := newDispatcher(p, ws)
		d.sendTicks = live
		got := make([]struct{ batches, ticks, pkts int }, len(ws))
		order := make([][]int, len(ws)) // per worker: ticks' places in its packets, in order
		done := make(chan struct{})
		for i, w := range ws {
			go func() {
				n := 0
				for b := range w.in {
					got[i].batches++
					for _, tk := range b.ticks {
						got[i].ticks++
						order[i] = append(order[i], n+tk.after)
					}
					n += len(b.pkts)
					got[i].pkts += len(b.pkts)
					b.reset()
					w.free <- b
				}
				done <- struct{}{}
			}()
		}
		for k := range packets {
			cli := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(k >> 8), byte(k)}), 40000)
			d.packet(&capture.Packet{TS: 1e18 + int64(k)*int64(time.Millisecond), Src: cli.Addr(), Dst: netip.MustParseAddr("192.0.2.1"),
				SrcPort: cli.Port(), DstPort: 53, Proto: capture.ProtoUDP, Payload: []byte("x")})
		}
		d.close()
		for range ws {
			<-done
		}
		wantTicks := packets/10 + 1 // one per 10 ms of packet time, and the shutdown
		for i, g := range got {
			if g.ticks < wantTicks-1 || g.ticks > wantTicks+1 {
				t.Fatalf("live %v worker %d: %d ticks, want every worker every tick (~%d)", live, i, g.ticks, wantTicks)
			}
			if !slices.IsSorted(order[i]) {
				t.Errorf("live %v worker %d: ticks out of place among its packets: %v", live, i, order[i])
			}
			if live && g.batches < g.ticks {
				t.Errorf("live: worker %d got %d batches for %d ticks: each tick must go at once", i, g.batches, g.ticks)
			}
			if maxBatches := g.ticks/batchTicks + g.pkts/batchPackets + packets/markEvery + 3; !live && g.batches > maxBatches {
				t.Errorf("replay: worker %d got %d batches for %d packets and %d ticks, want at most %d", i, g.batches, g.pkts, g.ticks, maxBatches)
			}
		}
	}
}
