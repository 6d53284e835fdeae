package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/rules"
)

// volumeStateFile is where volume baselines persist under state_dir.
const volumeStateFile = "volume.state"

// BuildRules compiles the configured policies: inline `rules:`, the rules
// directory, extra rule files or directories (`rules test`), and (unless
// disabled) the embedded default pack. Volume baselines are loaded from
// state_dir when one is configured.
func BuildRules(cfg *config.Config, extra ...string) (*rules.Engine, error) {
	return buildRules(cfg, extra, nil)
}

// buildRules compiles the rules; with a running engine (a reload) its
// de-duplication and volume state carry over instead of being loaded.
func buildRules(cfg *config.Config, extra []string, running *rules.Engine) (*rules.Engine, error) {
	var all []rules.Rule
	if cfg.Rules.Kind != 0 {
		rs, err := rules.ParseNode(cfg.RulesFile(), &cfg.Rules)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	if cfg.RulesDir != "" {
		rs, err := rules.LoadDir(cfg.RulesDir)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	for _, path := range extra {
		var rs []rules.Rule
		var err error
		if st, serr := os.Stat(path); serr == nil && st.IsDir() {
			rs, err = rules.LoadDir(path)
		} else {
			rs, err = rules.LoadFile(path)
		}
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	opts := rules.Options{
		DisableDefaults: !cfg.Alerts.DefaultRules,
		DedupWindow:     cfg.Alerts.DedupWindow.D(),
		TrackVolume:     cfg.Alerts.VolumeRecords > 0,
	}
	if opts.DedupWindow == 0 {
		opts.DedupWindow = -1 // 0 in the config means "off"; the engine reads 0 as its default
	}
	if running != nil {
		opts.Dedup, opts.Volume = running.Dedup(), running.Volume()
	} else if cfg.StateDir != "" {
		vol := rules.NewVolume(rules.VolumeOptions{})
		if err := vol.Load(filepath.Join(cfg.StateDir, volumeStateFile)); err != nil {
			return nil, fmt.Errorf("volume baselines: %w", err)
		}
		opts.Volume = vol
	}
	return rules.Compile(all, opts)
}

// saveState persists what must survive a restart.
func (p *Pipeline) saveState() error {
	if p.cfg.StateDir == "" {
		return nil
	}
	if err := os.MkdirAll(p.cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	var errs []error
	if err := p.dest.FirstSeen.Save(); err != nil {
		errs = append(errs, fmt.Errorf("first-seen state: %w", err))
	}
	if err := p.swap.rules.Load().Volume().Save(filepath.Join(p.cfg.StateDir, volumeStateFile)); err != nil {
		errs = append(errs, fmt.Errorf("volume baselines: %w", err))
	}
	return errors.Join(errs...)
}

// submitEval hands the ordered stage a copy of rec (the flow's current
// record) to evaluate, and to write when kind is emitRecord. The rules run
// there, in position order (order.go), because thresholds, volume and
// de-duplication are shared by the flows of every worker.
func (h *flowHandler) submitEval(s *session, f *reassembly.Flow, kind emitKind, rec *record.Flow, fs firstSeenQuery, now int64, final bool) {
	e := h.next()
	e.kind, e.final, e.now, e.rec, e.fs, e.fid = kind, final, now, cloneFlow(&h.boxes, rec), fs, rec.FlowID
	h.staged(e, s, f)
	h.done(e)
}

// submitFirstSeen stands for submitEval when the evaluation of a running
// flow can have no effect but answering its first-seen question (see
// emitFirstSeen): the stage gets no record, and when the flow's destination
// is not tracked, nothing at all.
func (h *flowHandler) submitFirstSeen(s *session, f *reassembly.Flow, rec *record.Flow, fs firstSeenQuery, now int64) {
	if !fs.track {
		h.staged(nil, s, f)
		return
	}
	e := h.next()
	e.kind, e.now, e.fs, e.fid = emitFirstSeen, now, fs, rec.FlowID
	h.staged(e, s, f)
	h.done(e)
}

// staged notes in s (nil: none) an evaluation of f, to be emitted as e
// (nil: nothing emitted).
func (h *flowHandler) staged(e *emission, s *session, f *reassembly.Flow) {
	if s != nil {
		s.lastEvalOut = f.Bytes[reassembly.DirOut]
		final := false
		if e != nil {
			e.ref, final = s.ref, e.final
		}
		if !final && !s.staged {
			s.staged = true
			s.charge(stageFlowBytes) // the stage keeps the flow's rules state until its final record
		}
	}
}

// next returns a new emission, stamped with the current position, for the
// caller to fill and pass to done. Outside a run (direct) it is scratch.
func (h *flowHandler) next() *emission {
	if h.ph == phaseShutdown && len(h.emits) >= emitChunk && h.out != nil {
		h.send(h.through) // stream the end of the input (no new watermark)
	}
	var e *emission
	if h.direct != nil {
		h.scratch = emission{}
		e = &h.scratch
	} else {
		h.emits = append(h.emits, emission{})
		e = &h.emits[len(h.emits)-1]
	}
	e.ev, e.ph, e.seq = h.ev, h.ph, h.seq
	h.seq++
	return e
}

// done completes an emission from next: queued for the stage, or applied
// at once outside a run.
func (h *flowHandler) done(e *emission) {
	if h.direct != nil {
		h.direct.one(e)
	}
}

// emitChunk is how many emissions of the shutdown flush a worker holds
// before it sends them on: with 256, ~7000 records (each a 2 KB copy, see
// flowBox) were in flight at the end of the short mix; with 64, fewer, for
// 500 more channel messages per 32k flows. What the stage holds of them is
// bounded by shutdownHeld.
const emitChunk = 64

// send hands the stage what was emitted since the last send, in position
// order (each worker's stream is sorted: the stage merges the streams),
// with the watermark through.
func (h *flowHandler) send(through uint64) {
	ems := h.takeEmissions()
	if !slices.IsSortedFunc(ems, cmpEmission) {
		slices.SortStableFunc(ems, cmpEmission)
	}
	h.out <- workerOut{w: h.wid, ems: ems, through: through}
	h.through = through
	if h.credit != nil && len(ems) > 0 {
		h.credit.sent(len(ems), h.ph == phaseShutdown)
	}
}

// takeEmissions returns the emissions queued since the last call (nil:
// none) and starts a new slice, reusing one the stage gave back.
func (h *flowHandler) takeEmissions() []emission {
	e := h.emits
	if len(e) == 0 {
		return nil
	}
	h.emits = nil
	if h.spare != nil {
		select {
		case h.emits = <-h.spare:
		default:
		}
	}
	if h.emits == nil {
		// None given back yet: one slice the size of the last batch's
		// instead of growing from empty (measured 4% of the CPU on 100k
		// open flows, each emitting at its name).
		h.emits = make([]emission, 0, len(e))
	}
	return e
}

// refWorkerShift places the worker's index in the high bits of its flow
// state ids (refs), so the stage knows which worker owns a flow; the low
// bits are the flow's slot (refSlotMask, see orderSlots).
const (
	refWorkerShift = 40
	refSlotMask    = 1<<refWorkerShift - 1
)

// newRef returns a flow state id unique across the flows in progress of
// every worker: a slot the stage gave back (refPool), or a new one.
func (h *flowHandler) newRef() uint64 {
	if len(h.freeRefs) == 0 {
		h.freeRefs = h.refPool().take(h.freeRefs)
	}
	if n := len(h.freeRefs); n > 0 {
		slot := h.freeRefs[n-1]
		h.freeRefs = h.freeRefs[:n-1]
		return h.refBase | uint64(slot)
	}
	h.nextRef++ // slot 0 is never used: ref 0 means "no state"
	return h.refBase | h.nextRef
}

// refPool is where the stage gives this worker's slots back.
func (h *flowHandler) refPool() *refPool {
	if h.direct != nil {
		return &h.direct.own
	}
	return h.refs
}

// changed evaluates a running flow right away because its record changed
// materially (a name or a detection): an alert must not wait for the flow to
// end, nor for the end of a batch. ts is the packet time of the change.
func (h *flowHandler) changed(s *session, ts int64) {
	if s.flow == nil {
		return
	}
	h.evalLive(s, ts)
}

// sweep re-evaluates running flows whose outgoing byte count moved since
// their last evaluation, so byte thresholds fire while a transfer runs
// (within alerts.reevaluate_every of packet time).
func (h *flowHandler) sweep() {
	every := int64(h.p.cfg.Alerts.ReevaluateEvery.D())
	if every <= 0 || h.now-h.lastSweep < every {
		return
	}
	h.lastSweep = h.now
	if h.table == nil {
		return
	}
	h.table.Each(func(f *reassembly.Flow) {
		if s := sessionOf(f); s != nil && f.Bytes[reassembly.DirOut] != s.lastEvalOut {
			h.evalLive(s, h.now)
		}
	})
}

// liveOutcome is what a live evaluation sent the ordered stage.
type liveOutcome uint8

const (
	liveSent         liveOutcome = iota // the record, to evaluate
	liveNothingHolds                    // the first-seen question: no rule's conditions hold
	liveAllFired                        // the first-seen question: the rules that hold fired before
)

// Test hooks: testHeldOff makes evalLive forget content.held (every
// evaluation on which a rule holds is sent, as before it was kept);
// testLiveEval is told each live evaluation's outcome. Set only while no
// pipeline runs.
var (
	testHeldOff  bool
	testLiveEval func(liveOutcome)
)

func (h *flowHandler) evalLive(s *session, at int64) {
	// The record is the handler's scratch, not a heap object per
	// evaluation (one per name and per new match: 600 B each, measured
	// 65 MB of garbage over 100,000 flows); the stage gets a copy. A key
	// arriving while the record is filled (Poll) can decrypt, find and
	// evaluate again: that nested evaluation gets a record of its own.
	rec := &h.liveRec
	if h.liveBusy {
		rec = new(record.Flow)
	} else {
		h.liveBusy = true
		defer func() { h.liveBusy = false }()
	}
	h.buildRecord(rec, s, s.flow, record.StateActive, at, false) // evaluated only: emitEval writes no record
	s.fill(rec, false)
	fs := h.annotate(s, s.flow, rec)
	h.redactRecord(rec)
	if !s.inspect && h.p.inspection.alwaysFor(rec.Dst.Category) {
		s.inspect = true // from now on: the destination is one we always inspect
	}
	// Most changes (a name, a match no rule looks for) cannot make a rule
	// fire: then the record need not cross to the stage (a deep copy, an
	// evaluation there), only the first-seen question, at its place. Nor
	// need it when the rules that hold, with either first_seen, all held
	// with that first_seen at an earlier evaluation the stage received
	// with the same destination annotation, so the same first_seen answer
	// (content.held): those that held with the flow's answer fired there,
	// and a rule fires once per flow. A transfer whose every new finding is a change
	// made a full evaluation per finding (measured on the long mix: 4930
	// of 5023 such evaluations fired nothing new).
	eng := h.p.swap.rules.Load()
	out := liveSent
	switch {
	case eng.TracksVolume():
		h.submitEval(s, s.flow, emitEval, rec, fs, at, false)
	default:
		var held [2]uint64
		if s.c != nil && eng == h.rulesEng && !testHeldOff {
			held = s.c.held
		}
		now, other := eng.Holding(&h.rscratch, rec, at)
		if !other && now[0]&^held[0] == 0 && now[1]&^held[1] == 0 {
			out = liveNothingHolds
			if now != [2]uint64{} {
				out = liveAllFired
			}
			h.submitFirstSeen(s, s.flow, rec, fs, at)
			break
		}
		h.submitEval(s, s.flow, emitEval, rec, fs, at, false)
		if s.c != nil && eng == h.rulesEng {
			s.c.held[0] |= now[0]
			s.c.held[1] |= now[1]
		}
	}
	if testLiveEval != nil {
		testLiveEval(out)
	}
	h.keepFindings(rec)
}
