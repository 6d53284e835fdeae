package pipeline

import (
	"net/netip"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/pcaplog"
)

// alertPcap is a worker's part of the alert pcaps (alerts.pcap_dir): every
// packet's frame goes to its flow's slot in the worker's pcaplog.Stream, and
// an alert writes the flow's frames out and names where in the alert
// record. nil when alert pcaps are off; every method is nil-safe, so the
// hooks in the worker, Emit and evaluate cost one nil check then.
type alertPcap struct {
	s     *pcaplog.Stream
	flows map[*reassembly.Flow]pcaplog.Handle
	// pending is the packet the flow table is processing: a rule that
	// fires on it (a live re-evaluation) writes it with the flow's frames
	// (used), before it is kept.
	pending *capture.Packet
	used    bool
	frame   pcaplog.Frame // scratch
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
	return &alertPcap{s: l.Stream(worker), flows: make(map[*reassembly.Flow]pcaplog.Handle)}
}

// packet runs the flow table on p, then keeps p's frame for its flow.
func (a *alertPcap) packet(t *reassembly.Table, p *capture.Packet) {
	a.pending, a.used = p, false
	t.Packet(p)
	a.pending = nil
	if a.used {
		return
	}
	if p.Frame == nil {
		a.s.NoFrame()
		return
	}
	f := t.Lookup(p)
	if f == nil {
		return
	}
	a.flows[f] = a.s.Keep(a.flows[f], a.frameOf(p))
}

func (a *alertPcap) frameOf(p *capture.Packet) *pcaplog.Frame {
	a.frame = pcaplog.Frame{TS: p.TS, Link: uint16(p.Link), Wire: p.WireLen, Data: p.Frame}
	return &a.frame
}

// alerted writes f's frames for its new alerts and names them in each.
func (a *alertPcap) alerted(f *reassembly.Flow, alerts []record.Alert) {
	if a == nil || len(alerts) == 0 {
		return
	}
	var pend *pcaplog.Frame
	if p := a.pending; p != nil && !a.used && p.Frame != nil && sameFlow(f, p) {
		pend, a.used = a.frameOf(p), true
	}
	h, ref, ok := a.s.Alert(a.flows[f], pend)
	a.flows[f] = h
	if !ok {
		return
	}
	for i := range alerts {
		alerts[i].PCAP = &record.PCAP{File: ref.File, Offset: ref.Offset, Packets: ref.Packets, Truncated: ref.Truncated}
	}
}

// end forgets a flow that ended.
func (a *alertPcap) end(f *reassembly.Flow) {
	if a == nil {
		return
	}
	if h, ok := a.flows[f]; ok {
		a.s.Release(h)
		delete(a.flows, f)
	}
}

func (a *alertPcap) flush() {
	if a != nil {
		a.s.Flush()
	}
}

func (a *alertPcap) close() {
	if a != nil {
		a.s.Close()
	}
}

// sameFlow reports whether p is a packet of f (either direction).
func sameFlow(f *reassembly.Flow, p *capture.Packet) bool {
	if f.Proto != p.Proto {
		return false
	}
	ports := p.Proto == capture.ProtoTCP || p.Proto == capture.ProtoUDP
	fwd := addrEq(f.Src, p.Src) && addrEq(f.Dst, p.Dst) && (!ports || (f.SrcPort == p.SrcPort && f.DstPort == p.DstPort))
	rev := addrEq(f.Src, p.Dst) && addrEq(f.Dst, p.Src) && (!ports || (f.SrcPort == p.DstPort && f.DstPort == p.SrcPort))
	return fwd || rev
}

func addrEq(a, b netip.Addr) bool { return a == b }
