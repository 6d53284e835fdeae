package rules

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// RuleStats counts one rule's activity since Compile.
type RuleStats struct {
	ID, Severity string
	Fired        uint64 // flows the rule fired on
	Alerts       uint64 // alerts emitted
	Suppressed   uint64 // firings folded by de-duplication
}

// Stats is a snapshot of an Engine's counters, in rule order.
type Stats struct {
	Rules  []RuleStats
	Dedup  DedupStats
	Volume VolumeStats
}

// Stats returns the engine's counters (for metrics and `rules test`).
func (e *Engine) Stats() Stats {
	s := Stats{Rules: make([]RuleStats, len(e.rules)), Dedup: e.dedup.Stats(), Volume: e.vol.Stats()}
	for i := range e.rules {
		r := &e.rules[i]
		s.Rules[i] = RuleStats{ID: r.id, Severity: r.severity, Fired: r.cnt.fired.Load(),
			Alerts: r.cnt.alerts.Load(), Suppressed: r.cnt.suppressed.Load()}
	}
	return s
}

// FiringCounts maps each enabled rule id to the number of flows it fired on
// (zero included, so a rule that never fired is visible).
func (e *Engine) FiringCounts() map[string]int {
	m := make(map[string]int, len(e.rules))
	for i := range e.rules {
		m[e.rules[i].id] = int(e.rules[i].cnt.fired.Load())
	}
	return m
}

// WriteTable prints s as an aligned table for `tapdlp rules test`:
//
//	RULE              SEVERITY  FIRED  ALERTS  SUPPRESSED
//	pii-to-ai         high      3      2       1
func WriteTable(w io.Writer, s Stats) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tFIRED\tALERTS\tSUPPRESSED")
	var fired, alerts, supp uint64
	for _, r := range s.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", r.ID, r.Severity, r.Fired, r.Alerts, r.Suppressed)
		fired += r.Fired
		alerts += r.Alerts
		supp += r.Suppressed
	}
	fmt.Fprintf(tw, "TOTAL\t\t%d\t%d\t%d\n", fired, alerts, supp)
	return tw.Flush()
}
