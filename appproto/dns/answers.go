package dns

import (
	"bytes"
	"encoding/binary"
	"net/netip"
)

// SVCB/HTTPS parameter keys (RFC 9460) carrying address hints.
const (
	svcKeyIPv4Hint = 4
	svcKeyIPv6Hint = 6
)

// addHints turns the ipv4hint/ipv6hint parameters of one HTTPS/SVCB rdata
// into kept address records. Malformed rdata contributes nothing.
func (m *Message) addHints(owner span, typ uint16, ttl uint32, rd []byte) (added int) {
	if len(rd) < 3 {
		return 0
	}
	// TargetName is never compressed (RFC 9460 §2.2); a pointer here is bogus.
	_, end, flags, err := readName(rd, 2, nil)
	if err != nil || flags&NameCompressed != 0 {
		return 0
	}
	p := rd[end:]
	for len(p) >= 4 {
		key := binary.BigEndian.Uint16(p)
		n := int(binary.BigEndian.Uint16(p[2:]))
		if 4+n > len(p) {
			return added
		}
		val := p[4 : 4+n]
		p = p[4+n:]
		size := 0
		switch key {
		case svcKeyIPv4Hint:
			size = 4
		case svcKeyIPv6Hint:
			size = 16
		default:
			continue
		}
		for ; len(val) >= size; val = val[size:] {
			if m.nrr >= MaxRRs || added >= MaxHints {
				m.DroppedRRs++
				return added
			}
			r := rr{name: owner, typ: typ, ttl: ttl}
			if size == 4 {
				r.addr = netip.AddrFrom4([4]byte(val[:4]))
			} else {
				r.addr = netip.AddrFrom16([16]byte(val[:16]))
			}
			m.rrs[m.nrr] = r
			m.nrr++
			added++
		}
	}
	return added
}

// resolve follows the CNAME chain from the question name and marks the
// address records that belong to it. Records whose owner is not on the
// chain are ignored: a resolver has no business answering for them, and
// trusting them would let one response poison unrelated names.
func (m *Message) resolve() {
	m.nchain, m.nhits = 0, 0
	if m.QDCount == 0 {
		return
	}
	m.chain[0] = m.qname
	m.nchain = 1
	for m.nchain < MaxChain {
		cur := m.bytes(m.chain[m.nchain-1])
		found := false
		for i := 0; i < m.nrr; i++ {
			r := &m.rrs[i]
			if r.typ != TypeCNAME || !bytes.Equal(m.bytes(r.name), cur) {
				continue
			}
			if m.onChain(m.bytes(r.target)) {
				break // a CNAME loop: stop where we are
			}
			m.chain[m.nchain] = r.target
			m.nchain++
			found = true
			break
		}
		if !found {
			break
		}
	}
	for i := 0; i < m.nrr; i++ {
		r := &m.rrs[i]
		if r.typ != TypeCNAME && m.onChain(m.bytes(r.name)) {
			m.hits[m.nhits] = uint8(i)
			m.nhits++
		}
	}
}

func (m *Message) onChain(name []byte) bool {
	for i := 0; i < m.nchain; i++ {
		if bytes.Equal(m.bytes(m.chain[i]), name) {
			return true
		}
	}
	return false
}

// ChainLen is the number of names on the CNAME chain, the question name
// included (0 when there is no question).
func (m *Message) ChainLen() int { return m.nchain }

// ChainName returns the i-th name on the chain: 0 is the question name,
// ChainLen()-1 the canonical name. Valid until the next Parse.
func (m *Message) ChainName(i int) []byte { return m.bytes(m.chain[i]) }

// Canonical returns the last name of the CNAME chain (the question name
// when there is no CNAME). Valid until the next Parse.
func (m *Message) Canonical() []byte {
	if m.nchain == 0 {
		return nil
	}
	return m.bytes(m.chain[m.nchain-1])
}

// NumAddrs is the number of addresses the question name resolved to.
func (m *Message) NumAddrs() int { return m.nhits }

// Addr returns the i-th resolved address, its TTL, the type of record that
// carried it (A, AAAA, HTTPS or SVCB) and the chain name that owned it.
// It allocates nothing; owner is valid until the next Parse.
func (m *Message) Addr(i int) (addr netip.Addr, ttl uint32, typ uint16, owner []byte) {
	r := &m.rrs[m.hits[i]]
	return r.addr, r.ttl, r.typ, m.bytes(r.name)
}

// Answer is one address a client's question resolved to.
type Answer struct {
	Name   string // the name the client asked for (head of the CNAME chain)
	Target string // the name that owned the address record (canonical name)
	Addr   netip.Addr
	TTL    uint32
	Type   uint16 // TypeA, TypeAAAA, TypeHTTPS or TypeSVCB
}

// AppendAnswers appends the resolved addresses to dst. It allocates the
// strings it returns: the question name once, and each target name once.
func (m *Message) AppendAnswers(dst []Answer) []Answer {
	if m.nhits == 0 {
		return dst
	}
	name := string(m.QName())
	var lastOwner []byte
	var lastTarget string
	for i := 0; i < m.nhits; i++ {
		addr, ttl, typ, owner := m.Addr(i)
		switch {
		case bytes.Equal(owner, m.QName()):
			lastTarget = name
		case lastOwner == nil || !bytes.Equal(owner, lastOwner):
			lastTarget = string(owner)
		}
		lastOwner = owner
		dst = append(dst, Answer{Name: name, Target: lastTarget, Addr: addr, TTL: ttl, Type: typ})
	}
	return dst
}
