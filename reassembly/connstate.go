package reassembly

import "github.com/tapdlp/tapdlp/capture"

// ConnState is a flow's connection state in Zeek's conn.log vocabulary
// (conn_state), so Zeek users read it at once. It is derived at record
// time from the history letters and packet counts, following the decision
// order of Zeek's own conn_state function (base/protocols/conn/main.zeek).
type ConnState uint8

// Zeek's connection states.
const (
	ConnNone   ConnState = iota // not TCP or UDP: no state is reported
	ConnS0                      // connection attempt seen, no reply
	ConnS1                      // established, not terminated
	ConnSF                      // normal establishment and termination
	ConnREJ                     // connection attempt rejected (SYN answered by RST)
	ConnS2                      // established, originator closed, no reply from the responder
	ConnS3                      // established, responder closed, no reply from the originator
	ConnRSTO                    // established, originator aborted (RST)
	ConnRSTR                    // responder sent a RST
	ConnRSTOS0                  // originator sent SYN then RST, no SYN-ACK seen
	ConnRSTRH                   // responder sent SYN-ACK then RST, no SYN from the originator seen
	ConnSH                      // originator sent SYN then FIN, no SYN-ACK seen
	ConnSHR                     // responder sent SYN-ACK then FIN, no SYN from the originator seen
	ConnOTH                     // no SYN seen: midstream traffic
)

var connStateNames = [...]string{"", "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}

// String returns Zeek's name for the state, or "" for ConnNone.
func (c ConnState) String() string {
	if int(c) < len(connStateNames) {
		return connStateNames[c]
	}
	return ""
}

// endpointState is one side's TCP state as Zeek's analyzer tracks it.
type endpointState uint8

const (
	epInactive endpointState = iota
	epSynSent
	epSynAckSent
	epPartial
	epEstablished
	epClosed
	epReset
)

// ConnState derives the flow's Zeek connection state. It reads the history
// letters (upper case: originator), so it is exact for the first event of
// each kind, as Zeek's is.
func (f *Flow) ConnState() ConnState {
	var seen [2][nEvents]bool
	for _, l := range f.history[:f.nhistory] {
		d := DirOut
		if l >= 'a' && l <= 'z' {
			d, l = DirIn, l-('a'-'A')
		}
		for ev, el := range eventLetters {
			if el == l {
				seen[d][ev] = true
			}
		}
	}
	switch f.Proto {
	case capture.ProtoTCP:
		return tcpConnState(seen, f.Packets)
	case capture.ProtoUDP:
		return udpConnState(f.Packets)
	}
	return ConnNone
}

func udpConnState(pkts [2]uint64) ConnState {
	o, r := pkts[DirOut] > 0, pkts[DirIn] > 0
	switch {
	case o && r:
		return ConnSF
	case o:
		return ConnS0
	case r:
		return ConnSHR
	}
	return ConnOTH
}

func tcpConnState(seen [2][nEvents]bool, pkts [2]uint64) ConnState {
	o, r := seen[DirOut], seen[DirIn]
	// A SYN that came together with FIN or RST (Q) still opened the attempt.
	oSyn, rSynAck := o[evSyn] || o[evMulti], r[evSynAck]
	os := endpoint(o, oSyn, rSynAck, epSynSent, pkts[DirOut])
	rs := endpoint(r, rSynAck, oSyn, epSynAckSent, pkts[DirIn])
	oInactive := os == epInactive || os == epPartial
	rInactive := rs == epInactive || rs == epPartial
	switch {
	case rs == epReset:
		if os == epSynSent || os == epSynAckSent || (os == epReset && !o[evData] && !r[evData]) {
			return ConnREJ
		}
		if oInactive {
			return ConnRSTRH
		}
		return ConnRSTR
	case os == epReset:
		if rInactive {
			return ConnRSTOS0
		}
		return ConnRSTO
	case rs == epClosed && os == epClosed:
		return ConnSF
	case os == epClosed:
		if rInactive {
			return ConnSH
		}
		return ConnS2
	case rs == epClosed:
		if oInactive {
			return ConnSHR
		}
		return ConnS3
	case os == epSynSent && rs == epInactive:
		return ConnS0
	case os == epEstablished && rs == epEstablished:
		return ConnS1
	}
	return ConnOTH
}

// endpoint is one side's state: reset and closed win (Zeek keeps the last
// transition, and both are final); a side that opened (the originator's
// SYN, the responder's SYN-ACK) is established once the handshake's other
// half was seen (Zeek raises connection_established on the responder's
// SYN-ACK), else still opening; a side that sent packets without opening
// was picked up midstream (partial).
func endpoint(s [nEvents]bool, opened, peerAnswered bool, opening endpointState, pkts uint64) endpointState {
	switch {
	case s[evRst] || s[evIncons]:
		return epReset
	case s[evFin]:
		return epClosed
	case opened && peerAnswered:
		return epEstablished
	case opened:
		return opening
	case pkts > 0:
		return epPartial
	}
	return epInactive
}
