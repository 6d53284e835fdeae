package reassembly

import (
	"hash/maphash"
	"slices"
	"strings"

	"github.com/tapdlp/tapdlp/capture"
)

// Timeout classes. Each class has one fixed idle timeout, so a list per
// class kept in order of last activity is also in order of deadline: expiry
// only ever looks at list heads, and a packet of an existing flow costs one
// unlink and one append (O(1), no scan, no allocation). This was chosen over
// a timing wheel because it needs no tick, no slot arrays and gives exact
// deadlines; over a per-second sweep because it never visits live flows.
const (
	clsTCPNew = iota
	clsTCPEst
	clsTCPClosed
	clsTCPGrace // close complete, within Config.TCPCloseGrace (tomb.go)
	clsUDP
	clsDNS // UDP to or from port 53: Config.DNSTimeout
	clsOther
	nClassesTimeout
)

// Intrusive list links: one for the timeout-class list, one for the
// active-timeout list (ordered by last report time).
const (
	linkIdle = iota
	linkActive
)

type link struct{ prev, next *conn }

type list struct{ head, tail *conn }

func (l *list) pushBack(c *conn, i int) {
	c.links[i] = link{prev: l.tail}
	if l.tail != nil {
		l.tail.links[i].next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *list) remove(c *conn, i int) {
	lk := &c.links[i]
	if lk.prev != nil {
		lk.prev.links[i].next = lk.next
	} else {
		l.head = lk.next
	}
	if lk.next != nil {
		lk.next.links[i].prev = lk.prev
	} else {
		l.tail = lk.prev
	}
	*lk = link{}
}

// conn is a Flow plus the table's private state for it.
//
// Its fields are ordered so that the small ones share words, and Flow
// holds its rare parts (tunnel, ICMP reject) by pointer, and each
// direction lends its buffers from the table only while it holds bytes
// (halfExtra): a conn fits the 512-byte size class (it took 896, 768, then
// 704; see TestConnSizeClass).
type conn struct {
	Flow
	key     flowKey
	class   uint8
	srcIsLo bool // Flow.Src is the key's lo endpoint
	est     bool // TCP: both directions seen, or picked up mid-stream
	closing bool // TCP: FIN both ways or RST seen; lingering
	rst     bool
	wantsOv bool // stream is an Overlapper (see overlapper)
	hist    history

	half     [2]half
	links    [2]link
	kh       uint64 // key's hash in the table's index (see lookup.go)
	charged  int64  // bytes the consumer charged against Config.Memcap (Table.Charge)
	touched  int64  // table clock at the last packet (list order)
	reportAt int64  // table clock at creation or the last interim record
	buffered int    // OOO buffer capacity held by both halves
}

// overlapper returns the stream when it wants alternate views of
// retransmitted bytes (the rare path: asserted when needed rather than
// stored, which would cost 16 B per flow).
func (c *conn) overlapper() Overlapper {
	if !c.wantsOv {
		return nil
	}
	return c.stream.(Overlapper)
}

// closeState is the state a lingering TCP flow is emitted with.
func (c *conn) closeState() EndReason {
	if c.rst {
		return EndReset
	}
	return EndClosed
}

// maxFreeConns bounds the recycled conn structs (512 B each) a table keeps;
// it covers a burst of short flows without holding memory after a flood.
// Recycling measured 185 ns and 0 allocs per SYN/RST flow against 324-430 ns
// and one 512 B allocation without it (BenchmarkFlowChurn).
const maxFreeConns = 4096

// maxFreeSegs is the segment-slice capacity a recycled conn may keep.
const maxFreeSegs = 64

// Table is one worker's flow table. It is not safe for concurrent use: each
// worker owns one and feeds it the packets of its flows in capture order.
type Table struct {
	cfg      Config
	h        Handler
	mem      *Memory
	st       *Stats
	flows    flowIndex // by keyHash (see lookup.go)
	seed     maphash.Seed
	open     int // flows in the index
	lists    [nClassesTimeout]list
	timeouts [nClassesTimeout]int64
	active   list
	now      int64
	free     []*conn
	extras   []*halfExtra // free halfExtras (see lend)
	lent     int64        // halfExtras held by open flows
	pool     bufPool
	inUse    int64  // OOO, kept and SYN bytes this table holds in Memory
	alt      []byte // scratch for assembling alternate views
	charged  int64  // bytes consumers charged for open flows (Table.Charge)

	tombs tombs // flows emitted when their close completed, for the rest of the linger (tomb.go)

	// TCP flows that ended by idle timeout, to recognise their
	// continuation (Flow.Continues): at most maxRecent, oldest forgotten.
	recent     map[flowKey]recentFlow
	recentRing [maxRecent]recentRef
	recentN    uint64
}

// maxRecent bounds the timed-out flows remembered per table (about 80 bytes
// each in the map and the ring).
const maxRecent = 4096

// recentFlow is what is remembered of a TCP flow that timed out.
type recentFlow struct {
	stamp   uint64    // recentN at insertion, to match the ring entry
	srcIsLo bool      // orientation
	init    [2]bool   // direction had sequence numbers
	next    [2]uint32 // next sequence number per Dir
	start   int64
	last    int64
}

type recentRef struct {
	key   flowKey
	stamp uint64
}

// remember records a TCP flow ending by idle timeout.
func (t *Table) remember(c *conn) {
	if t.recent == nil {
		t.recent = make(map[flowKey]recentFlow)
	}
	t.recentN++
	slot := &t.recentRing[t.recentN%maxRecent]
	if old, ok := t.recent[slot.key]; ok && old.stamp == slot.stamp {
		delete(t.recent, slot.key)
	}
	r := recentFlow{stamp: t.recentN, srcIsLo: c.srcIsLo, start: c.Start, last: c.Last}
	for d := range c.half {
		r.init[d], r.next[d] = c.half[d].init, c.half[d].next
	}
	t.recent[c.key] = r
	*slot = recentRef{key: c.key, stamp: t.recentN}
}

// continuation reports whether p, the first packet of a new TCP flow
// without SYN, carries on a flow that timed out on the same tuple (its last
// packet at most two idle timeouts ago), and what was kept of it.
func (t *Table) continuation(k flowKey, swapped bool, p *capture.Packet) (recentFlow, bool) {
	if len(t.recent) == 0 || p.Proto != capture.ProtoTCP || p.TCPFlags&capture.TCPSyn != 0 {
		return recentFlow{}, false
	}
	r, ok := t.recent[k]
	if !ok {
		return recentFlow{}, false
	}
	delete(t.recent, k)
	d := DirIn
	if swapped != r.srcIsLo {
		d = DirOut
	}
	// The sender carries on from where it was (bytes lost in between
	// allowed, up to a window), and the pause is at most twice the idle
	// timeout (the flow was emitted after one).
	if !r.init[d] || uint32(p.Seq-r.next[d]) >= maxWindow || t.now-r.last > 2*t.timeouts[clsTCPEst] {
		return recentFlow{}, false
	}
	return r, true
}

// NewTable returns a table that reports flows to h. mem and stats may be
// shared by all tables; nil gives the table its own.
func NewTable(cfg Config, h Handler, mem *Memory, stats *Stats) *Table {
	cfg = cfg.withDefaults()
	if mem == nil {
		mem = NewMemory(0)
	}
	if stats == nil {
		stats = new(Stats)
	}
	t := &Table{
		cfg:  cfg,
		h:    h,
		mem:  mem,
		st:   stats,
		seed: maphash.MakeSeed(),
	}
	t.tombs.seed = t.seed
	t.timeouts = [nClassesTimeout]int64{
		clsTCPNew:    int64(cfg.TCPNewTimeout),
		clsTCPEst:    int64(cfg.TCPEstablishedTimeout),
		clsTCPClosed: int64(cfg.TCPClosedLinger),
		clsTCPGrace:  int64(max(cfg.TCPCloseGrace, 0)),
		clsUDP:       int64(cfg.UDPTimeout),
		clsDNS:       int64(cfg.DNSTimeout),
		clsOther:     int64(cfg.OtherTimeout),
	}
	return t
}

// Len returns the number of open flows.
func (t *Table) Len() int { return t.open }

// MemInUse returns the out-of-order buffer bytes this table holds (its share
// of Memory.Used).
func (t *Table) MemInUse() int64 { return t.inUse }

// Now returns the table's packet-time clock (Unix ns).
func (t *Table) Now() int64 { return t.now }

// Packet processes one decoded packet. Its time advances the table clock
// (never backwards) and expires flows whose deadlines passed, before the
// packet itself is looked up.
func (t *Table) Packet(p *capture.Packet) {
	if p.TS > t.now {
		t.now = p.TS
		if !t.cfg.ExpireOnAdvance {
			t.expire()
		}
	}
	k, swapped := makeKey(p)
	kh := t.keyHash(&k)
	c := t.findAt(kh, &k)
	if c != nil && t.cfg.ExpireOnAdvance && t.expireDue(c) {
		c = nil
	}
	if c == nil && t.tombs.len() > 0 && p.Proto == capture.ProtoTCP && t.late(kh, &k, p) {
		return
	}
	if c != nil && c.closing && p.Proto == capture.ProtoTCP && p.TCPFlags&(capture.TCPSyn|capture.TCPAck|capture.TCPRst) == capture.TCPSyn {
		// A new connection reusing the tuple of one that already ended.
		t.st.FlowsReused.Add(1)
		t.finish(c, c.closeState(), false)
		c = nil
	}
	if c == nil {
		c = t.create(k, kh, swapped, p)
	}
	d := DirIn
	if swapped != c.srcIsLo {
		d = DirOut
	}
	switch p.Checksum {
	case capture.ChecksumGood:
		c.half[d].sumGood = true
	case capture.ChecksumBad:
		// The host discards it. A direction whose packets had good
		// checksums shows the capture's checksums are real, so this one is
		// a decoy (or damage) and goes; a direction that never had one was
		// captured before checksum offload or rewritten, and its packets
		// stay.
		if c.half[d].sumGood {
			t.st.ChecksumDrops.Add(1)
			return
		}
		t.st.ChecksumKept.Add(1)
	}
	c.Bytes[d] += uint64(max(p.IPLen, 0))
	c.Packets[d]++
	if p.TS > c.Last {
		c.Last = p.TS
	}
	switch p.Proto {
	case capture.ProtoTCP:
		t.tcp(c, d, p)
	case capture.ProtoUDP:
		t.udp(c, d, p)
	}
	for d := range c.half {
		if x := c.half[d].halfExtra; x != nil && x.idle() {
			t.takeBack(&c.half[d])
		}
	}
	if c.closing && !c.told {
		t.tellClosed(c)
	}
	if t.timeouts[clsTCPGrace] == 0 && c.mayBury() {
		t.bury(c, t.now) // no grace: at once
		return
	}
	c.touched = t.now
	if cls := t.classOf(c); cls != c.class || c.links[linkIdle].next != nil {
		t.lists[c.class].remove(c, linkIdle)
		c.class = cls
		t.lists[cls].pushBack(c, linkIdle)
	}
}

// ICMPError attaches p, an ICMP or ICMPv6 error quoting a TCP or UDP packet
// (p.Quoted.Proto != 0) the flow's initiator sent, to that flow and reports
// whether it did. The first error a flow receives is kept; the
// error is not accounted as a packet of that flow (its bytes and counters
// stay the flow's own), and the caller decides what else to do with it. The
// caller routes the error to the table that owns the quoted flow
// (capture.Packet.RouteHash).
func (t *Table) ICMPError(p *capture.Packet) bool {
	if p.TS > t.now {
		t.now = p.TS
		if !t.cfg.ExpireOnAdvance {
			t.expire()
		}
	}
	q := &p.Quoted
	if q.Proto == 0 {
		return false
	}
	k, _ := tupleKey(q.Src, q.Dst, q.SrcPort, q.DstPort, q.Proto)
	c := t.find(&k)
	if c != nil && t.cfg.ExpireOnAdvance && t.expireDue(c) {
		c = nil
	}
	// Only an error about the initiator's packet refuses the attempt; one
	// quoting the responder's packet (a client whose port closed before a
	// late reply arrived) is the initiator refusing, not being refused.
	if c == nil || q.Src != c.Src || q.SrcPort != c.SrcPort {
		t.st.ICMPUnmatched.Add(1)
		return false
	}
	if c.rej == nil {
		c.rej = &ICMPReject{Type: p.ICMPType, Code: p.ICMPCode, From: p.Src}
	}
	t.st.ICMPAttached.Add(1)
	return true
}

// Advance moves the clock to now (if later) and expires what is due, for
// workers that have no packets to drive their clock.
//
// With Config.ExpireOnAdvance it always expires what is due at the clock,
// which SetClock may already have moved to now.
func (t *Table) Advance(now int64) {
	if now > t.now {
		t.now = now
		t.expire()
	} else if t.cfg.ExpireOnAdvance {
		t.expire()
	}
}

// SetClock moves the table's clock to now (if later) without expiring
// anything: with Config.ExpireOnAdvance the caller sets the clock it keeps
// for all tables before each packet, so a flow's last-activity time does
// not depend on which other packets this table saw.
func (t *Table) SetClock(now int64) {
	if now > t.now {
		t.now = now
	}
}

// expireDue ends c if its idle deadline passed (Config.ExpireOnAdvance: no
// sweep ran since) and reports whether it did, exactly as expire would have
// before the packet that found it.
func (t *Table) expireDue(c *conn) bool {
	if c.touched > t.now-t.timeouts[c.class] {
		return false
	}
	if c.class == clsTCPGrace {
		t.bury(c, c.touched)
		return true
	}
	state := EndTimeout
	if c.closing {
		state = c.closeState()
	}
	t.finish(c, state, false)
	return true
}

// Flush emits every open flow as final, with why (normally EndShutdown);
// flows already lingering after FIN or RST keep their
// closed or reset state. Buffered data is delivered (holes become gaps)
// first. The table is empty and holds no Memory afterwards.
func (t *Table) Flush(why EndReason) {
	defer t.clearTombs()
	defer t.flows.shrink()
	for cls := range t.lists {
		for c := t.lists[cls].head; c != nil; c = t.lists[cls].head {
			s := why
			if c.closing {
				s = c.closeState()
			}
			t.finish(c, s, false)
		}
	}
}

// FlushOrdered is Flush with the flows ended in the order of key (each
// flow's key computed once), so a caller that merges several tables' output
// by that key can stream it instead of holding every record at once.
func (t *Table) FlushOrdered(why EndReason, key func(*Flow) string) {
	defer t.clearTombs()
	defer t.flows.shrink()
	type keyed struct {
		k string
		c *conn
	}
	all := make([]keyed, 0, t.open)
	for cls := range t.lists {
		for c := t.lists[cls].head; c != nil; c = c.links[linkIdle].next {
			all = append(all, keyed{key(&c.Flow), c})
		}
	}
	slices.SortFunc(all, func(a, b keyed) int { return strings.Compare(a.k, b.k) })
	for _, e := range all {
		s := why
		if e.c.closing {
			s = e.c.closeState()
		}
		t.finish(e.c, s, false)
	}
}

// Each calls fn for every open flow, in the table's list order (by
// timeout class, least recently active first). fn must not end flows.
func (t *Table) Each(fn func(*Flow)) {
	for cls := range t.lists {
		for c := t.lists[cls].head; c != nil; c = c.links[linkIdle].next {
			fn(&c.Flow)
		}
	}
}

func (t *Table) classOf(c *conn) uint8 {
	switch c.Proto {
	case capture.ProtoTCP:
		switch {
		case c.closing && t.timeouts[clsTCPGrace] > 0 && c.mayBury():
			return clsTCPGrace
		case c.closing:
			return clsTCPClosed
		case c.est:
			return clsTCPEst
		}
		return clsTCPNew
	case capture.ProtoUDP:
		if c.SrcPort == 53 || c.DstPort == 53 {
			return clsDNS
		}
		return clsUDP
	}
	return clsOther
}

// expire emits flows whose idle deadline or active-timeout report is due.
func (t *Table) expire() {
	if t.tombs.len() > 0 {
		t.expireTombs()
	}
	for cls := range t.lists {
		l := &t.lists[cls]
		limit := t.now - t.timeouts[cls]
		for c := l.head; c != nil && c.touched <= limit; c = l.head {
			if cls == clsTCPGrace {
				t.bury(c, c.touched)
				continue
			}
			state := EndTimeout
			if c.closing {
				state = c.closeState()
			}
			t.finish(c, state, false)
		}
	}
	t.flows.shrink()
	if t.cfg.ActiveTimeout <= 0 {
		return
	}
	limit := t.now - int64(t.cfg.ActiveTimeout)
	for c := t.active.head; c != nil && c.reportAt <= limit; c = t.active.head {
		t.h.Emit(&c.Flow, EndActive, false)
		t.st.InterimRecords.Add(1)
		c.reportAt = t.now
		t.active.remove(c, linkActive)
		t.active.pushBack(c, linkActive)
	}
}

// create makes the flow for p's key (k, hash kh), evicting the least recently active
// flow when the table is full.
func (t *Table) create(k flowKey, kh uint64, swapped bool, p *capture.Packet) *conn {
	if t.open >= t.cfg.MaxFlows {
		t.evictLRU()
	}
	t.makeRoom()
	var c *conn
	if n := len(t.free); n > 0 {
		c = t.free[n-1]
		t.free[n-1] = nil
		t.free = t.free[:n-1]
	} else {
		c = new(conn)
	}
	c.key = k
	senderInit := initiatorIsSender(p)
	prev, cont := t.continuation(k, swapped, p)
	if cont {
		senderInit = prev.srcIsLo != swapped // oriented like the flow it continues
		c.Continues, c.PrevStart = true, prev.start
		t.st.FlowsContinued.Add(1)
	}
	// The sender is key.lo unless swapped.
	c.srcIsLo = senderInit != swapped
	f := &c.Flow
	if senderInit {
		f.Src, f.Dst, f.SrcPort, f.DstPort = p.Src, p.Dst, p.SrcPort, p.DstPort
	} else {
		f.Src, f.Dst, f.SrcPort, f.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
		// Zeek's '^': the initiator is not the first packet's sender.
		f.addHistory('^')
	}
	if p.Proto != capture.ProtoTCP && p.Proto != capture.ProtoUDP {
		f.SrcPort, f.DstPort = 0, 0
	}
	f.Proto = p.Proto
	f.Hash = p.FlowHash()
	f.Start, f.Last = p.TS, p.TS
	f.VLAN, f.NVLAN = p.VLAN, p.NVLAN
	if p.Tunnel != (capture.TunnelInfo{}) {
		tun := p.Tunnel
		f.tunnel = &tun
	}
	if p.Proto == capture.ProtoICMP || p.Proto == capture.ProtoICMPv6 {
		f.ICMPType, f.ICMPCode = p.ICMPType, p.ICMPCode
	}
	// A flow first seen with ACK but no SYN was picked up mid-stream: treat
	// it as established so it gets the long timeout. Without ACK (NULL, FIN
	// or Xmas scans) it keeps the short not-established timeout.
	c.est = p.Proto == capture.ProtoTCP && p.TCPFlags&(capture.TCPSyn|capture.TCPAck) == capture.TCPAck
	c.touched, c.reportAt = t.now, t.now
	c.class = t.classOf(c)
	t.indexAt(kh, c)
	t.lists[c.class].pushBack(c, linkIdle)
	t.active.pushBack(c, linkActive)
	t.st.FlowsCreated.Add(1)
	t.st.FlowsOpen.Add(1)

	c.stream = t.h.Open(f)
	if c.stream == nil {
		t.st.StreamsDeclined.Add(1)
	}
	_, c.wantsOv = c.stream.(Overlapper)
	for d := range c.half {
		c.half[d].done = c.stream == nil
	}
	return c
}

// tellClosed tells a closing flow's consumer (a Closer) that nothing more
// will reach it, once neither direction holds bytes the table could still
// deliver (buffered out-of-order or SYN data) or compare a retransmission
// with (delivered bytes not yet acknowledged). Until then it is asked again
// at the flow's next packet: the final ACKs usually come right after the
// FINs. A flow that ends before that is finished the usual way.
func (t *Table) tellClosed(c *conn) {
	if c.stream == nil {
		c.told, c.early = true, true
		return
	}
	for d := range c.half {
		h := &c.half[d]
		if h.halfExtra != nil && !h.idle() {
			return
		}
	}
	c.told, c.early = true, true
	if cl, ok := c.stream.(Closer); ok {
		c.early = cl.Closed()
	}
}

// mayBury reports whether c may be emitted and leave a tombstone: its
// consumer was told it closed and agreed (see Closer), and the close is
// over on the wire.
func (c *conn) mayBury() bool { return c.told && c.early && c.closeComplete() }

// closeComplete reports whether c's close is over on the wire: an
// accepted RST, or FIN both ways with each FIN acknowledged by the peer
// (so the ordinary last ACK of the four-way close is in the record).
func (c *conn) closeComplete() bool {
	if c.rst {
		return true
	}
	for d := range c.half {
		h, peer := &c.half[d], &c.half[1-d]
		if !h.finSeen || !peer.ackSeen || int32(peer.ack-(h.finSeq+1)) < 0 {
			return false
		}
	}
	return true
}

// initiatorIsSender decides whether p's sender is the flow's initiator.
func initiatorIsSender(p *capture.Packet) bool {
	switch p.Proto {
	case capture.ProtoTCP:
		switch p.TCPFlags & (capture.TCPSyn | capture.TCPAck) {
		case capture.TCPSyn:
			return true
		case capture.TCPSyn | capture.TCPAck:
			return false
		}
		return senderIsClient(p.SrcPort, p.DstPort)
	case capture.ProtoUDP:
		return senderIsClient(p.SrcPort, p.DstPort)
	case capture.ProtoICMP:
		// echo reply, timestamp reply, information reply, address mask reply
		switch p.ICMPType {
		case 0, 14, 16, 18:
			return false
		}
	case capture.ProtoICMPv6:
		// echo reply, multicast listener report answers a query
		switch p.ICMPType {
		case 129, 131:
			return false
		}
	}
	return true
}

// evictLRU ends the least recently active flow: the oldest head across the
// class lists.
// It reports whether a flow was evicted.
func (t *Table) evictLRU() bool {
	var victim *conn
	for cls := range t.lists {
		if h := t.lists[cls].head; h != nil && (victim == nil || h.touched < victim.touched) {
			victim = h
		}
	}
	if victim == nil {
		return false
	}
	t.finish(victim, EndTimeout, true)
	return true
}

// finish delivers what is still buffered (holes become gaps), emits the
// final record and recycles the flow.
func (t *Table) finish(c *conn, state EndReason, evicted bool) {
	t.lists[c.class].remove(c, linkIdle)
	t.active.remove(c, linkActive)
	t.unindex(c)
	for d := range c.half {
		t.flushHalf(c, Dir(d))
	}
	t.h.Emit(&c.Flow, state, true)
	if state == EndTimeout && !evicted && c.Proto == capture.ProtoTCP && !c.closing {
		t.remember(c)
	}
	t.st.countEnd(state, evicted)
	t.st.FlowsOpen.Add(-1)
	t.recycle(c)
}

func (t *Table) recycle(c *conn) {
	t.release(c)
	for d := range c.half {
		t.releaseSegs(c, Dir(d))
		t.releaseRing(c, Dir(d))
		if c.half[d].heldSyn() {
			t.synVerdict(c, Dir(d), false, c.Last)
		}
		if x := c.half[d].halfExtra; x != nil {
			t.takeBack(&c.half[d])
		}
	}
	*c = conn{}
	if len(t.free) >= maxFreeConns {
		return
	}
	t.free = append(t.free, c)
}
