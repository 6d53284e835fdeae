package demux

import (
	"net/netip"
	"sync/atomic"

	"github.com/tapdlp/tapdlp/appproto/dns"
)

// dnsScratch is a DNS message decoder and answer buffer, reused.
type dnsScratch struct {
	msg   dns.Message
	addrs []netip.Addr
}

// learn hands the parsed response in s.msg to a: the question's name (a
// string from names: the same names are asked again and again), its
// address answers and their smallest TTL, for client.
func (s *dnsScratch) learn(a DNSAnswers, names *nameCache, client netip.Addr, ts int64) {
	m := &s.msg
	if a == nil || !m.Header.Response() || m.NumAddrs() == 0 {
		return
	}
	s.addrs = s.addrs[:0]
	minTTL := ^uint32(0)
	for i := 0; i < m.NumAddrs(); i++ {
		addr, ttl, _, _ := m.Addr(i)
		s.addrs = append(s.addrs, addr)
		minTTL = min(minTTL, ttl)
	}
	a.Add(client, names.str(m.QName()), s.addrs, minTTL, ts)
}

// Learner is the dispatcher's half of DNS learning (DispatcherLearnsDNS):
// it sees every packet in packet order, before the packet's flow is
// dispatched, and learns the answers of UDP responses from port 53 or 5353,
// so a later flow finds the answer its client acted on whichever worker
// handled the response, and a replay names flows the same way every time.
// One dispatcher goroutine owns it.
type Learner struct {
	s       dnsScratch
	answers DNSAnswers
	names   nameCache
	evicted atomic.Uint64 // names the dispatcher's cache replaced (not exported: the workers' count is the signal)
}

// NewLearner returns a Learner feeding a.
func NewLearner(a DNSAnswers) *Learner {
	l := &Learner{answers: a}
	l.names.init(&l.evicted)
	return l
}

// Packet learns the answers of one packet if DispatcherLearnsDNS says the
// dispatcher owns it: transport proto, source port, the destination
// (the client asking) and the L4 payload (only read during the call).
func (l *Learner) Packet(proto uint8, srcPort uint16, client netip.Addr, payload []byte, ts int64) {
	if !DispatcherLearnsDNS(proto, srcPort) || l.s.msg.Parse(payload) != nil {
		return
	}
	l.s.learn(l.answers, &l.names, client, ts)
}
