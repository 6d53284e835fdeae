package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/capture/live"
)

// Live capture runs three kinds of goroutines:
//
//	socket readers (one per AF_PACKET socket) ──► merger ──► workers (by flow hash)
//
// Each reader decodes its socket's frames with its own capture.Decoder (so
// decoding, tunnels and defragmentation scale with the sockets) and sends
// batches to the merger. The merger interleaves the readers' packets in
// packet-time order and routes each one, by the same symmetric flow hash as
// the replay dispatcher, to the worker that owns its flow.
//
// Why not hand each socket's packets straight to "its" worker? The kernel's
// fanout hash does keep a flow on one socket index, but (1) it hashes the
// outer header, so a VXLAN flow whose two directions use different outer
// ports, or an IPv6 datagram whose fragments carry no ports, can land on
// two indexes; (2) with the cpu, qm and lb fanout modes it promises nothing;
// and (3) with several interfaces (a passive tap: one direction per port)
// the two halves of a flow come from two sockets, and two goroutines
// feeding one worker would race: the SYN-ACK from one port could overtake
// the SYN from the other and flip the flow's direction. The merger orders
// packets across sockets, so the records equal replay's for the same
// traffic, in every fanout mode, with any number of interfaces.
//
// The price of the order is latency: a TPACKET_V3 block reaches user space
// when full or after the block timeout, so a packet can only be released
// once every other socket has shown it has nothing older. An idle socket
// proves that by its reader waking on the poll timeout; the merge then
// trusts that nothing older than now - (2 block timeouts + 20ms) is still
// in its ring.

const (
	// readerPool is how many batches each reader owns. They bound what the
	// merger can hold back while waiting for a slow socket's watermark:
	// beyond them the reader stops reading and the kernel ring (whose
	// overflow is counted as drops) takes over.
	readerPool = 32
	// readerFlushAfter bounds, in packet time, how long a packet waits in a
	// reader's batch before the batch goes to the merger.
	readerFlushAfter = int64(5 * time.Millisecond)
	// statsEvery is how often kernel counters are read even when no status
	// line is due (afpacket's running sums are 32 bits wide).
	statsEvery = 10 * time.Second
	// idleEvery is how often an idle reader tells the merger its watermark
	// unless the merger is waiting for it: often enough for the one-second
	// flow-timeout ticks, rarely enough that an idle sensor sleeps (every
	// 10 ms it cost a tenth of a core).
	idleEvery = int64(250 * time.Millisecond)
)

// LiveOptions tune RunLive beyond the configuration.
type LiveOptions struct {
	// Status receives one line every StatusEvery: packets, bytes, kernel
	// drops, queue freezes, active flows, reassembly memory and records
	// written. nil: no status lines.
	Status io.Writer
	// StatusEvery is the status line interval; 0 means one minute.
	StatusEvery time.Duration
	// Counters, when set, receives the live path's counters (for metrics).
	Counters *LiveStats
}

// LiveStats are the live path's own counters; the kernel's are in
// live.Stats. The tags name their metrics (see package metrics).
type LiveStats struct {
	ReaderStalls atomic.Uint64 `metric:"tapdlp_capture_reader_stalls_total" help:"Times a socket reader waited for a free batch because the merger or the workers were behind."`
	LatePackets  atomic.Uint64 `metric:"tapdlp_capture_late_packets_total" help:"Packets older than the merged packet clock when released (out of order across sockets)."`
	ExtraVLANs   atomic.Uint64 `metric:"tapdlp_capture_inner_vlans_dropped_total" help:"Inner VLAN ids dropped to make room for the kernel-stripped outer tag."`
	ReadErrors   atomic.Uint64 `metric:"tapdlp_capture_read_errors_total" help:"Socket read errors other than the idle timeout."`

	mu     sync.Mutex
	ifaces map[string]*ifaceCounter // by interface name, created before readers start
	order  []string
}

// InterfaceCount is what the sensor read from one capture interface:
// frames and their bytes as on the wire, summed over the interface's
// sockets. Name is the configured interface name (the metrics label).
type InterfaceCount struct {
	Name    string `label:"interface"`
	Packets uint64 `metric:"tapdlp_capture_interface_packets_total" help:"Frames the sensor read from an interface."`
	Bytes   uint64 `metric:"tapdlp_capture_interface_bytes_total" help:"Frame bytes (as on the wire) the sensor read from an interface."`
}

type ifaceCounter struct{ packets, bytes atomic.Uint64 }

// iface returns the counters of an interface, creating them (start-up only).
func (s *LiveStats) iface(name string) *ifaceCounter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ifaces == nil {
		s.ifaces = map[string]*ifaceCounter{}
	}
	c := s.ifaces[name]
	if c == nil {
		c = new(ifaceCounter)
		s.ifaces[name] = c
		s.order = append(s.order, name)
	}
	return c
}

// Interfaces returns the packets and frame bytes read per interface, summed
// over its sockets, in the order the interfaces were configured.
func (s *LiveStats) Interfaces() []InterfaceCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]InterfaceCount, 0, len(s.order))
	for _, n := range s.order {
		c := s.ifaces[n]
		out = append(out, InterfaceCount{Name: n, Packets: c.packets.Load(), Bytes: c.bytes.Load()})
	}
	return out
}

// LiveSummary is what a live run did.
type LiveSummary struct {
	Summary
	Kernel live.Stats
}

// String is the line `run` prints on stderr when it stops.
func (s LiveSummary) String() string {
	return fmt.Sprintf("%s, kernel packets %d, kernel drops %d, queue freezes %d",
		s.Summary, s.Kernel.Packets, s.Kernel.Drops, s.Kernel.Freezes)
}

// RunLive captures from c until ctx is done or a socket fails, then stops
// reading — frames the kernel stamped before the stop are still processed
// — writes every open flow with state "shutdown" and returns once every
// record has reached the sink. The caller opened c (and may have dropped
// privileges since) and closes it afterwards. Options.Filter does not apply:
// a live filter runs in the kernel (live.Config.Filter).
func (p *Pipeline) RunLive(ctx context.Context, c *live.Capture, opts LiveOptions) (LiveSummary, error) {
	start := time.Now()
	if opts.Counters == nil {
		opts.Counters = new(LiveStats)
	}
	if opts.StatusEvery <= 0 {
		opts.StatusEvery = time.Minute
	}
	socks := c.All()
	if len(socks) == 0 {
		return LiveSummary{}, errors.New("pipeline: live capture without sockets")
	}
	cfg := c.Config()
	lag := int64(2*cfg.BlockTimeout + 20*time.Millisecond)

	if err := p.startAlertPcap(false); err != nil {
		return LiveSummary{}, err
	}
	p.out = newWriter(p.opts.Sink, p.stats, p.log)
	workers, order, wwg := p.startWorkers()
	d := newDispatcher(p, workers)
	d.sendTicks = true
	m := newMerger(d, len(socks), opts.Counters)

	var stop atomic.Int64 // the stop instant, Unix ns; 0 while running
	var errOnce sync.Once
	var runErr error
	halt := func(err error) {
		errOnce.Do(func() { runErr = err })
		stop.CompareAndSwap(0, time.Now().UnixNano())
	}
	var rwg sync.WaitGroup
	for i, s := range socks {
		r := &reader{
			id: i, sock: s, p: p, m: m, lag: lag, stop: &stop, halt: halt, ls: opts.Counters,
			ifc: opts.Counters.iface(s.Interface()),
			dec: capture.NewDecoder(p.decoderConfig(), p.decStats),
		}
		rwg.Go(r.run)
	}
	mdone := make(chan struct{})
	go func() { m.run(); close(mdone) }()

	statusDone := make(chan struct{})
	stopStatus := make(chan struct{})
	go func() {
		defer close(statusDone)
		p.liveStatus(c, opts, stopStatus)
	}()

	select {
	case <-ctx.Done():
		halt(nil)
	case <-mdone: // every reader failed
	}
	rwg.Wait()
	<-mdone
	wwg.Wait()
	order.wait()
	perr := p.closeAlertPcap(workers)
	close(stopStatus)
	<-statusDone
	werr := p.out.close()
	serr := p.saveState()
	kst, kerr := c.Stats()
	sum := LiveSummary{Summary: p.summary(time.Since(start)), Kernel: kst}
	return sum, errors.Join(runErr, werr, serr, kerr, perr)
}

// liveStatus writes the periodic status line and keeps the kernel counters
// read often enough for their 32-bit sums.
func (p *Pipeline) liveStatus(c *live.Capture, opts LiveOptions, stop <-chan struct{}) {
	poll := min(statsEvery, opts.StatusEvery)
	t := time.NewTicker(poll)
	defer t.Stop()
	// Ticker jitter must not skip a line: due half a poll early is on time.
	next := time.Now().Add(opts.StatusEvery - poll/2)
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			kst, err := c.Stats()
			if err != nil {
				p.log.Warn("reading kernel capture statistics", "err", err)
			}
			if opts.Status == nil || now.Before(next) {
				continue
			}
			next = now.Add(opts.StatusEvery - poll/2)
			fmt.Fprintln(opts.Status, p.statusLine(kst))
		}
	}
}

// statusLine formats the counters the status line shows, as key=value pairs.
func (p *Pipeline) statusLine(kst live.Stats) string {
	active := p.flowStats.FlowsCreated.Load() - p.stats.Flows.Load()
	return fmt.Sprintf("tapdlp run: packets=%d bytes=%d kernel_drops=%d queue_freezes=%d flows_active=%d reassembly_bytes=%d records=%d",
		p.stats.Packets.Load(), p.stats.WireBytes.Load(), kst.Drops, kst.Freezes, active, p.mem.Used(), p.stats.Records.Load())
}

// reader reads one socket, decodes, and sends batches to the merger.
type reader struct {
	id   int
	sock *live.Socket
	p    *Pipeline
	m    *merger
	dec  *capture.Decoder
	pkt  capture.Packet
	cur  *batch
	lag  int64
	stop *atomic.Int64
	halt func(error)
	ls   *LiveStats

	wm        int64 // no later packet of this socket is older (see lag)
	first     int64 // packet time of the first packet in cur
	lastFlush int64 // packet time of the last decoder Flush
	lastSent  int64 // wall time of the last batch sent while idle

	packets, wire uint64        // not yet added to the pipeline's shared counters
	ifc           *ifaceCounter // this socket's interface
}

// flushCounters publishes the reader's counts; once per batch keeps the
// shared cache lines out of the per-packet path.
func (r *reader) flushCounters() {
	r.p.stats.Packets.Add(r.packets)
	r.p.stats.WireBytes.Add(r.wire)
	r.ifc.packets.Add(r.packets)
	r.ifc.bytes.Add(r.wire)
	r.packets, r.wire = 0, 0
}

func (r *reader) run() {
	defer func() {
		r.flushCounters()
		r.cur.now = r.wm
		r.m.in <- mergeMsg{r: r.id, b: r.cur, done: true}
	}()
	r.cur = <-r.m.pools[r.id]
	for {
		data, meta, err := r.sock.Next()
		if err != nil {
			if stop := r.stop.Load(); stop != 0 && time.Now().UnixNano()-stop >= r.lag {
				// Idle for longer than a block can stay unretired: nothing
				// stamped before the stop is left in the ring.
				return
			}
			if r.stop.Load() == 0 && !errors.Is(err, live.ErrTimeout) {
				r.ls.ReadErrors.Add(1)
				r.halt(fmt.Errorf("pipeline: reading %s socket %d: %w", r.sock.Interface(), r.sock.Index(), err))
				return
			}
			// Idle: whatever is older than now - lag has been delivered.
			now := time.Now().UnixNano()
			r.wm = max(r.wm, now-r.lag)
			if r.wm-r.lastFlush >= tickEvery {
				r.flushDecoder()
			}
			if len(r.cur.pkts) > 0 || r.m.wanted[r.id].Load() || now-r.lastSent >= idleEvery {
				r.m.wanted[r.id].Store(false)
				r.lastSent = now
				r.send()
			}
			continue
		}
		if stop := r.stop.Load(); stop != 0 && meta.TS > stop {
			return
		}
		r.packets++
		r.wire += uint64(meta.WireLen)
		r.wm = max(r.wm, meta.TS)
		if r.dec.Decode(data, meta, &r.pkt) == capture.OK {
			if id, ok := r.sock.VLAN(); ok && !live.PrependVLAN(&r.pkt, id) {
				r.ls.ExtraVLANs.Add(1)
			}
			if !r.cur.fits(&r.pkt) {
				r.send()
			}
			if len(r.cur.pkts) == 0 {
				r.first = r.pkt.TS
			}
			r.cur.add(&r.pkt)
		}
		if len(r.cur.pkts) > 0 && r.wm-r.first >= readerFlushAfter {
			r.send()
		}
		if r.wm-r.lastFlush >= tickEvery {
			r.flushDecoder()
		}
	}
}

// flushDecoder expires stale IP fragments in packet time.
func (r *reader) flushDecoder() {
	r.lastFlush = r.wm
	r.dec.Flush(r.wm)
}

// send hands the current batch (possibly empty: a watermark update) to the
// merger and takes a free one.
func (r *reader) send() {
	r.flushCounters()
	r.cur.now = r.wm
	r.m.in <- mergeMsg{r: r.id, b: r.cur}
	select {
	case r.cur = <-r.m.pools[r.id]:
	default:
		r.ls.ReaderStalls.Add(1)
		r.cur = <-r.m.pools[r.id]
	}
}

type mergeMsg struct {
	r    int
	b    *batch
	done bool // the reader has stopped; b is its last batch
}

// merger releases the readers' packets in packet-time order into the
// dispatcher, which routes them to the workers. It runs on one goroutine.
type merger struct {
	d     *dispatcher
	in    chan mergeMsg
	pools []chan *batch // per reader: its free batches
	q     [][]*batch    // per reader: batches received, not yet released
	pos   []int         // per reader: next packet in q[r][0]
	wm    []int64       // per reader: its watermark
	// wanted[r] is set when the oldest queued packet waits for reader r's
	// watermark: an idle reader then reports at its next poll timeout
	// instead of at idleEvery.
	wanted []atomic.Bool
	done   []bool
	ndone  int
	ls     *LiveStats
}

func newMerger(d *dispatcher, readers int, ls *LiveStats) *merger {
	m := &merger{
		d:      d,
		in:     make(chan mergeMsg, readers*readerPool),
		pools:  make([]chan *batch, readers),
		q:      make([][]*batch, readers),
		pos:    make([]int, readers),
		wm:     make([]int64, readers),
		wanted: make([]atomic.Bool, readers),
		done:   make([]bool, readers),
		ls:     ls,
	}
	for i := range m.pools {
		m.pools[i] = make(chan *batch, readerPool)
		for range readerPool {
			m.pools[i] <- newBatch()
		}
		m.q[i] = make([]*batch, 0, readerPool)
	}
	return m
}

func (m *merger) run() {
	for m.ndone < len(m.q) {
		m.take(<-m.in)
		for more := true; more; {
			select {
			case msg := <-m.in:
				m.take(msg)
			default:
				more = false
			}
		}
		m.release()
	}
	m.release()
	m.d.close()
}

func (m *merger) take(msg mergeMsg) {
	r := msg.r
	m.wm[r] = max(m.wm[r], msg.b.now)
	if msg.done {
		m.done[r] = true
		m.ndone++
	}
	if len(msg.b.pkts) == 0 {
		msg.b.reset()
		m.pools[r] <- msg.b
		return
	}
	m.q[r] = append(m.q[r], msg.b)
}

// release routes every packet that no reader can still precede: the oldest
// queued packet goes when each reader with nothing queued has a watermark at
// or past it (or has stopped). Then the clock advances to the slowest
// reader's watermark so idle workers still expire their flows.
func (m *merger) release() {
	for {
		best, bestTS := -1, int64(0)
		for r, q := range m.q {
			if len(q) == 0 {
				continue
			}
			if ts := q[0].pkts[m.pos[r]].TS; best < 0 || ts < bestTS {
				best, bestTS = r, ts
			}
		}
		if best < 0 {
			break
		}
		if r := m.blocker(best, bestTS); r >= 0 {
			m.wanted[r].Store(true)
			break
		}
		b := m.q[best][0]
		p := &b.pkts[m.pos[best]]
		if p.TS < m.d.now {
			m.ls.LatePackets.Add(1)
		}
		// What dispatcher.run does with a decoded packet, in the same
		// packet order: DNS answers are learnt before any later flow is
		// routed, so names match replay's.
		m.d.packet(p)
		m.pos[best]++
		if m.pos[best] == len(b.pkts) {
			m.pos[best] = 0
			m.q[best] = append(m.q[best][:0], m.q[best][1:]...)
			b.reset()
			m.pools[best] <- b
		}
	}
	low := int64(-1)
	for r := range m.q {
		if !m.done[r] && (low < 0 || m.wm[r] < low) {
			low = m.wm[r]
		}
	}
	if low > 0 {
		m.d.clock(low)
	}
}

// blocker returns a reader that may still deliver a packet older than ts
// (the oldest queued packet, from reader best), or -1 when there is none.
func (m *merger) blocker(best int, ts int64) int {
	for r := range m.q {
		if r != best && !m.done[r] && len(m.q[r]) == 0 && m.wm[r] < ts {
			return r
		}
	}
	return -1
}
