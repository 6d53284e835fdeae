package reassembly

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tapdlp/tapdlp/capture"
)

const sec = int64(time.Second)

// t0 is an arbitrary packet-time origin for tests.
const t0 = 1_700_000_000 * sec

var (
	cliAddr = netip.MustParseAddr("10.0.0.1")
	srvAddr = netip.MustParseAddr("192.0.2.80")
)

// emitted is one Handler.Emit call, with the Flow copied at call time and
// the stream transcript so far.
type emitted struct {
	flow       Flow
	state      EndReason
	final      bool
	history    string
	transcript [2]string
}

// recStream records each direction as one transcript string: data bytes
// verbatim, gaps as "<gap N>". It can decline after a byte budget.
type recStream struct {
	f      *Flow
	buf    [2]strings.Builder
	budget [2]int // >0: return false once this many bytes were delivered
	got    [2]int
}

func (s *recStream) Data(d Dir, b []byte, ts int64) bool {
	s.buf[d].Write(b)
	s.got[d] += len(b)
	return s.budget[d] == 0 || s.got[d] < s.budget[d]
}

func (s *recStream) Gap(d Dir, n int) { fmt.Fprintf(&s.buf[d], "<gap %d>", n) }

// recHandler records opens and emits. decline makes Open return nil.
type recHandler struct {
	decline bool
	budget  [2]int
	live    map[*Flow]*recStream
	opens   int
	emits   []emitted
}

func newRecHandler() *recHandler { return &recHandler{live: map[*Flow]*recStream{}} }

func (h *recHandler) Open(f *Flow) Stream {
	h.opens++
	if h.decline {
		return nil
	}
	s := &recStream{f: f, budget: h.budget}
	h.live[f] = s
	return s
}

func (h *recHandler) Emit(f *Flow, state EndReason, final bool) {
	e := emitted{flow: *f, state: state, final: final, history: f.History()}
	if s := h.live[f]; s != nil {
		e.transcript = [2]string{s.buf[0].String(), s.buf[1].String()}
		if final {
			delete(h.live, f)
		}
	}
	h.emits = append(h.emits, e)
}

func (h *recHandler) finals() []emitted {
	var out []emitted
	for _, e := range h.emits {
		if e.final {
			out = append(out, e)
		}
	}
	return out
}

// seg describes one synthetic TCP packet of a test conversation: in is the
// responder's direction; seq and ack are relative to each side's ISN.
type tpkt struct {
	in    bool
	flags uint8
	seq   uint32
	ack   uint32
	data  string
	at    int64 // packet time offset from t0, ns
	win   uint16
	sum   capture.ChecksumState
}

const (
	fS  = capture.TCPSyn
	fSA = capture.TCPSyn | capture.TCPAck
	fA  = capture.TCPAck
	fPA = capture.TCPPsh | capture.TCPAck
	fFA = capture.TCPFin | capture.TCPAck
	fR  = capture.TCPRst
	fRA = capture.TCPRst | capture.TCPAck
)

// tcpPacket builds the capture.Packet of tp for a client 10.0.0.1:40000 and
// a server 192.0.2.80:80 with the given ISNs.
func tcpPacket(tp tpkt, isnCli, isnSrv uint32) *capture.Packet {
	p := &capture.Packet{
		TS: t0 + tp.at, Proto: capture.ProtoTCP, TCPFlags: tp.flags,
		Src: cliAddr, Dst: srvAddr, SrcPort: 40000, DstPort: 80,
		Seq: isnCli + tp.seq, Ack: isnSrv + tp.ack, Window: 65535,
		Payload: []byte(tp.data), IPLen: 40 + len(tp.data), Checksum: tp.sum,
	}
	if tp.win != 0 {
		p.Window = tp.win - 1 // win is window+1 so that 0 means "default"
	}
	if tp.in {
		p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
		p.Seq, p.Ack = isnSrv+tp.seq, isnCli+tp.ack
	}
	return p
}

func udpPacket(at int64, src, dst netip.Addr, sp, dp uint16, data string) *capture.Packet {
	return &capture.Packet{
		TS: t0 + at, Proto: capture.ProtoUDP, Src: src, Dst: dst, SrcPort: sp, DstPort: dp,
		Payload: []byte(data), IPLen: 28 + len(data),
	}
}
