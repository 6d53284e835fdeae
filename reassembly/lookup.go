package reassembly

import "github.com/tapdlp/tapdlp/capture"

// Lookup returns the open flow p belongs to, or nil when there is none (it
// was never created, or ended). It does not touch the flow. A consumer that
// keeps per-packet state of its own (alert pcaps) calls it after Packet.
func (t *Table) Lookup(p *capture.Packet) *Flow {
	k, _ := makeKey(p)
	if c := t.flows[k]; c != nil {
		return &c.Flow
	}
	return nil
}
