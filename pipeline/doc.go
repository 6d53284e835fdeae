// Package pipeline wires the stages DESIGN.md draws — capture, decode, flow
// table and reassembly, app parsers, destinations, content inspection, rules
// and record sinks — into a running sensor, for replay and live capture
// alike. It owns the dispatcher (symmetric flow hash → worker), the workers,
// the ordered stage, record building and the record writer. It holds no
// protocol or content logic of its own: each stage lives in its package and
// is only called here. In particular it imports no app-layer parser:
// appproto/demux recognises and parses, and a worker's session is only
// demux's content Sink.
//
// # Determinism
//
// A replay writes the same records, byte for byte and in the same order,
// on every run and with any number of workers. The contract:
//
//   - Events. The dispatcher numbers what it dispatches, in input order:
//     each decoded packet is one event, and so is each clock tick (every
//     tickEvery of packet time, decided by packet times alone, and one last
//     "shutdown" tick at the end of the input). A tick that a packet's time
//     makes due comes before that packet. Every worker receives every tick
//     at its place among its packets: in a replay inside its next batch,
//     live at once (dispatcher.tick).
//   - Time. A worker's clock is the dispatcher's (the latest packet time so
//     far), set before each packet; its flow table expires flows and writes
//     interim records only at ticks (reassembly.Config.ExpireOnAdvance),
//     and a flow its next packet finds past its deadline ends first. So a
//     flow ends, and its record's ts is, the same whichever worker owns it
//     and whatever else that worker saw.
//   - Positions. Everything a worker emits — a flow record (final or
//     interim), a re-evaluation of a running flow, the volume-record tick —
//     carries the event that caused it, a phase (an ICMP error attached to
//     the flow it quotes; the packet in its own flow; a tick; the shutdown;
//     the volume records), the record's flow_id (a hash of the 5-tuple and
//     the start time) and the worker's sequence number, which orders the
//     emissions of one flow (a flow lives on one worker). That position is a
//     total order that does not depend on the number of workers.
//   - Ordered stage (order.go). One goroutine merges the workers' emissions
//     by position. Each worker sends its emissions sorted by position (the
//     end-of-input flush ends flows in flow_id order and streams them in
//     chunks) and reports after each batch the last event it has fully
//     processed (its watermark). The stage applies the smallest head among
//     the workers' queues once every worker with nothing queued has a
//     watermark at or past its event: a k-way merge. Idle workers advance
//     their watermarks with the batches the dispatcher sends every worker
//     every markEvery events (and, live, with every tick). Everything that depends on more than
//     one flow happens there, in that order: dst.first_seen, the rules
//     (their conditions may read first_seen; thresholds count bytes and
//     flows across flows; de-duplication folds firings across flows), the
//     alerts, the flow records (they list the rules that fired) and the
//     volume records. Per-flow work — reassembly, parsing, inspection,
//     naming, redaction — stays in the workers. Each record is deep-copied
//     (clone.go) when it crosses to the stage. A re-evaluation on which no
//     rule's conditions can hold (rules.Engine.MayFire, either value of
//     first_seen), or only rules that held, with the same first_seen, at
//     an earlier evaluation of the flow the stage received (so fired
//     there: rules.Engine.Holding, content.held), and that counts no
//     volume crosses as its first-seen question alone, at the same
//     position: the stage's answers, and so every record, are the same as
//     if it had been evaluated.
//   - Bounds. The stage holds at most defaultOrderBuffer bytes of pending
//     emissions; beyond that (a stalled worker) it applies the smallest
//     head without waiting, counted in Stats.OrderForced
//     (tapdlp_pipeline_order_forced_total): nothing deadlocks or grows
//     without bound, but order is then no longer guaranteed. At the end
//     of the input, a worker flushing its open flows waits while the stage
//     holds more than shutdownHeld of its emissions (counted in
//     Stats.FlushWaits), so a fast worker's flush does not pile up there.
//     Its per-flow
//     state (rules, first-seen decision) lives from a flow's first emission
//     to its final record, so it is bounded by the flow table.
//
// What is not covered: limits that are split per worker (flows.max_flows
// and flows.memcap are divided among the workers, so which flow is evicted
// under pressure depends on their number) and the shared reassembly memcap
// under pressure; state carried in from state_dir (first-seen and volume
// state) makes a replay depend on the previous one, by design.
//
// Live capture uses the same dispatcher, workers and ordered stage, behind
// the live merger (live.go), which interleaves the sockets' packets in
// packet-time order as they arrive. Records are therefore a deterministic
// function of the packet order the merger released, but that order (for
// packets of different sockets close in time, or late ones) and the ticks
// (driven by the sockets' watermarks) depend on arrival: live output is not
// reproducible from run to run, only correct and race-free.
package pipeline
