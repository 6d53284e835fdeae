package pipeline

import (
	"unsafe"

	"github.com/tapdlp/tapdlp/reassembly"
)

// What a flow's consumer state costs, charged against flows.memcap (see
// reassembly.Config.Memcap): every TCP or UDP flow has a session (reached
// from its flow entry: no map); scanning state is charged when a
// flow carries its first payload byte, and alternate-copy scanning when a
// retransmission conflicts.
const (
	sessionBytes = int(unsafe.Sizeof(session{}))
	contentBytes = int64(unsafe.Sizeof(content{})+unsafe.Sizeof(scanState{})) + 2*carryBytes
	// closedContentBytes is what a closed flow keeps of it (see
	// session.Closed): the summary, its findings not counted.
	closedContentBytes = int64(unsafe.Sizeof(content{}))
	// parkedContentBytes is what an open flow waiting between HTTP
	// messages keeps of it (see session.park): the summary and the parked
	// streams' look-back context.
	parkedContentBytes = int64(unsafe.Sizeof(content{})+unsafe.Sizeof(parkedScan{})) + 2*parkedCarryBytes
	altScanBytes       = int64(unsafe.Sizeof(altScan{})) + carryBytes
	// stageFlowBytes is what the ordered stage keeps for a flow evaluated
	// before its final record (order.go): its orderFlow, the map entry and
	// the rules' per-flow slices, charged at the first such evaluation.
	stageFlowBytes = int64(unsafe.Sizeof(orderFlow{})) + 48
)

// carryBytes is what one scanner stream's carry-over window (the bytes
// held back for a value that may continue in the next chunk) takes once it
// has scanned: measured 512 B per HTTP flow for both directions
// (TestFlowMemcapEstimateMatchesHeap).
const carryBytes = 256

// parkedCarryBytes is what one parked stream keeps (classify.Parked): the
// look-back context a Sync leaves (at most 72 B plus the longest context
// window) and the encoded pass's 30-byte label tail; findings are not
// counted, as for a closed flow.
const parkedCarryBytes = 128

// charge adds n bytes to the flow's share of the flow table's budget
// (released when the flow ends).
func (s *session) charge(n int64) {
	if s.h.table != nil && s.flow != nil {
		s.h.table.Charge(s.flow, n)
	}
}

var _ reassembly.Overlapper = (*session)(nil)
