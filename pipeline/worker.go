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
}

func newWorker(id int, p *Pipeline) *worker {
	w := &worker{
		id:      id,
		in:      make(chan *batch, batchesPerWorker),
		free:    make(chan *batch, batchesPerWorker),
		stats:   p.stats,
		log:     p.log,
		latency: p.opts.Latency,
	}
	for range batchesPerWorker {
		w.free <- newBatch()
	}
	w.h = newFlowHandler(p)
	w.h.pcap = newAlertPcap(p, id)
	w.table = reassembly.NewTable(p.tableConfig(), w.h, p.mem, p.flowStats)
	w.h.table = w.table
	return w
}

// run processes batches until in is closed, then writes out every open flow.
func (w *worker) run() {
	for b := range w.in {
		w.h.refreshDetectors()
		lat := w.latency
		for i := range b.pkts {
			w.packet(&b.pkts[i], b.use[i])
			if lat != nil && b.stamps[i] != 0 {
				lat.Observe(float64(monoNow()-b.stamps[i]) / 1e9)
			}
		}
		if b.now > w.h.now {
			w.h.now = b.now
			w.table.Advance(b.now)
		}
		w.h.sweep()
		w.h.pcap.flush()
		b.reset()
		w.free <- b
	}
	w.table.Flush(reassembly.EndShutdown)
	w.h.pcap.close()
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
		w.table.ICMPError(p)
		if u == useAttach {
			return
		}
	}
	if w.h.pcap != nil {
		w.h.pcap.packet(w.table, p) // the table's Packet, and the frame kept for alert pcaps
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
}
