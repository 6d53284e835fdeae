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

// tickEvery is how often (in packet time) idle workers are told the time, so
// their flows expire even when no packet of theirs arrives.
const tickEvery = int64(time.Second)

// dispatcher decodes frames once and sends each packet, by symmetric flow
// hash, to the worker that owns its flow. It runs on one goroutine.
type dispatcher struct {
	p          *Pipeline
	workers    []*worker
	cur        []*batch
	dec        *capture.Decoder
	pkt        capture.Packet
	now        int64
	lastTick   int64
	filter     *frameFilter   // nil: every frame
	sampled    uint32         // packets since the last latency stamp
	lastVolume int64          // packet time of the last volume records
	dns        *demux.Learner // DNS answers the dispatcher learns (demux.DispatcherLearnsDNS)
	enc        recordEncoder  // volume records

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
	d.route(p)
	d.clock(p.TS)
}

// route appends p to its worker's batch, sending the batch when full.
func (d *dispatcher) route(p *capture.Packet) {
	n := uint32(len(d.workers))
	wi := int(p.FlowHash() % n)
	u := usePacket
	if p.Quoted.Proto != 0 {
		// An ICMP error also goes to the worker of the flow it quotes,
		// which attaches it (see use).
		if qi := int(p.QuotedHash() % n); qi == wi {
			u = usePacketAndAttach
		} else {
			d.enqueue(qi, p, 0, useAttach)
		}
	}
	var stamp int64
	if d.p.opts.Latency != nil {
		if d.sampled++; d.sampled == latencySampleEvery {
			d.sampled, stamp = 0, monoNow()
		}
	}
	d.enqueue(wi, p, stamp, u)
}

// enqueue appends p to worker wi's batch, sending the batch when full.
func (d *dispatcher) enqueue(wi int, p *capture.Packet, stamp int64, u use) {
	b := d.cur[wi]
	if !b.fits(p) {
		d.send(wi)
		b = d.cur[wi]
	}
	b.addStamped(p, stamp, u)
}

// clock advances packet time and ticks every worker once per tickEvery.
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
	d.volumeRecords()
	for i := range d.workers {
		d.send(i)
	}
}

// volumeRecords writes the periodic {"type":"volume"} records when
// alerts.volume_records is set: bytes out per key over the last interval
// with the key's baseline, for dashboards. Workers count volume a few
// batches behind the dispatcher, so a window's newest bytes may land in the
// next one.
func (d *dispatcher) volumeRecords() {
	every := int64(d.p.cfg.Alerts.VolumeRecords.D())
	if every <= 0 {
		return
	}
	if d.lastVolume == 0 {
		d.lastVolume = d.now
		return
	}
	if d.now-d.lastVolume < every {
		return
	}
	d.lastVolume = d.now
	for _, v := range d.p.swap.rules.Load().Volume().Records(d.now, time.Duration(every)) {
		d.p.writeRecord(&d.enc, &v)
	}
}

// finalVolume writes the last window's volume records once every worker
// has finished, so the end of a capture is reported completely.
func (d *dispatcher) finalVolume() {
	if d.p.cfg.Alerts.VolumeRecords > 0 && d.lastVolume != 0 && d.now > d.lastVolume {
		d.lastVolume = d.now - int64(d.p.cfg.Alerts.VolumeRecords.D()) // due now
		d.volumeRecords()
	}
}

// send hands worker i its current batch (possibly empty: a tick) and takes a
// free one. It blocks when the worker is batchesPerWorker behind: back
// pressure, never unbounded buffering.
func (d *dispatcher) send(i int) {
	b := d.cur[i]
	b.now = d.now
	d.workers[i].in <- b
	d.cur[i] = <-d.workers[i].free
}

// close flushes partial batches and stops the workers.
func (d *dispatcher) close() {
	for i, w := range d.workers {
		if len(d.cur[i].pkts) > 0 {
			d.send(i)
		}
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
