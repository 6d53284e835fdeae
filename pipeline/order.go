package pipeline

import (
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/rules"
)

// The ordered stage: everything that one worker cannot decide alone —
// whether a destination is seen for the first time, the rules (whose
// thresholds, volume counts and de-duplication are shared by every flow),
// the periodic volume records — is decided here, on one goroutine, in an
// order that does not depend on the number of workers or on how the
// scheduler ran them. See doc.go for the contract.

// phase orders what happens at one event (a packet or a tick).
type phase uint8

const (
	phaseAttach   phase = iota // an ICMP error attached to the flow it quotes
	phasePacket                // the packet itself, in its own flow
	phaseTick                  // a clock tick: timeouts, interim records, re-evaluation
	phaseShutdown              // the end of the input: every open flow
	phaseVolume                // volume records, after everything else at the tick
)

// emitKind is what the ordered stage does with an emission.
type emitKind uint8

const (
	emitRecord emitKind = iota // write the flow record (final or interim), then its new alerts
	emitEval                   // a running flow changed: write only its new alerts
	emitVolume                 // the volume records due at a tick
	// emitFirstSeen: a running flow changed but no rule can fire on it
	// (rules.Engine.MayFire) and the rules count no volume: only its
	// first-seen question is answered, at the evaluation's place, so every
	// later answer is the one a full evaluation would have left. No record.
	emitFirstSeen
)

// emission is one worker output, with its position: the event that caused
// it (ev), the phase of that event, then the flow (record's flow_id, a
// deterministic hash of the 5-tuple and start) and the worker's sequence
// number, which orders one flow's emissions (a flow lives on one worker).
type emission struct {
	ev    uint64
	ph    phase
	seq   uint64
	kind  emitKind
	final bool         // the flow's last record: its state in the stage is dropped
	fid   string       // the flow's flow_id (its record's), "" for volume records
	ref   uint64       // the flow's state in the stage; 0: none (flows without a session)
	now   int64        // packet time of the evaluation (the record's ts)
	rec   *record.Flow // owned by the emission (a deep copy)
	fs    firstSeenQuery
	cost  int64 // bytes it holds while buffered
}

// firstSeenQuery is what destinations.FirstSeen.Seen needs, decided by the
// worker's annotation (destinations.FirstSeenKey).
type firstSeenQuery struct {
	track  bool
	key    string
	server netip.Addr
	at     int64
}

func (a *emission) less(b *emission) bool {
	if a.ev != b.ev {
		return a.ev < b.ev
	}
	if a.ph != b.ph {
		return a.ph < b.ph
	}
	if a.fid != b.fid {
		return a.fid < b.fid
	}
	return a.seq < b.seq
}

func cmpEmission(a, b emission) int {
	switch {
	case a.less(&b):
		return -1
	case b.less(&a):
		return 1
	}
	return 0
}

// emissionCost estimates the bytes an emission holds: the record, its
// findings and a share for strings and parser structures.
func emissionCost(e *emission) int64 {
	n := int64(unsafe.Sizeof(*e)) + 512
	if r := e.rec; r != nil {
		n += int64(unsafe.Sizeof(*r)) + int64(len(r.Sensitive))*int64(unsafe.Sizeof(record.Finding{})+64)
	}
	return n
}

// workerOut is what a worker sends the stage after each batch: what the
// batch emitted and the event up to which (inclusive) it has processed
// everything the dispatcher had sent it.
type workerOut struct {
	w       int
	ems     []emission
	through uint64
	done    bool // the worker stopped: it will send nothing more
}

// defaultOrderBuffer bounds the emissions the stage holds while a worker's
// watermark lags. Dispatcher marks (markEvery) keep the lag to a few
// thousand packets, so reaching it means a worker is stalled; the oldest
// emissions are then handled without waiting (counted in OrderForced).
const defaultOrderBuffer = 64 << 20

// orderStage merges the workers' emissions by position and applies them.
type orderStage struct {
	p     *Pipeline
	in    chan workerOut
	wm    []uint64     // per worker: its watermark
	q     [][]emission // per worker: received, not yet applied, from pos on
	pos   []int
	ndone int
	held  int64 // bytes buffered in q
	max   int64

	spare   []chan []emission // per worker: emptied slices it may reuse
	flows   map[uint64]*orderFlow
	free    []*orderFlow
	scratch orderFlow // for emissions without a flow state

	pcaps    []*alertPcap // per worker (ref>>refWorkerShift): alert pcaps; nil when off
	enc      recordEncoder
	rscratch rules.Scratch // every evaluation's working facts

	// toWriter: a flow record without alerts goes to the writer to be
	// encoded (Pipeline.writeFlow); set in a run, not for a handler's own
	// stage outside one (tests read its records as soon as it returns).
	toWriter bool

	lastVolume int64 // packet time of the last volume records
	forced     *atomic.Uint64
	finished   chan struct{}
}

// orderFlow is what the stage keeps per running flow: the rules' state and
// the first-seen decision, from the flow's first emission to its last.
type orderFlow struct {
	rules  rules.FlowState
	alerts []string // rules fired over the flow's life (record.Flow.Alerts)
	fsDone bool
	fsKey  string
	fsVal  bool
}

func newOrderStage(p *Pipeline, workers int) *orderStage {
	o := &orderStage{
		p:        p,
		in:       make(chan workerOut, max(workers, 1)*(batchesPerWorker+2)),
		wm:       make([]uint64, workers),
		q:        make([][]emission, workers),
		pos:      make([]int, workers),
		max:      defaultOrderBuffer,
		flows:    make(map[uint64]*orderFlow),
		forced:   &p.stats.OrderForced,
		finished: make(chan struct{}),
		spare:    make([]chan []emission, workers),
	}
	for i := range o.spare {
		o.spare[i] = make(chan []emission, 4)
	}
	return o
}

// run applies emissions until every worker is done.
func (o *orderStage) run() {
	defer close(o.finished)
	for o.ndone < len(o.wm) {
		o.take(<-o.in)
		for more := true; more; {
			select {
			case m := <-o.in:
				o.take(m)
			default:
				more = false
			}
		}
		o.release()
	}
	o.release()
}

// wait blocks until run has applied everything.
func (o *orderStage) wait() { <-o.finished }

func (o *orderStage) take(m workerOut) {
	for i := range m.ems {
		e := &m.ems[i]
		e.cost = emissionCost(e)
		o.held += e.cost
	}
	if q, p := o.q[m.w], o.pos[m.w]; p > 1024 && p > len(q)/2 { // drop the applied prefix
		n := copy(q, q[p:])
		clear(q[n:])
		o.q[m.w], o.pos[m.w] = q[:n], 0
	}
	o.q[m.w] = append(o.q[m.w], m.ems...)
	if m.ems != nil {
		clear(m.ems)
		select {
		case o.spare[m.w] <- m.ems[:0]: // back to the worker, to fill again
		default:
		}
	}
	if m.done {
		o.wm[m.w] = ^uint64(0)
		o.ndone++
	} else if m.through > o.wm[m.w] {
		o.wm[m.w] = m.through
	}
}

// release applies buffered emissions in position order: every worker's
// stream is sorted (its sends are, and the shutdown flush goes in flow_id
// order), so the smallest head among the workers' queues is next as soon
// as every worker with an empty queue has a watermark at or past its event
// (it can send nothing smaller). When the buffer is over its bound the
// smallest head goes anyway (counted), so a stalled worker cannot make the
// stage grow without bound or stop.
func (o *orderStage) release() {
	for {
		best := -1
		for w := range o.q {
			if o.pos[w] < len(o.q[w]) && (best < 0 || o.q[w][o.pos[w]].less(&o.q[best][o.pos[best]])) {
				best = w
			}
		}
		if best < 0 {
			return
		}
		e := &o.q[best][o.pos[best]]
		for w := range o.q {
			if o.pos[w] == len(o.q[w]) && o.wm[w] < e.ev {
				if o.held <= o.max {
					return
				}
				o.forced.Add(1)
				break
			}
		}
		o.held -= e.cost
		o.one(e)
		*e = emission{}
		if o.pos[best]++; o.pos[best] == len(o.q[best]) {
			o.q[best], o.pos[best] = o.q[best][:0], 0 // reuse the array
		}
	}
}

// one applies one emission: first-seen, rules, then the records.
func (o *orderStage) one(e *emission) {
	if e.kind == emitVolume {
		o.volumeRecords(e.now, e.final)
		return
	}
	st := o.state(e.ref)
	if e.kind == emitFirstSeen {
		st.firstSeen(o.p, &e.fs)
		return
	}
	rec := e.rec
	if e.fs.track {
		rec.Dst.FirstSeen = st.firstSeen(o.p, &e.fs)
	}
	rec.Alerts = st.alerts
	alerts := o.p.swap.rules.Load().EvalWith(&o.rscratch, &st.rules, rec, e.now)
	st.alerts = rec.Alerts
	pc := o.pcapOf(e.ref)
	pc.alerted(e.ref, e.now, alerts) // alert pcaps: write the flow's packets, name them
	if e.kind == emitRecord && len(alerts) == 0 && o.toWriter {
		o.p.writeFlow(rec) // the writer encodes and releases it
	} else {
		if e.kind == emitRecord {
			o.p.writeRecord(&o.enc, rec)
		}
		for i := range alerts {
			o.p.writeRecord(&o.enc, &alerts[i])
		}
		releaseFlow(rec)
	}
	e.rec = nil
	if e.final && e.ref != 0 {
		pc.release(e.ref)
		delete(o.flows, e.ref)
		st.reset()
		if len(o.free) < maxFreeSessions {
			o.free = append(o.free, st)
		}
	}
}

// state returns the stage's state of the flow with state id ref, created
// on its first emission; for ref 0 (no session) a fresh scratch state.
func (o *orderStage) state(ref uint64) *orderFlow {
	if ref == 0 {
		o.scratch.reset()
		return &o.scratch
	}
	st := o.flows[ref]
	if st == nil {
		if n := len(o.free); n > 0 {
			st, o.free = o.free[n-1], o.free[:n-1]
		} else {
			st = new(orderFlow)
		}
		o.flows[ref] = st
	}
	return st
}

// firstSeen answers q for the flow: asked once per key (the flow's later
// emissions with the same key get the same answer).
func (st *orderFlow) firstSeen(p *Pipeline, q *firstSeenQuery) bool {
	if !q.track {
		return false
	}
	if !st.fsDone || st.fsKey != q.key {
		st.fsVal = p.dest.FirstSeen.Seen(q.key, q.server, q.at)
		st.fsDone, st.fsKey = true, q.key
	}
	return st.fsVal
}

// pcapOf is the alert pcap part of the worker that owns the flow with
// state ref (nil when alert pcaps are off).
func (o *orderStage) pcapOf(ref uint64) *alertPcap {
	if w := ref >> refWorkerShift; ref != 0 && w < uint64(len(o.pcaps)) {
		return o.pcaps[w]
	}
	return nil
}

func (st *orderFlow) reset() {
	st.rules.Reset()
	st.alerts = nil
	st.fsDone, st.fsKey, st.fsVal = false, "", false
}

// volumeRecords writes the periodic {"type":"volume"} records when
// alerts.volume_records is set: bytes out per key over the last interval
// with the key's baseline, for dashboards. It runs at a tick's position,
// after every evaluation before it, so a window holds exactly the bytes
// evaluated up to then. final (the end of the input) writes the last,
// partial window once.
func (o *orderStage) volumeRecords(now int64, final bool) {
	every := int64(o.p.cfg.Alerts.VolumeRecords.D())
	if every <= 0 {
		return
	}
	if o.lastVolume == 0 {
		o.lastVolume = now
		return
	}
	if final {
		if now <= o.lastVolume {
			return
		}
		o.lastVolume = now - every // due now
	}
	if now-o.lastVolume < every {
		return
	}
	o.lastVolume = now
	for _, v := range o.p.swap.rules.Load().Volume().Records(now, time.Duration(every)) {
		o.p.writeRecord(&o.enc, &v)
	}
}
