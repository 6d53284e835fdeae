package tlsdecrypt

import "sync/atomic"

// PendingBudget bounds, across every flow that shares it, the encrypted
// bytes buffered while keys have not arrived (Config.MaxPending bounds one
// flow). In live capture with key logs configured every TLS flow without
// its key yet buffers, so without a shared bound a burst of such flows
// would hold MaxPending each. A record that does not fit is dropped and
// counted, and its flow ends truncated, as at the per-flow bound. Safe for
// concurrent use by all workers.
type PendingBudget struct {
	limit   int64
	used    atomic.Int64
	dropped atomic.Uint64
}

// NewPendingBudget returns a budget of limit bytes (limit <= 0: 64 MiB).
func NewPendingBudget(limit int64) *PendingBudget {
	if limit <= 0 {
		limit = 64 << 20
	}
	return &PendingBudget{limit: limit}
}

// take reserves n bytes, or reports false (and counts them) when they do
// not fit.
func (b *PendingBudget) take(n int) bool {
	if b.used.Add(int64(n)) > b.limit {
		b.used.Add(-int64(n))
		b.dropped.Add(uint64(n))
		return false
	}
	return true
}

func (b *PendingBudget) give(n int) { b.used.Add(-int64(n)) }

// Used returns the bytes currently buffered under the budget.
func (b *PendingBudget) Used() int64 { return b.used.Load() }

// Dropped returns the encrypted bytes dropped because the budget was full.
func (b *PendingBudget) Dropped() uint64 { return b.dropped.Load() }
