package pipeline

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
	"github.com/tapdlp/tapdlp/reassembly"
)

// parkFlows are HTTP/1 keep-alive flows whose findings span several
// messages: each message's end parks the flow's scanning state (the flow
// waits holding a summary) and the next message takes one again.
func parkFlows() (frames [][][]byte, names []string) {
	const card = "4111 1111 1111 1111"
	type msg struct {
		client bool
		b      []byte
	}
	req := func(method, target string, hdrs []string, body string) msg {
		return msg{true, scenarios.HTTPRequest(method, target, "shop.example.com", hdrs, []byte(body))}
	}
	resp := func(ct, body string) msg { return msg{false, scenarios.HTTPResponse(200, ct, []byte(body))} }
	json := []string{"Content-Type: application/json"}
	flows := []struct {
		name  string
		msgs  []msg
		close bool
	}{
		{"same-card-twice", []msg{req("POST", "/pay", json, `{"card":"`+card+`"}`), resp("text/plain", "ok"),
			req("POST", "/pay", json, `{"card":"`+card+`"}`), resp("text/plain", "ok")}, false},
		{"card-then-ssn-closed", []msg{req("POST", "/pay", json, `{"card":"`+card+`"}`), resp("application/json", `{"ok":true}`),
			req("POST", "/id", []string{"Content-Type: text/plain"}, "ssn 078-05-1120"), resp("text/plain", "ok")}, true},
		{"context-word-before-value", []msg{req("POST", "/note", []string{"Content-Type: text/plain"}, "social security number:"),
			req("POST", "/note", []string{"Content-Type: text/plain"}, "078-05-1120")}, false},
		{"found-in-response-then-request", []msg{req("GET", "/me", nil, ""), resp("application/json", `{"ssn":"078-05-1120","card":"`+card+`"}`),
			req("GET", "/pay?card=4111111111111111", nil, "")}, false},
		{"nothing-found", []msg{req("GET", "/", nil, ""), resp("text/html", "<p>hi</p>"), req("GET", "/b", nil, "")}, false},
		{"urlencoded-form", []msg{req("POST", "/f", []string{"Content-Type: application/x-www-form-urlencoded"}, "card=4111%201111%201111%201111"),
			resp("text/plain", "ok"), req("POST", "/f", []string{"Content-Type: application/x-www-form-urlencoded"}, "c=5500%200000%200000%200004")}, false},
	}
	for i, fl := range flows {
		c := pcapgen.NewTCPConn(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 9, 0, byte(i + 1)}), 40000), ap("192.0.2.9:80"), 1, 2)
		segs := c.Handshake()
		for _, m := range fl.msgs {
			segs = append(segs, c.Send(m.client, m.b)...)
		}
		if fl.close {
			segs = append(segs, c.Close(true)...)
		}
		frames, names = append(frames, c.Packets(segs)), append(names, fl.name)
	}
	return frames, names
}

// A flow's scanning state parked between messages gives exactly the
// records of one kept for the whole flow: findings of several messages are
// aggregated, context words of one message serve the next, counters go on.
func TestParkedScanningKeepsRecords(t *testing.T) {
	frames, _ := parkFlows()
	var all [][]byte
	for _, f := range frames {
		all = append(all, f...)
	}
	file := writeCapture(t, all)
	kept := func() []string {
		parkScanning = false
		defer func() { parkScanning = true }()
		return replayOrdered(t, "", 1, file)
	}()
	parked := replayOrdered(t, "", 1, file)
	if !slices.Equal(parked, kept) {
		t.Errorf("records differ with parking:\nparked:\n%s\nkept:\n%s", strings.Join(parked, "\n"), strings.Join(kept, "\n"))
	}
	// The comparison means something: the flows found values in several
	// messages, and the same card in two requests is counted twice.
	joined := strings.Join(parked, "\n")
	for _, want := range []string{`"type":"credit_card"`, `"count":2`} {
		if !strings.Contains(joined, want) {
			t.Errorf("records lack %s:\n%s", want, joined)
		}
	}
}

// The flows park after each message on a hand-driven worker: the open ones
// hold no scanning state at the end, and the worker holds one for them all.
func TestParkedScanningGivesBack(t *testing.T) {
	frames, names := parkFlows()
	p := oneWorkerPipeline(t, noCloseGrace)
	w := newWorker(0, p)
	d := newDispatcher(p, []*worker{w})
	i := 0
	for _, f := range frames {
		for _, ip := range f {
			feedFrame(t, d, w, pcapgen.EthernetIP(ip), int64(1e18)+int64(i)*1000)
			i++
		}
	}
	n := 0
	w.table.Each(func(f *reassembly.Flow) {
		s := sessionOf(f)
		n++
		if !s.scanning || s.c.scanState != nil || !s.closed && !s.c.parked() {
			t.Errorf("flow %v: scanning %v, scanners held %v, parked %v: want its scanning state given back", f.Src, s.scanning, s.c.scanState != nil, s.c.parked())
		}
	})
	// The flow whose close completed was written at its close (its
	// session recycled): it is no longer in the table.
	if buried := int(p.flowStats.FlowsTombstoned.Load()); n+buried != len(names) || buried != 1 {
		t.Fatalf("%d flows in the table and %d written at their close, want %d and 1", n, buried, len(names)-1)
	}
	if got := len(w.h.freeScans); got != 1 {
		t.Errorf("%d scanning states with the worker, want 1 (each message took the one the last gave back)", got)
	}
}
