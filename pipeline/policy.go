package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

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

// evaluate runs the rules over rec (the flow's current record), records the
// rules that fired on the session, and returns the new alerts. rec.Alerts
// lists every rule that fired over the flow's life.
func (h *flowHandler) evaluate(s *session, f *reassembly.Flow, rec *record.Flow, now int64) []record.Alert {
	if s != nil {
		rec.Alerts = s.alerts
		s.lastEvalOut = f.Bytes[reassembly.DirOut]
	}
	var st *rules.FlowState
	if s != nil {
		st = &s.ruleState
	} else {
		st = &h.scratchRules
		st.Reset()
	}
	alerts := h.p.swap.rules.Load().EvalWith(&h.ruleScratch, st, rec, now)
	h.pcap.alerted(f, alerts) // alert pcaps: write the flow's packets, name them
	if s != nil {
		s.alerts = rec.Alerts
	}
	return alerts
}

func (h *flowHandler) writeAlerts(alerts []record.Alert) {
	for i := range alerts {
		h.p.writeRecord(&h.enc, &alerts[i])
	}
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
	for f, s := range h.sessions {
		if f.Bytes[reassembly.DirOut] != s.lastEvalOut {
			h.evalLive(s, h.now)
		}
	}
}

func (h *flowHandler) evalLive(s *session, at int64) {
	// The record is the handler's scratch, not a heap object per
	// evaluation (one per name and per new match: 600 B each, measured
	// 65 MB of garbage over 100,000 flows). A key arriving while the record
	// is filled (Poll) can decrypt, find and evaluate again: that nested
	// evaluation gets a record of its own.
	rec := &h.liveRec
	if h.liveBusy {
		rec = new(record.Flow)
	} else {
		h.liveBusy = true
		defer func() { h.liveBusy = false }()
	}
	*rec = h.buildRecord(s, s.flow, record.StateActive, at)
	s.fill(rec, false)
	h.annotate(s, s.flow, rec)
	h.redactRecord(rec)
	if !s.inspect && h.p.inspection.alwaysFor(rec.Dst.Category) {
		s.inspect = true // from now on: the destination is one we always inspect
	}
	h.writeAlerts(h.evaluate(s, s.flow, rec, at))
}
