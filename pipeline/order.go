package pipeline

import (
	"cmp"
	"net/netip"
	"strings"
	"sync"
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
	// (rules.Engine.MayFire), or none that has not fired for it
	// (rules.Engine.Holding), and the rules count no volume: only its
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

// cmpEmission is less as a three-way comparison, each key compared once
// (at the end of the input every emission has the same event and phase,
// and two less calls compared each pair of flow ids twice).
func cmpEmission(a, b emission) int {
	if c := cmp.Compare(a.ev, b.ev); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ph, b.ph); c != 0 {
		return c
	}
	if c := strings.Compare(a.fid, b.fid); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
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
	q     []orderQueue // per worker: received, not yet applied
	ndone int
	held  int64 // bytes buffered in q
	max   int64

	spare   []chan []emission // per worker: applied slices it may fill again
	credits []stageCredit     // per worker: what it sent and the stage has not applied
	slots   []orderSlots      // per worker: the running flows' states, by slot (see refPool)
	refs    []*refPool        // per worker: slots whose flows ended (nil outside a run: own)
	own     refPool           // outside a run: the one handler's
	scratch orderFlow         // for emissions without a flow state

	pcaps    []*alertPcap // per worker (ref>>refWorkerShift): alert pcaps; nil when off
	enc      recordEncoder
	boxes    boxCache       // the records it releases (releaseFlow)
	rscratch rules.Scratch  // every evaluation's working facts
	alerts   []record.Alert // every evaluation's alerts, written before the next

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
		in:       make(chan workerOut, max(workers, 1)*(p.inFlight+2)),
		wm:       make([]uint64, workers),
		q:        make([]orderQueue, workers),
		max:      defaultOrderBuffer,
		refs:     make([]*refPool, workers),
		forced:   &p.stats.OrderForced,
		finished: make(chan struct{}),
		spare:    make([]chan []emission, workers),
		credits:  make([]stageCredit, workers),
	}
	for i := range o.spare {
		o.spare[i] = make(chan []emission, spareSlices)
		o.refs[i] = new(refPool)
		o.credits[i].wake, o.credits[i].waits = make(chan struct{}, 1), &p.stats.FlushWaits
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

// orderQueue is what the stage holds of one worker's stream: the slices
// the worker sent, in order, applied from chunks[0][pos] on. The slices
// themselves are queued, not their emissions copied into one growing
// queue (an emission is ~130 B, and 100k open flows flushed at the end of
// the input are 100k of them), and each goes back to its worker once
// applied.
type orderQueue struct {
	chunks [][]emission
	pos    int
}

// spareSlices is how many applied emission slices wait for their worker
// to fill them again: about the batches in flight between a worker and
// the stage.
const spareSlices = 16

// head returns the worker's next emission, nil when none is queued.
func (q *orderQueue) head() *emission {
	if len(q.chunks) == 0 {
		return nil
	}
	return &q.chunks[0][q.pos]
}

// pop drops the head (applied and cleared) and returns the slice it
// emptied, if it did.
func (q *orderQueue) pop() []emission {
	q.pos++
	if c := q.chunks[0]; q.pos == len(c) {
		n := copy(q.chunks, q.chunks[1:])
		q.chunks[n] = nil
		q.chunks, q.pos = q.chunks[:n], 0
		return c
	}
	return nil
}

// shutdownHeld bounds the emissions of one worker's end-of-input flush
// that the stage has received and not applied. The stage merges the
// workers' flushes in flow_id order, so a worker that flushes faster than
// another gets ahead, and the stage held what it sent: ~3,000 records
// (2 KB copies) on the short mix with two workers, ~6,000 on the open-flow
// mix, against ~1,000 at most during the replay. A worker over the bound
// waits until the stage has applied some; it cannot wait forever, since
// what it waits on is queued in the stage, where the merge reaches it.
const shutdownHeld = 512

// stageCredit counts what one worker has sent the stage and the stage has
// not applied yet.
type stageCredit struct {
	held  atomic.Int64
	wake  chan struct{}  // a token when the stage applied some (capacity 1)
	waits *atomic.Uint64 // Stats.FlushWaits
	_     [64 - 24]byte  // the worker and the stage each write it: alone in its line
}

// sent counts n emissions handed to the stage and, when wait is set (the
// flush), blocks while more than shutdownHeld are there.
func (c *stageCredit) sent(n int, wait bool) {
	held := c.held.Add(int64(n))
	if wait && held > shutdownHeld {
		c.waits.Add(1)
		for held > shutdownHeld {
			<-c.wake
			held = c.held.Load()
		}
	}
}

// applied counts n emissions applied and wakes the worker if it waits.
func (c *stageCredit) applied(n int) {
	c.held.Add(-int64(n))
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (o *orderStage) take(m workerOut) {
	for i := range m.ems {
		e := &m.ems[i]
		e.cost = emissionCost(e)
		o.held += e.cost
	}
	if len(m.ems) > 0 {
		o.q[m.w].chunks = append(o.q[m.w].chunks, m.ems)
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
		var e *emission
		for w := range o.q {
			if h := o.q[w].head(); h != nil && (e == nil || h.less(e)) {
				best, e = w, h
			}
		}
		if best < 0 {
			return
		}
		for w := range o.q {
			if len(o.q[w].chunks) == 0 && o.wm[w] < e.ev {
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
		if done := o.q[best].pop(); done != nil && best < len(o.spare) {
			o.credits[best].applied(len(done))
			select {
			case o.spare[best] <- done[:0]: // back to the worker, to fill again
			default:
			}
		}
	}
}

// one applies one emission: first-seen, rules, then the records.
func (o *orderStage) one(e *emission) {
	if e.kind == emitVolume {
		o.volumeRecords(e.now, e.final)
		return
	}
	st := o.state(e.ref, !e.final)
	if e.kind == emitFirstSeen {
		st.firstSeen(o.p, &e.fs)
		return
	}
	rec := e.rec
	if e.fs.track {
		rec.Dst.FirstSeen = st.firstSeen(o.p, &e.fs)
	}
	rec.Alerts = st.alerts
	alerts := o.p.swap.rules.Load().EvalAppend(&o.rscratch, &st.rules, rec, e.now, o.alerts[:0])
	st.alerts = rec.Alerts
	pc := o.pcapOf(e.ref)
	pc.alerted(e.ref, e.now, alerts) // alert pcaps: write the flow's packets, name them
	if e.kind == emitRecord && len(alerts) == 0 && len(rec.Alerts) == 0 && o.toWriter {
		// The writer encodes and releases it. Not a record that names
		// the flow's earlier alerts: rec.Alerts is the slot's array,
		// cleared for the slot's next flow (reset).
		o.p.writeFlow(rec)
	} else {
		if e.kind == emitRecord {
			o.p.writeRecord(&o.enc, rec)
		}
		for i := range alerts {
			o.p.writeRecord(&o.enc, &alerts[i])
		}
		clear(alerts) // written: keep the array, not what the alerts point to
		releaseFlow(&o.boxes, rec)
	}
	o.alerts = alerts[:0]
	e.rec = nil
	if e.final && e.ref != 0 {
		pc.release(e.ref)
		st.reset() // the slot's, kept for its next flow, or the scratch
		o.refPool(e.ref >> refWorkerShift).put(uint32(e.ref & refSlotMask))
	}
}

// state returns the stage's state of the flow with state id ref (zero on
// the flow's first emission: a slot's state is reset when its flow's final
// record is applied). A fresh scratch state stands for it when ref is 0
// (no session), and when the slot has none and create is false: a flow
// whose only emission is its final record (a SYN, a scan) needs no state
// beyond the call.
func (o *orderStage) state(ref uint64, create bool) *orderFlow {
	if ref != 0 {
		w := ref >> refWorkerShift
		for uint64(len(o.slots)) <= w {
			o.slots = append(o.slots, orderSlots{})
		}
		if st := o.slots[w].at(ref&refSlotMask, create); st != nil {
			return st
		}
	}
	o.scratch.reset()
	return &o.scratch
}

// refPool returns where the stage gives worker w's slots back.
func (o *orderStage) refPool(w uint64) *refPool {
	if w < uint64(len(o.refs)) {
		return o.refs[w]
	}
	return &o.own
}

// orderSlots holds one worker's flow states by slot, in pages allocated
// on first use. A flow's state id (its session's ref) is the worker's
// index and a slot; the worker reuses a slot only after the stage has
// applied its flow's final record and given it back (refPool), so a slot
// holds one flow at a time, and the states are looked up by index instead
// of in a map (a map of 100k open flows' states cost 4 % of the CPU in
// lookups and an allocation per flow). The pages of pointers grow to the
// most slots in use at once: the worker's sessions (bounded by its flow
// table) and the final records in flight to the stage, 8 bytes each; a
// state is allocated for a slot the first time one of its flows is
// evaluated before its final record (charged to that flow:
// stageFlowBytes), and stays with the slot for its next flows. Flows
// that only ever emit their final record (a SYN flood's: ~370k sessions at
// once) cost the page entry only.
type orderSlots struct {
	pages [][]*orderFlow
}

// slotPage is the number of slots in a page (2 KB).
const slotPage = 256

// at returns slot's state, allocated when create; nil when it has none
// and !create.
func (t *orderSlots) at(slot uint64, create bool) *orderFlow {
	p := slot / slotPage
	if uint64(len(t.pages)) <= p || t.pages[p] == nil {
		if !create {
			return nil
		}
		for uint64(len(t.pages)) <= p {
			t.pages = append(t.pages, nil)
		}
		t.pages[p] = make([]*orderFlow, slotPage)
	}
	st := t.pages[p][slot%slotPage]
	if st == nil && create {
		st = new(orderFlow)
		t.pages[p][slot%slotPage] = st
	}
	return st
}

// refPool hands the slots of ended flows from the stage back to the
// worker that owns them (see orderSlots): the stage puts each slot once its
// flow's final record is applied; the worker takes them all at once when
// its own list runs out.
type refPool struct {
	mu   sync.Mutex
	free []uint32
}

func (r *refPool) put(slot uint32) {
	r.mu.Lock()
	r.free = append(r.free, slot)
	r.mu.Unlock()
}

// take swaps the given-back slots with own (emptied) and returns them.
func (r *refPool) take(own []uint32) []uint32 {
	r.mu.Lock()
	out := r.free
	r.free = own[:0]
	r.mu.Unlock()
	return out
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
	clear(st.alerts)
	st.alerts = st.alerts[:0] // the records that showed them are written
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
