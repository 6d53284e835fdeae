package pipeline

import (
	"sync"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/pcaplog"
)

// alertPcap is a worker's part of the alert pcaps (alerts.pcap_dir): every
// packet's frame goes to its flow's slot in the worker's pcaplog.Stream.
// The rules run in the ordered stage (order.go), so an alert reaches the
// frames from there: the stage writes the flow's frames out, names them in
// the alert record, and releases a flow's slot once it has applied the
// flow's final record (the worker only keeps). mu serialises the worker and
// the stage on the stream. nil when alert pcaps are off; every method is
// nil-safe, so the hooks cost one nil check then.
//
// Because the stage decides a few batches behind the worker, the packets a
// flow sends after its alert are written from the moment the stage decides,
// not from the alerting packet: a flow past alerts.pcap_flow_bytes may miss
// a few (the reference says truncated), and the files' layout depends on
// that timing. Records stay deterministic; the pcap reference in an alert
// does not.
type alertPcap struct {
	mu    sync.Mutex
	s     *pcaplog.Stream
	flows map[uint64]pcaplog.Handle // by the session's ref (its flow state id in the stage)
	frame pcaplog.Frame             // scratch
}

// startAlertPcap opens the alert pcap log for a run (nothing when off).
// A replay waits for the file writer rather than drop (block), so its
// files do not depend on the disk; live capture never waits.
func (p *Pipeline) startAlertPcap(block bool) error {
	a := &p.cfg.Alerts
	if a.PcapDir == "" {
		return nil
	}
	l, err := pcaplog.Open(pcaplog.Config{
		Dir: a.PcapDir, Streams: p.nworkers, FlowBytes: int64(a.PcapFlowBytes), AfterBytes: int64(a.PcapAfterBytes),
		Memory: int64(a.PcapMemory), FileSize: int64(a.PcapFileSize), MaxFiles: a.PcapMaxFiles, MaxBytes: int64(a.PcapMaxBytes),
		Block: block, Log: p.log,
	})
	if err != nil {
		return err
	}
	p.pcaps.Store(l)
	return nil
}

// waitAlertPcap returns once the workers' alert pcap streams are closed
// and every file is written.
func (p *Pipeline) waitAlertPcap() error {
	if l := p.pcaps.Load(); l != nil {
		return l.Wait()
	}
	return nil
}

// AlertPcaps reports whether alert pcaps are configured (alerts.pcap_dir).
func (p *Pipeline) AlertPcaps() bool { return p.cfg.Alerts.PcapDir != "" }

// AlertPcapStats returns the alert pcap counters (zero before a run starts).
func (p *Pipeline) AlertPcapStats() pcaplog.View { return p.pcaps.Load().Stats() }

func newAlertPcap(p *Pipeline, worker int) *alertPcap {
	l := p.pcaps.Load()
	if l == nil {
		return nil
	}
	return &alertPcap{s: l.Stream(worker), flows: make(map[uint64]pcaplog.Handle)}
}

// closeAlertPcap closes the workers' streams once the ordered stage, which
// writes alerts' frames into them, has finished, and waits for the files.
func (p *Pipeline) closeAlertPcap(workers []*worker) error {
	for _, w := range workers {
		w.h.pcap.close()
	}
	return p.waitAlertPcap()
}

// packet runs the flow table on p, then keeps p's frame for its flow.
//
// The packet that completes a TCP close ends its flow inside Packet (the
// final record is written at once, see reassembly's tomb.go): the flow is
// looked up before as well, and the frame is kept for it as long as the
// ordered stage has not released its frames yet (it cannot have in a run,
// where the final record waits for the end of the batch).
func (a *alertPcap) packet(h *flowHandler, t *reassembly.Table, p *capture.Packet) {
	var before uint64
	if p.Frame != nil && p.Proto == capture.ProtoTCP {
		if s := sessionOf(t.Lookup(p)); s != nil {
			before = s.ref
		}
	}
	t.Packet(p)
	if p.Frame == nil {
		a.mu.Lock()
		a.s.NoFrame()
		a.mu.Unlock()
		return
	}
	ref := before
	if s := sessionOf(t.Lookup(p)); s != nil {
		ref = s.ref
	} else if before == 0 {
		return // no session (ICMP, …): no state in the stage to alert on
	}
	a.frame = pcaplog.Frame{TS: p.TS, Link: uint16(p.Link), Wire: p.WireLen, Data: p.Frame}
	a.mu.Lock()
	if fh, ok := a.flows[ref]; ok || ref != before {
		a.flows[ref] = a.s.Keep(fh, &a.frame)
	}
	a.mu.Unlock()
}

// alerted writes the frames of the flow with state ref for its new alerts
// and names them in each (called by the ordered stage).
func (a *alertPcap) alerted(ref uint64, at int64, alerts []record.Alert) {
	if a == nil || len(alerts) == 0 || ref == 0 {
		return
	}
	a.mu.Lock()
	h, where, ok := a.s.AlertAt(a.flows[ref], at)
	a.flows[ref] = h
	a.mu.Unlock()
	if !ok {
		return
	}
	for i := range alerts {
		alerts[i].PCAP = &record.PCAP{File: where.File, Offset: where.Offset, Packets: where.Packets, Truncated: where.Truncated}
	}
}

// release forgets a flow whose final record the stage has applied.
func (a *alertPcap) release(ref uint64) {
	if a == nil {
		return
	}
	a.mu.Lock()
	if h, ok := a.flows[ref]; ok {
		a.s.Release(h)
		delete(a.flows, ref)
	}
	a.mu.Unlock()
}

func (a *alertPcap) flush() {
	if a != nil {
		a.mu.Lock()
		a.s.Flush()
		a.mu.Unlock()
	}
}

func (a *alertPcap) close() {
	if a != nil {
		a.mu.Lock()
		a.s.Close()
		a.mu.Unlock()
	}
}
