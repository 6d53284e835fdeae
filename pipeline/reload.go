package pipeline

import (
	"fmt"
	"sync/atomic"

	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/rules"
)

// swappable holds what SIGHUP may replace while packets flow: the compiled
// rules and the content detectors. Workers load them per use (rules) or per
// batch (detectors), so a reload never stops or drops a packet.
type swappable struct {
	rules    atomic.Pointer[rules.Engine]
	classify atomic.Pointer[classify.Engine]
	gen      atomic.Uint64 // bumped when the detectors change
}

// Reload applies a new configuration's catalog, range and IOC files, home
// networks and services, rules and custom detectors, all or nothing: if any
// part fails to build (a bad file, with file:line), the old configuration
// stays in force and the error says why. Flows in progress keep their
// detectors; new flows use the new ones. Sizes, timeouts and outputs are
// not reloadable (restart for those). Dedup state and volume baselines
// carry over, and so do the detection counters; a new custom detector gets
// its own from now on. Reload must not run concurrently with itself.
func (p *Pipeline) Reload(cfg *config.Config) error {
	eng, err := buildRules(cfg, p.opts.ExtraRules, p.swap.rules.Load())
	if err != nil {
		return fmt.Errorf("reload rules: %w", err)
	}
	cl, err := BuildClassifier(cfg)
	if err != nil {
		return fmt.Errorf("reload detectors: %w", err)
	}
	if err := p.dest.ReloadConfig(DestinationsConfig(cfg)); err != nil {
		return fmt.Errorf("reload destinations: %w", err)
	}
	p.swap.rules.Store(eng)
	p.inspStats.addTypes(cl.Types()) // before the detectors: their findings must find a counter
	p.swap.classify.Store(cl)
	p.swap.gen.Add(1)
	return nil
}
