package pipeline

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
	"github.com/tapdlp/tapdlp/record"
)

// closedFlows are HTTP flows that close cleanly (FIN both ways, all
// acknowledged) with a card in their content: one in a complete request,
// one in a body the close cuts short (found only when the parser flushes
// it at close), and one that keeps going after close (bytes after both
// FINs, which the host never takes).
func closedFlows() (frames [][][]byte, names []string) {
	card := []byte(`{"card":"4111 1111 1111 1111","exp":"12/29"}`)
	for i, kind := range []string{"complete", "cut-short", "data-after-fin"} {
		c := pcapgen.NewTCPConn(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 8, 0, byte(i + 1)}), 40000), ap("192.0.2.7:80"), 1, 2)
		segs := c.Handshake()
		switch kind {
		case "cut-short":
			req := scenarios.HTTPRequest("POST", "/pay", "shop.example.com", []string{"Content-Type: application/json"}, card)
			// Content-Length promises 100 more bytes than are sent.
			segs = append(segs, c.Send(true, fixLength(req, len(card)+100))...)
			segs = append(segs, c.Close(true)...)
		default:
			segs = append(segs, c.Send(true, scenarios.HTTPRequest("POST", "/pay", "shop.example.com", []string{"Content-Type: application/json"}, card))...)
			segs = append(segs, c.Send(false, scenarios.HTTPResponse(200, "text/plain", []byte("ok")))...)
			segs = append(segs, c.Close(true)...)
			if kind == "data-after-fin" {
				segs = append(segs, c.Send(true, []byte("GET /after HTTP/1.1\r\nHost: x\r\n\r\n"))...)
			}
		}
		var f [][]byte
		for _, s := range segs {
			f = append(f, c.Packet(s))
		}
		frames, names = append(frames, f), append(names, kind)
	}
	return frames, names
}

// fixLength rewrites the request's Content-Length header to n.
func fixLength(req []byte, n int) []byte {
	s := string(req)
	const h = "Content-Length: "
	i := strings.Index(s, h)
	if i < 0 {
		return req
	}
	j := i + len(h)
	k := j
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	return []byte(s[:j] + strconv.Itoa(n) + s[k:])
}

// noCloseGrace writes a flow at its close (flows.tcp_close_grace 0s): the
// tests of what happens then, whose packets are microseconds apart, would
// otherwise hold every flow in its grace to the end.
const noCloseGrace = "flows: {tcp_close_grace: 0s}"

// A flow that closes cleanly gives its parsers and scanners back at once
// and, once its close completed (the last FIN acknowledged), is written
// out and recycled whole: its session and scanning state serve the
// worker's next flow, and a tombstone absorbs its late packets. Its record
// still has everything the scanners found, including what the close itself
// flushed.
func TestClosedFlowGivesBackScanning(t *testing.T) {
	frames, names := closedFlows()

	// On one worker.
	p := oneWorkerPipeline(t, noCloseGrace)
	w := newWorker(0, p)
	dec := capture.NewDecoder(p.decoderConfig(), p.decStats)
	var pkt capture.Packet
	bt := newBatch()
	i := 0
	for _, f := range frames {
		for _, ip := range f {
			eth := pcapgen.EthernetIP(ip)
			m := capture.Meta{TS: int64(1e18) + int64(i)*1000, CapLen: len(eth), WireLen: len(eth), LinkType: capture.LinkEthernet}
			i++
			if dec.Decode(eth, m, &pkt) != capture.OK {
				t.Fatal("decode failed")
			}
			bt.reset()
			bt.add(&pkt)
			w.packet(&bt.pkts[0], usePacket)
		}
	}
	if n, tombs := w.table.Len(), w.table.Tombstones(); n != 0 || tombs != len(frames) {
		t.Fatalf("%d flows open and %d tombstones, want 0 and %d", n, tombs, len(frames))
	}
	st := p.FlowStats()
	if got := st.FlowsTombstoned.Load(); got != uint64(len(frames)) {
		t.Errorf("%d flows written at their close, want %d", got, len(frames))
	}
	if got := st.LatePackets.Load(); got == 0 {
		t.Error("the data after both FINs was not counted as late")
	}
	// The flows ran one after the other: each took the session and the
	// scanning state the one before gave back, so the worker holds one of
	// each.
	if got := len(w.h.free); got != 1 {
		t.Errorf("%d sessions recycled, want 1 (reused flow after flow)", got)
	}
	if got := len(w.h.freeScans); got != 1 {
		t.Errorf("%d scanning states given back to the worker, want 1 (reused flow after flow)", got)
	}

	// The records, through a replay.
	var all [][]byte
	for _, f := range frames {
		all = append(all, f...)
	}
	lines := replayRecords(t, "", 1, writeCapture(t, all))
	found := map[string]bool{}
	for _, l := range lines {
		var r record.Flow
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.Type != "flow" {
			continue
		}
		if r.State != "closed" {
			t.Errorf("%s: state %q, want closed", r.Src.IP, r.State)
		}
		if r.Inspected == nil || r.Inspected.Out == 0 {
			t.Errorf("%s: no inspected bytes in the record", r.Src.IP)
		}
		for _, s := range r.Sensitive {
			if s.Type == "credit_card" && s.Direction == "out" {
				found[r.Src.IP] = true
			}
		}
	}
	for i, name := range names {
		if ip := "10.8.0." + strconv.Itoa(i+1); !found[ip] {
			t.Errorf("%s (%s): the card is not in the final record", name, ip)
		}
	}
}

// Flows written at their close hand their conn, session and scanning state
// to the next flow at once, while their records may still wait in the
// ordered stage: no record may show another flow's state. Hundreds of
// short flows, a few at a time interleaved, each naming its own host and
// carrying (or not) its own card, end by FIN, by RST and by a new SYN on
// the tuple of a tombstoned flow, with late packets after each close; each
// record must carry exactly its own flow's host, findings and counts, with
// one worker or several (run with -race).
func TestRecycledFlowsKeepTheirOwnRecords(t *testing.T) {
	const flows = 300
	card := "4111 1111 1111 1111"
	type want struct {
		host  string
		card  bool
		pkts  uint64
		state string
	}
	wants := map[uint16][]want{} // by client port
	var groups [][][]byte
	for i := range flows {
		// Every fifth port is used twice: the second flow's SYN comes
		// within the first one's linger (port reuse).
		port := uint16(30000 + i)
		if i%5 == 4 {
			port = uint16(30000 + i - 4) // a flow of the previous group
		}
		c := pcapgen.NewTCPConn(apPort("10.6.0.1", port), ap("192.0.2.9:80"), uint32(1000*i+1), uint32(7000*i+2))
		host := "h" + strconv.Itoa(i) + ".example.com"
		body := "hello"
		if i%3 == 0 {
			body = `{"card":"` + card + `"}`
		}
		segs := c.Handshake()
		segs = append(segs, c.Send(true, scenarios.HTTPRequest("POST", "/u", host, []string{"Content-Type: application/json"}, []byte(body)))...)
		segs = append(segs, c.Send(false, scenarios.HTTPResponse(200, "text/plain", []byte("ok")))...)
		state := "closed"
		if i%4 == 1 {
			segs = append(segs, c.Reset(true))
			state = "reset"
		} else {
			segs = append(segs, c.Close(i%2 == 0)...)
		}
		n := uint64(len(segs))
		// Late packets: the last one again (a retransmitted ACK or RST).
		segs = append(segs, segs[len(segs)-1])
		var f [][]byte
		for _, s := range segs {
			f = append(f, c.Packet(s))
		}
		groups = append(groups, f)
		wants[port] = append(wants[port], want{host, i%3 == 0, n, state})
	}
	// Interleave four flows at a time; a reused port's flows run one after
	// the other (its second group starts after the first ended).
	var all [][]byte
	for g := 0; g < len(groups); g += 4 {
		batch := groups[g:min(g+4, len(groups))]
		for k := 0; ; k++ {
			more := false
			for _, f := range batch {
				if k < len(f) {
					all = append(all, f[k])
					more = true
				}
			}
			if !more {
				break
			}
		}
	}
	path := writeCapture(t, all)
	for _, workers := range []int{1, 3} {
		t.Run("workers="+strconv.Itoa(workers), func(t *testing.T) {
			lines := replayOrdered(t, noCloseGrace, workers, path)
			seen := map[uint16]int{}
			for _, l := range lines {
				var r record.Flow
				if err := json.Unmarshal([]byte(l), &r); err != nil || r.Type != "flow" {
					continue
				}
				ws := wants[r.Src.Port]
				k := seen[r.Src.Port]
				seen[r.Src.Port]++
				if k >= len(ws) {
					t.Errorf("port %d: %d records, want %d", r.Src.Port, k+1, len(ws))
					continue
				}
				w := ws[k]
				if r.HTTP == nil || r.HTTP.Host != w.host || r.Dst.Name != w.host {
					t.Errorf("port %d record %d: host %+v / %q, want %q", r.Src.Port, k, r.HTTP, r.Dst.Name, w.host)
				}
				hasCard := false
				for _, s := range r.Sensitive {
					hasCard = hasCard || s.Type == "credit_card"
				}
				if hasCard != w.card {
					t.Errorf("port %d record %d (%s): card %v, want %v", r.Src.Port, k, w.host, hasCard, w.card)
				}
				if got := r.Packets.Out + r.Packets.In; got != w.pkts || r.State != w.state {
					t.Errorf("port %d record %d (%s): %d packets, state %s; want %d, %s", r.Src.Port, k, w.host, got, r.State, w.pkts, w.state)
				}
			}
			for port, ws := range wants {
				if seen[port] != len(ws) {
					t.Errorf("port %d: %d records, want %d", port, seen[port], len(ws))
				}
			}
		})
	}
}
