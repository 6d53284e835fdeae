package pipeline

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/tapdlp/tapdlp/appproto/demux"
	"github.com/tapdlp/tapdlp/capture"
)

// tickEvery is how often (in packet time) every worker is told the time, so
// flows expire at the same packet times whichever worker owns them and
// whether or not a packet of theirs arrives (see doc.go).
const tickEvery = int64(10 * time.Millisecond)

// markEvery is how many events may pass before every worker is sent its
// pending batch (possibly empty), so that each reports a watermark and the
// ordered stage never holds more than a few thousand packets' emissions
// waiting for an idle worker. One worker reports with every batch.
const markEvery = 4096

// dispatcher decodes frames once and sends each packet, by symmetric flow
// hash, to the worker that owns its flow. It runs on one goroutine. It
// numbers the events it dispatches — each routed packet, each tick — in
// order (ev): that number is the position of everything the event causes.
type dispatcher struct {
	p        *Pipeline
	workers  []*worker
	cur      []*batch
	dec      *capture.Decoder
	pkt      capture.Packet
	now      int64
	lastTick int64
	ev       uint64       // the last event dispatched
	lastMark uint64       // ev when every worker was last sent its batch
	filter   *frameFilter // nil: every frame
	// sendTicks: each tick goes to the workers at once (live), not with
	// their next full batch (replay).
	sendTicks bool
	sampled   uint32         // packets since the last latency stamp
	dns       *demux.Learner // DNS answers the dispatcher learns (demux.DispatcherLearnsDNS)

	// progress, read by the progress bar goroutine
	bytesDone atomic.Int64 // bytes of input consumed in earlier files + this one
	bytesBase int64
}

func newDispatcher(p *Pipeline, workers []*worker) *dispatcher {
	d := &dispatcher{
		p:       p,
		workers: workers,
		cur:     make([]*batch, len(workers)),
		dec:     capture.NewDecoder(p.decoderConfig(), p.decStats),
	}
	d.dns = demux.NewLearner(p.dest.DNS)
	for i, w := range workers {
		d.cur[i] = <-w.free
	}
	return d
}

// run reads src to its end. bytesRead reports input consumed, for progress.
func (d *dispatcher) run(ctx context.Context, src packetSource, bytesRead func() int64) error {
	var packets, wire uint64
	flushCounters := func() {
		d.p.stats.Packets.Add(packets)
		d.p.stats.WireBytes.Add(wire)
		packets, wire = 0, 0
		d.bytesDone.Store(d.bytesBase + bytesRead())
	}
	defer flushCounters()
	for {
		data, m, err := src.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		packets++
		wire += uint64(m.WireLen)
		if d.filter != nil {
			ok, err := d.filter.match(data, m)
			if err != nil {
				return err
			}
			if !ok {
				d.p.stats.Filtered.Add(1)
				continue
			}
		}
		if packets&4095 == 0 {
			flushCounters()
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if d.dec.Decode(data, m, &d.pkt) != capture.OK {
			d.clock(m.TS)
			continue
		}
		d.packet(&d.pkt)
	}
}

// packet is the dispatcher's step for one decoded packet, shared by replay
// and live capture so the two cannot drift apart: learn DNS answers in
// packet order, route the packet to its flow's worker, advance the clock.
func (d *dispatcher) packet(p *capture.Packet) {
	d.dns.Packet(p.Proto, p.SrcPort, p.Dst, p.Payload, p.TS)
	d.clock(p.TS) // a tick the packet's time makes due comes first, as the table's own expiry did
	d.route(p)
	if len(d.workers) > 1 && d.ev-d.lastMark >= markEvery {
		d.lastMark = d.ev
		for i := range d.workers {
			d.send(i)
		}
	}
}

// route appends p to its worker's batch, sending the batch when full. The
// packet is the next event; its clock is the dispatcher's (the latest
// packet time so far), which every worker's flow table uses as its own.
func (d *dispatcher) route(p *capture.Packet) {
	ev, clk := d.ev+1, max(d.now, p.TS)
	n := uint32(len(d.workers))
	wi := int(p.FlowHash() % n)
	u := usePacket
	if p.Quoted.Proto != 0 {
		// An ICMP error also goes to the worker of the flow it quotes,
		// which attaches it (see use).
		if qi := int(p.QuotedHash() % n); qi == wi {
			u = usePacketAndAttach
		} else {
			d.enqueue(qi, p, 0, useAttach, ev, clk)
		}
	}
	var stamp int64
	if d.p.opts.Latency != nil {
		if d.sampled++; d.sampled == latencySampleEvery {
			d.sampled, stamp = 0, monoNow()
		}
	}
	d.enqueue(wi, p, stamp, u, ev, clk)
	d.ev = ev
}

// enqueue appends p to worker wi's batch, sending the batch when full.
func (d *dispatcher) enqueue(wi int, p *capture.Packet, stamp int64, u use, ev uint64, clk int64) {
	b := d.cur[wi]
	if !b.fits(p) {
		d.send(wi)
		b = d.cur[wi]
	}
	b.addStamped(p, stamp, u)
	b.ev = append(b.ev, ev)
	b.clk = append(b.clk, clk)
}

// clock advances packet time and, once per tickEvery, ticks every worker:
// the tick is an event of its own, after every packet dispatched before it.
func (d *dispatcher) clock(ts int64) {
	if ts <= d.now {
		return
	}
	d.now = ts
	if d.now-d.lastTick < tickEvery {
		return
	}
	d.lastTick = d.now
	d.dec.Flush(d.now)
	d.tick(false)
}

// tick adds a tick at the current time to every worker's batch; shutdown
// marks the last one (the workers then write every open flow), sent at
// once. In a replay a tick is sent with the batch's packets; live (sendTicks)
// it is sent at once, so that a quiet link's flows still time out and
// their records go out in wall-clock time. Sending every tick in a replay
// made batches of ~50 packets out of a capture of 10k packets per second
// (one tick per 10 ms of packet time): a hand-off to another core per 50
// packets, and 1.45x from one core to two on the short-flow mix stretched
// a hundredfold, against 1.7x on the mix itself (BENCHMARKS.md, session 9).
func (d *dispatcher) tick(shutdown bool) {
	d.ev++
	all := shutdown || d.sendTicks
	if all {
		d.lastMark = d.ev
	}
	for i := range d.workers {
		b := d.cur[i]
		b.ticks = append(b.ticks, tickAt{after: len(b.pkts), ev: d.ev, now: d.now})
		b.shutdown = shutdown
		if all || len(b.ticks) == cap(b.ticks) {
			d.send(i)
		}
	}
}

// send hands worker i its current batch (possibly empty: a tick) and takes a
// free one. It blocks when the worker has every batch (batchesInFlight): back
// pressure, never unbounded buffering. Batches are made when first needed,
// not before the first packet: each is ~0.7 MB to zero and fault in, which
// with eight per worker was ~11 MB of serial start-up on two cores while the
// workers had nothing to do, and a worker that keeps up never needs them all.
func (d *dispatcher) send(i int) {
	b, w := d.cur[i], d.workers[i]
	b.through = d.ev
	w.in <- b
	select {
	case d.cur[i] = <-w.free:
	default:
		if w.made < d.p.inFlight {
			w.made++
			d.cur[i] = newBatch()
			return
		}
		d.cur[i] = <-w.free
	}
}

// close sends the last batches with the shutdown tick and stops the
// workers.
func (d *dispatcher) close() {
	d.tick(true)
	for _, w := range d.workers {
		close(w.in)
	}
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return -1
	}
	return st.Size()
}
