package reassembly

import "unsafe"

// The flow table's byte budget (Config.Memcap): every open flow is charged
// the table's own state for it (connBytes) plus what its consumer declares
// (Config.FlowCost), and a consumer may charge more while a flow lives
// (Table.Charge, e.g. scanning state allocated on the first payload byte).
// Creating a flow that would take the table past the budget first evicts
// the least recently active flows, as at MaxFlows, counting them in
// Stats.FlowsEvicted and Stats.FlowsEvictedMemcap.

// connBytes is the table's estimate of one flow's own cost: the conn and
// its share of the flow index (16-byte slots, 21 to 43 B per flow with the
// index's load between three quarters and three eighths; see flowIndex).
const connBytes = int64(unsafe.Sizeof(conn{})) + 2*int64(unsafe.Sizeof(slot{}))

// perFlow is what one open flow is charged on creation.
func (t *Table) perFlow() int64 { return connBytes + int64(t.cfg.FlowCost) }

// FlowBytes returns the table's estimate of the bytes its open flows hold.
func (t *Table) FlowBytes() int64 {
	return int64(t.open)*t.perFlow() + t.lent*extraBytes + t.charged + int64(t.tombs.len())*tombBytes
}

// extraBytes is what a direction holding bytes in hand takes beyond its
// conn (see halfExtra).
const extraBytes = int64(unsafe.Sizeof(halfExtra{}))

// Charge adds n (negative: releases) to the bytes charged against the
// budget for f's consumer state; everything charged for a flow is released
// when it ends. f must be a flow of this table that has not ended.
func (t *Table) Charge(f *Flow, n int64) {
	c := (*conn)(unsafe.Pointer(f)) // Flow is conn's first field
	c.charged += n
	t.charged += n
}

// makeRoom evicts least recently active flows until a new one fits in the
// byte budget (keeping at least none: a single flow larger than the budget
// still gets in).
func (t *Table) makeRoom() {
	if t.cfg.Memcap <= 0 {
		return
	}
	for t.tombs.len() > 0 && t.FlowBytes()+t.perFlow() > t.cfg.Memcap {
		t.evictTomb() // the oldest tombstones go before any open flow
	}
	for t.open > 0 && t.FlowBytes()+t.perFlow() > t.cfg.Memcap {
		if !t.evictLRU() {
			return
		}
		t.st.FlowsEvictedMemcap.Add(1)
	}
}

// release drops what was charged for c when it ends.
func (t *Table) release(c *conn) {
	t.charged -= c.charged
	c.charged = 0
}
