package pcaplog

// View is a reading of every Stream's and the writer's counters, with the
// metric declarations (see metrics.Add).
type View struct {
	FlowsStored uint64    `metric:"tapdlp_alertpcap_flows_stored_total" help:"Flows whose first frames the alert pcap store began to keep."`
	HeldBytes   int64     `metric:"tapdlp_alertpcap_held_bytes" help:"Bytes of the alert pcap arenas holding frames of flows that have not alerted (bounded by alerts.pcap_memory per worker)."`
	Evicted     uint64    `metric:"tapdlp_alertpcap_evicted_flows_total" help:"Flows whose kept frames were evicted to make room within alerts.pcap_memory (an alert on them finds no frames before it)."`
	Alerts      uint64    `metric:"tapdlp_alertpcap_alerts_total" help:"Alerts whose flow's frames were written to an alert pcap (the alert names the file and offset)."`
	NoPackets   uint64    `metric:"tapdlp_alertpcap_alerts_without_packets_total" help:"Alerts that got no alert pcap reference: none of the flow's frames could be written (evicted, store full, queue full)."`
	Packets     uint64    `metric:"tapdlp_alertpcap_packets_written_total" help:"Frames written to alert pcap files."`
	Bytes       uint64    `metric:"tapdlp_alertpcap_bytes_written_total" help:"Bytes written to alert pcap files (record headers included, file headers not)."`
	Dropped     []DropRow // by reason
	Rotated     uint64    `metric:"tapdlp_alertpcap_files_rotated_total" help:"Alert pcap files closed because the next one began (size limit, link type change, write error)."`
	Deleted     uint64    `metric:"tapdlp_alertpcap_files_deleted_total" help:"Alert pcap files deleted because alerts.pcap_max_files or alerts.pcap_max_bytes was passed."`
}

// DropRow is one reason frames of alerting flows were not written.
type DropRow struct {
	Reason string `label:"reason"`
	N      uint64 `metric:"tapdlp_alertpcap_dropped_packets_total" help:"Frames not written to an alert pcap, by reason: queue_full (the writer was behind), over_cap (frames of an alerting flow past alerts.pcap_flow_bytes before the alert or alerts.pcap_after_bytes after it, or not kept because the store was full), write_error (the file could not be created or written), no_frame (a frame that did not reach its worker, any flow), no_slot (a frame not kept because every store slot held an alerted flow, any flow)."`
}

// Stats returns the current counts (all zero on a nil Log).
func (l *Log) Stats() View {
	var v View
	var queue, over, nf, ns uint64
	if l == nil {
		v.Dropped = dropRows(0, 0, 0, 0, 0)
		return v
	}
	for _, s := range l.streams {
		c := s.c
		v.FlowsStored += c.FlowsStored.Load()
		v.HeldBytes += c.HeldBytes.Load()
		v.Evicted += c.Evicted.Load()
		v.Alerts += c.Alerts.Load()
		v.NoPackets += c.NoPackets.Load()
		queue += c.Queue.Load()
		over += c.OverCap.Load()
		nf += c.NoFrame.Load()
		ns += c.NoSlot.Load()
	}
	w := &l.c
	v.Packets, v.Bytes = w.Packets.Load(), w.Bytes.Load()
	v.Rotated, v.Deleted = w.Rotated.Load(), w.Deleted.Load()
	v.Dropped = dropRows(queue, over, w.WriteErrors.Load(), nf, ns)
	return v
}

func dropRows(queue, over, write, noFrame, noSlot uint64) []DropRow {
	return []DropRow{{"queue_full", queue}, {"over_cap", over}, {"write_error", write}, {"no_frame", noFrame}, {"no_slot", noSlot}}
}
