package pipeline

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/reassembly"
)

// worker owns one share of the flows: its flow table, its handler state and
// its record encoder. Nothing on its per-packet path takes a lock.
type worker struct {
	id      int
	in      chan *batch
	free    chan *batch
	table   *reassembly.Table
	h       *flowHandler
	stats   *Stats
	log     *slog.Logger
	latency LatencyObserver
	volume  bool // this worker reports the volume-record ticks (worker 0, when configured)
	// made is how many batches exist for this worker, at most
	// Pipeline.inFlight; only the dispatcher reads or changes it (see
	// dispatcher.send).
	made int
}

func newWorker(id int, p *Pipeline) *worker {
	w := &worker{
		id:      id,
		in:      make(chan *batch, p.inFlight),
		free:    make(chan *batch, p.inFlight),
		stats:   p.stats,
		log:     p.log,
		latency: p.opts.Latency,
	}
	w.free <- newBatch()
	w.made = 1
	w.h = newFlowHandler(p)
	w.h.pcap = newAlertPcap(p, id)
	w.h.refBase = uint64(id) << refWorkerShift
	w.volume = id == 0 && p.cfg.Alerts.VolumeRecords > 0
	if w.h.direct != nil { // outside a run the handler's own stage writes the alerts
		w.h.direct.pcaps = make([]*alertPcap, id+1)
		w.h.direct.pcaps[id] = w.h.pcap
	}
	w.table = reassembly.NewTable(p.tableConfig(), w.h, p.mem, p.flowStats)
	w.h.table = w.table
	return w
}

// run processes batches until in is closed. After each batch it hands the
// ordered stage what the batch emitted and its watermark. Time moves only
// by the dispatcher's clock: each packet sets it (so a flow's activity
// times do not depend on which other packets this worker saw), and flows
// expire only at the ticks every worker receives at the same events.
func (w *worker) run() {
	h := w.h
	for b := range w.in {
		h.refreshDetectors()
		h.refreshRules()
		lat := w.latency
		ti := 0
		for i := range b.pkts {
			for ti < len(b.ticks) && b.ticks[ti].after == i {
				w.tick(&b.ticks[ti], false)
				ti++
			}
			if i < len(b.ev) {
				h.ev = b.ev[i]
				if c := b.clk[i]; c > h.now {
					h.now = c
					w.table.SetClock(c)
				}
			}
			w.packet(&b.pkts[i], b.use[i])
			if lat != nil && b.stamps[i] != 0 {
				lat.Observe(float64(monoNow()-b.stamps[i]) / 1e9)
			}
		}
		for ; ti < len(b.ticks); ti++ {
			w.tick(&b.ticks[ti], b.shutdown && ti == len(b.ticks)-1)
		}
		through := b.through
		h.pcap.flush()
		b.reset()
		w.free <- b
		if h.out != nil {
			h.send(through)
		}
	}
	if h.out != nil {
		h.out <- workerOut{w: w.id, done: true}
	}
}

// tick moves the worker's clock to the tick's time: flows time out,
// running flows are re-evaluated, and worker 0 reports the volume records.
// shutdown is the end of the input: every open flow is written, in
// flow_id order, the stage's order within the phase, so the stage merges
// the workers' records as they come instead of holding every open flow's
// record at once.
func (w *worker) tick(t *tickAt, shutdown bool) {
	h := w.h
	h.ev, h.ph = t.ev, phaseTick
	h.now = max(h.now, t.now)
	w.table.Advance(t.now)
	h.sweep()
	if shutdown {
		h.ph = phaseShutdown
		w.table.FlushOrdered(reassembly.EndShutdown, flowID)
	}
	if w.volume {
		h.ph = phaseVolume
		e := h.next()
		e.kind, e.now, e.final = emitVolume, t.now, shutdown
		h.done(e)
	}
}

// packet hands one packet to the flow table. The recover is the last line of
// defence, not the plan: a bug must cost one packet, counted and logged
// (rate-limited), never the sensor.
func (w *worker) packet(p *capture.Packet, u use) {
	defer func() {
		if r := recover(); r != nil {
			if w.stats.WorkerPanics.Add(1) <= 10 {
				w.log.Error("worker recovered from panic; packet dropped",
					"worker", w.id, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			}
		}
	}()
	if p.TS > w.h.now {
		w.h.now = p.TS
	}
	// An ICMP error quoting a flow this worker owns becomes that flow's
	// reject; the error is still a packet of its own ICMP flow (on the
	// worker that owns that one, see use).
	if u != usePacket {
		w.h.ph = phaseAttach
		w.table.ICMPError(p)
		if u == useAttach {
			return
		}
	}
	w.h.ph = phasePacket
	if w.h.pcap != nil {
		w.h.pcap.packet(w.h, w.table, p) // the table's Packet, and the frame kept for alert pcaps
		return
	}
	w.table.Packet(p)
}

// Stats are the pipeline's own counters (each stage keeps its own too).
type Stats struct {
	Packets      atomic.Uint64 // frames read from the source
	Filtered     atomic.Uint64 // frames the BPF filter rejected
	WireBytes    atomic.Uint64 // frame bytes on the wire
	Records      atomic.Uint64 // flow records written (final and interim)
	Flows        atomic.Uint64 // flows ended (final records)
	WorkerPanics atomic.Uint64 // packets dropped by the worker's recover
	RecordErrors atomic.Uint64 // records the sink refused
	// OrderForced counts emissions the ordered stage applied before every
	// worker had shown it had nothing earlier, because its buffer was full
	// (a stalled worker): from then on order, and so replay determinism,
	// is not guaranteed.
	OrderForced atomic.Uint64
	// FlushWaits counts the times a worker's flush of the flows open at
	// the end of the input waited for the ordered stage to apply what it
	// had sent (shutdownHeld): the bound on the records in flight at work.
	FlushWaits atomic.Uint64
	// AnnotationResets counts the times a worker's table of interned
	// destination annotations was full and started over (costs CPU, not
	// correctness: a flow keeps the annotation it has).
	AnnotationResets atomic.Uint64
}
