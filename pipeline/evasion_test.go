package pipeline

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/reassembly"
)

// The card every evasion case hides, and a harmless decoy of the same length.
const (
	evasionCard  = "payment card 4111 1111 1111 1111 exp 12/29\n"
	evasionDecoy = "payment note nothing to see here, move on\n"
)

// evasionFlow is one record of a replayed evasion capture.
type evasionFlow struct {
	Proto     string `json:"proto"`
	State     string `json:"state"`
	Sensitive []struct {
		Type string `json:"type"`
	} `json:"sensitive"`
	Reassembly *struct {
		Overlaps uint64 `json:"overlaps"`
	} `json:"reassembly"`
}

func (f evasionFlow) hasCard() bool {
	for _, s := range f.Sensitive {
		if s.Type == "credit_card" {
			return true
		}
	}
	return false
}

// writeCapture writes IP packets (nil: a pause of 30 s of packet time) to
// a pcap file and returns its path.
func writeCapture(t *testing.T, pkts [][]byte) string {
	t.Helper()
	return writeCaptureStep(t, pkts, 0)
}

// withTTL rebuilds an IPv4 packet with another TTL (and a correct header
// checksum): a decoy that expires before the receiving host.
func withTTL(ip []byte, ttl uint8) []byte {
	b := append([]byte(nil), ip...)
	b[8] = ttl
	binary.BigEndian.PutUint16(b[10:12], 0)
	binary.BigEndian.PutUint16(b[10:12], pcapgen.Checksum(b[:20], 0))
	return b
}

// badTCPSum damages the TCP checksum of an IPv4 packet without options.
func badTCPSum(ip []byte) []byte {
	b := append([]byte(nil), ip...)
	b[20+16] ^= 0xff
	return b
}

// Each case is a way to show the receiving Linux host a card that the
// sensor, as it was, did not see (issue 11 item 4); every one must now be
// found.
func TestEvasionsFound(t *testing.T) {
	cli, srv := ap("10.9.0.5:41000"), ap("192.0.2.99:9000")
	conn := func() *pcapgen.TCPConn { return pcapgen.NewTCPConn(cli, srv, 1000, 9000) }
	half := len(evasionCard) / 2

	_, wantsAlt := any(new(session)).(reassembly.Overlapper)

	tests := []struct {
		name     string
		pkts     func() [][]byte
		overlaps bool // the flow must be marked (record reassembly.overlaps)
		needsAlt bool // found only by scanning the conflicting copy
	}{
		{
			name: "decoy with a bad TCP checksum takes the card's place",
			pkts: func() [][]byte {
				c := conn()
				pk := c.Packets(c.Handshake())
				decoy := badTCPSum(c.Packet(c.At(true, 0, []byte(evasionDecoy))))
				real := c.Packets(c.Send(true, []byte(evasionCard)))
				return append(append(pk, decoy), real...)
			},
		},
		{
			name: "decoy with a TTL too low to reach the host",
			pkts: func() [][]byte {
				c := conn()
				pk := c.Packets(c.Handshake())
				decoy := withTTL(c.Packet(c.At(true, 0, []byte(evasionDecoy))), 1)
				real := c.Packets(c.Send(true, []byte(evasionCard)))
				return append(append(pk, decoy), real...)
			},
			overlaps: true, needsAlt: true,
		},
		{
			name: "retransmission over delivered bytes carrying other bytes",
			pkts: func() [][]byte {
				c := conn()
				pk := c.Packets(c.Handshake())
				first := c.Packets(c.Send(true, []byte(evasionDecoy)))
				again := c.Packet(c.At(true, 0, []byte(evasionCard)))
				return append(append(pk, first...), again)
			},
			overlaps: true, needsAlt: true,
		},
		{
			name: "decoy payload on the SYN, which a host without Fast Open ignores",
			pkts: func() [][]byte {
				c := conn()
				hs := c.Handshake()
				syn := hs[0]
				syn.Payload = []byte(evasionDecoy)
				pk := c.Packets(append([]pcapgen.Segment{syn}, hs[1:]...))
				return append(pk, c.Packets(c.Send(true, []byte(evasionCard)))...)
			},
		},
		{
			name: "out-of-window RST and a pause split the card",
			pkts: func() [][]byte {
				c := conn()
				pk := c.Packets(c.Handshake())
				pk = append(pk, c.Packets(c.Send(true, []byte(evasionCard[:half])))...)
				rst := c.Reset(false)
				rst.Seq += 1 << 30 // far outside the window
				pk = append(pk, c.Packet(rst), nil)
				return append(pk, c.Packets(c.Send(true, []byte(evasionCard[half:])))...)
			},
		},
		{
			name: "in-window RST at the wrong sequence number and a pause split the card",
			pkts: func() [][]byte {
				c := conn()
				pk := c.Packets(c.Handshake())
				pk = append(pk, c.Packets(c.Send(true, []byte(evasionCard[:half])))...)
				rst := c.Reset(false)
				rst.Seq += 1000 // in the window, not the next byte: a challenge ACK
				pk = append(pk, c.Packet(rst), nil)
				return append(pk, c.Packets(c.Send(true, []byte(evasionCard[half:])))...)
			},
		},
		{
			name: "IPv6 datagram behind 12 extension headers",
			pkts: func() [][]byte {
				c6, s6 := ap("[2001:db8::5]:41000"), ap("[2001:db8::99]:9000")
				chain := []byte{}
				for i := range 12 {
					next := byte(60)
					if i == 11 {
						next = pcapgen.ProtoUDP
					}
					chain = append(chain, next, 0, 1, 4, 0, 0, 0, 0)
				}
				chain = append(chain, pcapgen.UDP(c6, s6, []byte(evasionCard))...)
				return [][]byte{pcapgen.IPv6Header{Src: c6.Addr(), Dst: s6.Addr(), NextHeader: 60}.Marshal(chain)}
			},
		},
		{
			name: "IPv4 datagram in more than 64 fragments",
			pkts: func() [][]byte {
				body := []byte(strings.Repeat("padding ", 60) + evasionCard)
				udp := pcapgen.UDP(cli, srv, body)
				frags := pcapgen.IPv4Fragments(pcapgen.IPv4Header{Src: cli.Addr(), Dst: srv.Addr(), Proto: pcapgen.ProtoUDP, ID: 77}, udp, 8)
				if len(frags) <= 64 {
					t.Fatalf("only %d fragments", len(frags))
				}
				return frags
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var flows []evasionFlow
			for _, l := range replayRecords(t, "", 1, writeCapture(t, tc.pkts())) {
				var f evasionFlow
				if err := json.Unmarshal([]byte(l), &f); err != nil {
					t.Fatal(err)
				}
				if f.Proto == "tcp" || f.Proto == "udp" {
					flows = append(flows, f)
				}
			}
			if len(flows) != 1 {
				t.Fatalf("%d flow records, want 1 (the flow must not be split): %+v", len(flows), flows)
			}
			f := flows[0]
			if tc.overlaps && (f.Reassembly == nil || f.Reassembly.Overlaps == 0) {
				t.Errorf("record does not mark the conflicting retransmission: %+v", f.Reassembly)
			}
			if tc.needsAlt && !wantsAlt {
				t.Fatal("the pipeline session does not implement reassembly.Overlapper: the conflicting copy is counted but not scanned")
			}
			if !f.hasCard() {
				t.Errorf("card not found: %+v", f)
			}
		})
	}
}
