package http

// MethodKind is what the response side must know about the request it
// answers: HEAD responses have no body, CONNECT 2xx starts a tunnel.
type MethodKind uint8

// Method kinds. MethodUnknown means the request side did not see it.
const (
	MethodUnknown MethodKind = iota
	MethodOther
	MethodHEAD
	MethodCONNECT
)

// maxPending bounds the requests a Pairing remembers while their responses
// are outstanding. Browsers pipeline a handful at most; beyond this the
// oldest is forgotten and counted (Pairing.Dropped).
const maxPending = 32

// verdicts for a CONNECT or Upgrade request waiting for its response.
const (
	verdictNone     uint8 = iota // no switch pending
	verdictPending               // a CONNECT/Upgrade request awaits its response
	verdictAccepted              // 2xx to CONNECT or 101: the connection is a tunnel
	verdictRejected              // any other final response: HTTP continues
)

// Pairing carries request methods, in order, from a connection's request
// Parser to its response Parser, and the response's verdict on CONNECT or
// Upgrade back. The lead makes one per connection and passes it to both.
// It is not safe for concurrent use (both sides run on the flow's worker).
type Pairing struct {
	q       [maxPending]MethodKind
	head, n int
	verdict uint8
	// Dropped counts requests forgotten because maxPending were outstanding.
	Dropped int
}

// Reset forgets everything, for reuse on another connection.
func (p *Pairing) Reset() { *p = Pairing{} }

// push queues a request's method; it reports whether the oldest was
// forgotten to make room.
func (p *Pairing) push(k MethodKind) (dropped bool) {
	if p == nil {
		return false
	}
	if p.n == maxPending {
		dropped = true
		p.head = (p.head + 1) % maxPending
		p.n--
		p.Dropped++
	}
	p.q[(p.head+p.n)%maxPending] = k
	p.n++
	return dropped
}

func (p *Pairing) pop() MethodKind {
	if p == nil || p.n == 0 {
		return MethodUnknown
	}
	k := p.q[p.head]
	p.head = (p.head + 1) % maxPending
	p.n--
	return k
}

func (p *Pairing) setVerdict(v uint8) {
	if p != nil {
		p.verdict = v
	}
}

func (p *Pairing) getVerdict() uint8 {
	if p == nil {
		return verdictNone
	}
	return p.verdict
}
