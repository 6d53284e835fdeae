package pipeline

import (
	"sync/atomic"

	"github.com/tapdlp/tapdlp/appproto/tlsdecrypt"
	"github.com/tapdlp/tapdlp/record"
)

// TLSStats count TLS decryption outcomes, one per final flow record that
// carries one (`tls.decrypted` or `tls.decrypt_reason`): flows are only
// judged when key logs are configured or a capture brought keys.
type TLSStats struct {
	outcomes [tlsdecrypt.NumReasons]atomic.Uint64
}

// TLSOutcome is one outcome's count for the metrics registry. Reason is
// the record's spelling ("decrypted", "no_key", …): a fixed set, never
// anything from traffic or a key log.
type TLSOutcome struct {
	Reason string
	Count  uint64
}

// Count adds a final flow record's outcome (records without one are not
// counted).
func (s *TLSStats) Count(rec *record.Flow) {
	t := rec.TLS
	if t == nil {
		return
	}
	switch {
	case t.Decrypted:
		s.outcomes[tlsdecrypt.ReasonDecrypted].Add(1)
	case t.DecryptReason != "":
		if r, ok := tlsdecrypt.ParseReason(t.DecryptReason); ok {
			s.outcomes[r].Add(1)
		}
	}
}

// Decrypted returns the flows whose every encrypted record was decrypted.
func (s *TLSStats) Decrypted() uint64 { return s.outcomes[tlsdecrypt.ReasonDecrypted].Load() }

// NotDecrypted returns, for every reason a flow can stay (partly)
// encrypted, the flows that ended with it, zero ones included, in a fixed
// order.
func (s *TLSStats) NotDecrypted() []TLSOutcome {
	out := make([]TLSOutcome, 0, tlsdecrypt.NumReasons)
	for r := range tlsdecrypt.NumReasons {
		if r == tlsdecrypt.ReasonNone || r == tlsdecrypt.ReasonDecrypted {
			continue
		}
		out = append(out, TLSOutcome{Reason: r.String(), Count: s.outcomes[r].Load()})
	}
	return out
}

// TLSStats returns the decryption outcome counters.
func (p *Pipeline) TLSStats() *TLSStats { return &p.tlsStats }
