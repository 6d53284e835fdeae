package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
)

// The idle timeout of these tests: the captures pause 30 s (a nil packet
// in writeCapture), longer than it and shorter than the two timeouts
// within which the flow table recognises a continuation.
const contConfig = "flows:\n  tcp_established_timeout: 20s\n"

// contFlow is one flow record of a continuation test.
type contFlow struct {
	Proto string `json:"proto"`
	State string `json:"state"`
	Src   struct {
		Port uint16 `json:"port"`
	} `json:"src"`
	Sensitive []struct {
		Type      string   `json:"type"`
		Direction string   `json:"direction"`
		Evidence  []string `json:"evidence"`
	} `json:"sensitive"`
}

func (f contFlow) found(typ string) bool {
	for _, s := range f.Sensitive {
		if s.Type == typ {
			return true
		}
	}
	return false
}

// replayOpts replays files with one worker and opts, returning the
// pipeline and its TCP flow records in order.
func replayOpts(t *testing.T, cfgYAML string, opts Options, files ...string) (*Pipeline, []contFlow, string) {
	t.Helper()
	cfg, err := parseTestConfig(cfgYAML)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 1
	var out bytes.Buffer
	sink := record.NewWriterSink(&out)
	opts.Sink = sink
	p, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Replay(context.Background(), files); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	var flows []contFlow
	for _, l := range flowRecords(strings.Split(strings.TrimSpace(out.String()), "\n")) {
		var f contFlow
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatal(err)
		}
		if f.Proto == "tcp" {
			flows = append(flows, f)
		}
	}
	return p, flows, out.String()
}

// A value split across an idle pause longer than the flow timeout is
// found on the record of the flow that continues the connection, in
// either direction, once; a flow on another 5-tuple is not joined.
func TestContinuationJoinsSplitValues(t *testing.T) {
	cli, srv := ap("10.9.0.5:41000"), ap("192.0.2.99:9000")
	const card = "payment card 4111 1111 1111 1111 exp 12/29\n"
	const ssn = "employee SSN: 536-22-8741 on file\n"
	cut := strings.Index(card, "4111 1111 ") + len("4111 1111")
	tests := []struct {
		name    string
		pkts    func() [][]byte
		typ     string
		records int
		want    [2]bool // found on the first, the second record
		dir     string
	}{
		{
			name: "card split by the pause, client to server",
			pkts: func() [][]byte {
				c := pcapgen.NewTCPConn(cli, srv, 1000, 9000)
				pk := c.Packets(append(c.Handshake(), c.Send(true, []byte(card[:cut]))...))
				return append(append(pk, nil), c.Packets(c.Send(true, []byte(card[cut:])))...)
			},
			typ: "credit_card", records: 2, want: [2]bool{false, true}, dir: "out",
		},
		{
			name: "card split by the pause, server to client",
			pkts: func() [][]byte {
				c := pcapgen.NewTCPConn(cli, srv, 1000, 9000)
				pk := c.Packets(append(append(c.Handshake(), c.Send(true, []byte("GET CARD\n"))...), c.Send(false, []byte(card[:cut]))...))
				return append(append(pk, nil), c.Packets(c.Send(false, []byte(card[cut:])))...)
			},
			typ: "credit_card", records: 2, want: [2]bool{false, true}, dir: "in",
		},
		{
			name: "SSN split after its context word",
			pkts: func() [][]byte {
				c := pcapgen.NewTCPConn(cli, srv, 1000, 9000)
				i := strings.Index(ssn, "-22")
				pk := c.Packets(append(c.Handshake(), c.Send(true, []byte(ssn[:i]))...))
				return append(append(pk, nil), c.Packets(c.Send(true, []byte(ssn[i:])))...)
			},
			typ: "us_ssn", records: 2, want: [2]bool{false, true}, dir: "out",
		},
		{
			name: "card whole before the pause: on the first record only",
			pkts: func() [][]byte {
				c := pcapgen.NewTCPConn(cli, srv, 1000, 9000)
				pk := c.Packets(append(c.Handshake(), c.Send(true, []byte("payment card 4111 1111 1111 1111"))...))
				return append(append(pk, nil), c.Packets(c.Send(true, []byte(" and goodbye\n")))...)
			},
			typ: "credit_card", records: 2, want: [2]bool{true, false}, dir: "out",
		},
		{
			name: "rest of the card from another client port: not joined",
			pkts: func() [][]byte {
				c := pcapgen.NewTCPConn(cli, srv, 1000, 9000)
				pk := c.Packets(append(c.Handshake(), c.Send(true, []byte(card[:cut]))...))
				other := pcapgen.NewTCPConn(ap("10.9.0.5:41001"), srv, 1000, 9000)
				other.Handshake() // its sequence numbers carry on like the first connection's
				other.Send(true, []byte(card[:cut]))
				return append(append(pk, nil), other.Packets(other.Send(true, []byte(card[cut:])))...)
			},
			typ: "credit_card", records: 2, want: [2]bool{false, false},
		},
		{
			name: "a RST the host accepts ends the connection: the rest is not joined",
			pkts: func() [][]byte {
				c := pcapgen.NewTCPConn(cli, srv, 1000, 9000)
				pk := c.Packets(append(c.Handshake(), c.Send(true, []byte(card[:cut]))...))
				pk = append(pk, c.Packet(c.Reset(false)), nil)
				return append(pk, c.Packets(c.Send(true, []byte(card[cut:])))...)
			},
			typ: "credit_card", records: 2, want: [2]bool{false, false},
		},
		{
			name: "rest of the card after more than two timeouts: not joined",
			pkts: func() [][]byte {
				c := pcapgen.NewTCPConn(cli, srv, 1000, 9000)
				pk := c.Packets(append(c.Handshake(), c.Send(true, []byte(card[:cut]))...))
				return append(append(pk, nil, nil), c.Packets(c.Send(true, []byte(card[cut:])))...)
			},
			typ: "credit_card", records: 2, want: [2]bool{false, false},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, flows, out := replayOpts(t, contConfig, Options{}, writeCapture(t, tc.pkts()))
			if len(flows) != tc.records {
				t.Fatalf("%d TCP flow records, want %d:\n%s", len(flows), tc.records, out)
			}
			for i, w := range tc.want {
				if got := flows[i].found(tc.typ); got != w {
					t.Errorf("record %d: %s found %v, want %v:\n%s", i, tc.typ, got, w, out)
				}
			}
			if tc.want[1] {
				for _, s := range flows[1].Sensitive {
					if s.Type == tc.typ && s.Direction != tc.dir {
						t.Errorf("found in direction %q, want %q", s.Direction, tc.dir)
					}
				}
				if st := p.ContinuationStats(); st.Joined.Load() != 1 || st.Kept.Load() != 1 {
					t.Errorf("kept %d, joined %d; want 1 and 1", st.Kept.Load(), st.Joined.Load())
				}
			}
			if strings.Contains(out, "4111 1111 1111 1111") || strings.Contains(out, "536-22-8741") {
				t.Errorf("a value is written unmasked:\n%s", out)
			}
			// With continuations off the split value is lost: the join is
			// what finds it.
			if tc.want[1] && !tc.want[0] {
				_, off, _ := replayOpts(t, contConfig, Options{ContinuationBytes: -1}, writeCapture(t, tc.pkts()))
				if len(off) != 2 || off[1].found(tc.typ) {
					t.Errorf("found without the carry-over: %+v", off)
				}
			}
		})
	}
}

// A continuation that never scans anything cannot take the carry-over
// kept for it: its bytes go to a parser that scans none, or it carries
// none. The carry-over is dropped when the continuation ends and counted,
// instead of holding its bytes (and room other connections need) until
// evicted. Found by FuzzContinuation.
func TestContinuationThatScansNothingDropsItsCarry(t *testing.T) {
	cli, srv := ap("10.9.0.5:41000"), ap("192.0.2.99:9000")
	const prefix = "payment card 4111 1111" // pending: more digits may follow
	tests := []struct {
		name string
		rest func(c *pcapgen.TCPConn) []pcapgen.Segment
	}{
		{
			name: "a response head without a body after the pause",
			rest: func(c *pcapgen.TCPConn) []pcapgen.Segment {
				return append(c.Send(true, []byte("A")), c.Send(false, []byte("HTTP/1.0 100\n"))...)
			},
		},
		{
			name: "only an acknowledgement after the pause",
			rest: func(c *pcapgen.TCPConn) []pcapgen.Segment {
				ack := c.At(true, uint32(len(prefix)), nil)
				ack.Flags = pcapgen.ACK
				return []pcapgen.Segment{ack}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := pcapgen.NewTCPConn(cli, srv, 1000, 9000)
			pk := c.Packets(append(c.Handshake(), c.Send(true, []byte(prefix))...))
			pk = append(append(pk, nil), c.Packets(tc.rest(c))...)
			p, flows, out := replayOpts(t, contConfig, Options{}, writeCapture(t, pk))
			if len(flows) != 2 {
				t.Fatalf("%d TCP flow records, want 2 (the flow and its continuation):\n%s", len(flows), out)
			}
			st := p.ContinuationStats()
			if st.Kept.Load() != 1 || st.Joined.Load() != 0 || st.Unused.Load() != 1 {
				t.Errorf("kept %d, joined %d, unused %d; want 1, 0 and 1", st.Kept.Load(), st.Joined.Load(), st.Unused.Load())
			}
			if b := st.Bytes.Load(); b != 0 {
				t.Errorf("the store still holds %d bytes after the continuation ended", b)
			}
		})
	}
}

// The carry-overs are bounded in bytes: with room for a few, the oldest
// are evicted and counted, and only the connections whose carry-over was
// kept have their split card found.
func TestContinuationBoundEvicts(t *testing.T) {
	const card = "payment card 4111 1111 1111 1111 exp 12/29\n"
	cut := strings.Index(card, "4111 1111 ") + len("4111 1111")
	srv := ap("192.0.2.99:9000")
	const n = 6
	var conns []*pcapgen.TCPConn
	var pkts [][]byte
	for i := range n {
		c := pcapgen.NewTCPConn(ap(fmt.Sprintf("10.9.0.5:%d", 42000+i)), srv, 1000, 9000)
		conns = append(conns, c)
		pkts = append(pkts, c.Packets(append(c.Handshake(), c.Send(true, []byte(card[:cut]))...))...)
	}
	pkts = append(pkts, nil)
	for _, c := range conns {
		pkts = append(pkts, c.Packets(c.Send(true, []byte(card[cut:])))...)
	}
	file := writeCapture(t, pkts)

	// With room for all, every split card is found.
	p, flows, _ := replayOpts(t, contConfig, Options{}, file)
	st := p.ContinuationStats()
	if st.Kept.Load() != n || st.Joined.Load() != n || st.Evicted.Load() != 0 || st.Bytes.Load() != 0 {
		t.Fatalf("unbounded: kept %d, joined %d, evicted %d, held %d", st.Kept.Load(), st.Joined.Load(), st.Evicted.Load(), st.Bytes.Load())
	}
	found := 0
	for _, f := range flows {
		if f.found("credit_card") {
			found++
		}
	}
	if found != n {
		t.Fatalf("%d of %d split cards found with room for all", found, n)
	}

	// Room for three entries: each carries its first part whole (shorter
	// than the scanner's window) and nothing of the silent direction.
	p, flows, out := replayOpts(t, contConfig, Options{ContinuationBytes: 3 * (carryEntryCost + cut)}, file)
	st = p.ContinuationStats()
	kept, evicted, joined := st.Kept.Load(), st.Evicted.Load(), st.Joined.Load()
	if kept != n || evicted != n-3 || joined != 3 {
		t.Fatalf("bounded: kept %d, evicted %d, joined %d", kept, evicted, joined)
	}
	var got []uint16
	for _, f := range flows {
		if f.found("credit_card") {
			got = append(got, f.Src.Port)
		}
	}
	if uint64(len(got)) != joined {
		t.Errorf("%d cards found, %d flows joined:\n%s", len(got), joined, out)
	}
	// The oldest are evicted: the cards found are the last connections'.
	for _, port := range got {
		if int(port) < 42000+int(evicted) {
			t.Errorf("card of evicted connection %d found (evicted %d)", port, evicted)
		}
	}
}

// FuzzContinuation sends arbitrary bytes each way on one TCP connection,
// pauses longer than the idle timeout, and sends the rest: the flow times
// out, its continuation is joined from the carry-over. Nothing may panic,
// every record must encode, the carry-over store stays within its bound
// and holds nothing once every kept flow was continued.
func FuzzContinuation(f *testing.F) {
	f.Add([]byte("payment card 4111 1111"), []byte("ok"), []byte(" 1111 1111 exp 12/29\n"), []byte{})
	f.Add([]byte("POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Length: 40\r\n\r\n{\"a\":\"4111"),
		[]byte{}, []byte(" 1111 1111 1111\"}"), []byte("HTTP/1.1 200 OK\r\n\r\n"))
	f.Add([]byte("SSN: 536-22"), []byte("x"), []byte("-8741\n"), []byte("y"))
	f.Add([]byte{}, []byte("card 4111 1111 "), []byte{}, []byte("1111 1111\n"))
	cfg, err := parseTestConfig(contConfig)
	if err != nil {
		f.Fatal(err)
	}
	cfg.Workers = 1
	const limit = 8 << 10
	p, err := New(cfg, Options{Sink: record.NewWriterSink(nopWriter{}), ContinuationBytes: limit})
	if err != nil {
		f.Fatal(err)
	}
	p.out = newWriter(p.opts.Sink, p.stats, p.log)
	f.Fuzz(func(t *testing.T, out1, in1, out2, in2 []byte) {
		panics, encErrs := p.stats.WorkerPanics.Load(), p.stats.RecordErrors.Load()
		joined, held := p.contStats.Joined.Load(), p.contStats.Bytes.Load()
		w := newWorker(0, p)
		d := newDispatcher(p, []*worker{w})
		ts := int64(1e18)
		feed := func(ip []byte) {
			frame := pcapgen.EthernetIP(ip)
			ts += 1e6
			m := capture.Meta{TS: ts, CapLen: len(frame), WireLen: len(frame), LinkType: capture.LinkEthernet}
			if d.dec.Decode(frame, m, &d.pkt) != capture.OK {
				return
			}
			b := d.cur[0]
			b.reset()
			b.add(&d.pkt)
			w.packet(&b.pkts[0], usePacket)
		}
		conn := pcapgen.NewTCPConn(ap("10.0.0.1:40000"), ap("192.0.2.1:9000"), 1, 2)
		conn.MSS = 512
		send := func(chunks ...[]byte) {
			for i, c := range chunks {
				for _, s := range conn.Send(i == 0, c) {
					feed(conn.Packet(s))
				}
			}
		}
		for _, s := range conn.Handshake() {
			feed(conn.Packet(s))
		}
		send(out1, in1)
		ts += 30e9 // longer than the 20 s idle timeout
		send(out2, in2)
		w.table.Flush(reassembly.EndShutdown)
		if n := p.stats.WorkerPanics.Load() - panics; n != 0 {
			t.Fatalf("%d panics recovered in the worker", n)
		}
		if n := p.stats.RecordErrors.Load() - encErrs; n != 0 {
			t.Fatalf("%d records failed to encode", n)
		}
		if b := p.contStats.Bytes.Load() - held; b < 0 || b > limit {
			t.Fatalf("carry-over store holds %d bytes, bound %d", b, limit)
		}
		cs := w.h.carry
		if cs == nil {
			return
		}
		if cs.used != int(p.contStats.Bytes.Load()-held) || len(cs.m) > 1 {
			t.Fatalf("store accounting: used %d, gauge moved %d, %d entries", cs.used, p.contStats.Bytes.Load()-held, len(cs.m))
		}
		if len(out2)+len(in2) > 0 && len(cs.m) > 0 {
			t.Fatalf("a kept carry-over was not joined by the flow continuing it (joined %d)", p.contStats.Joined.Load()-joined)
		}
	})
}
