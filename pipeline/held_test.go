package pipeline

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
)

// heldConfig: rules that fire once a flow has a card number (one
// de-duplicated per destination), one that needs an SSN too, one that
// reads first_seen (defaults: sensitive-to-new-destination) and a
// flow-count threshold on SSN flows (evaluated whenever its conditions
// hold: an evaluation counts towards it).
// No byte threshold or volume records: with those every evaluation counts
// bytes and none is skipped.
const heldConfig = `
alerts: {dedup_window: 20s}
rules:
  - id: test.card-out
    severity: low
    when: {sensitive.type: [credit_card], direction: out}
    dedup: {window: 5s, per: [dst.domain]}
  - id: test.card-and-ssn
    severity: low
    when: {sensitive.type: [us_ssn], direction: out}
  - id: test.many-ssn-flows
    severity: low
    when: {sensitive.type: [us_ssn]}
    threshold: {flows: 3, per: [dst.domain], window: 30s}
`

// heldCapture writes uploads that carry a card number in segment after
// segment (each a new finding, a change, a live evaluation), some with an
// SSN after a while (a rule that holds only then), interleaved.
func heldCapture(t *testing.T, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	hosts := []string{"upload.alpha-files.com", "api.beta-share.net"}
	servers := []string{"198.51.100.10:80", "203.0.113.30:80"}
	var live []*liveConv
	for i := range 24 {
		d := rng.IntN(len(hosts))
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i), 7}), uint16(30000+i))
		c := pcapgen.NewTCPConn(client, netip.MustParseAddrPort(servers[d]), uint32(100+i), uint32(900+i))
		c.MSS = 400
		var b strings.Builder
		for j := range 12 {
			b.WriteString(strings.Repeat("y", 300))
			b.WriteString(" card 4111 1111 1111 1111 ")
			if i%3 == 0 && j == 8 {
				b.WriteString(" ssn 536-22-8741 ")
			}
		}
		body := b.String()
		req := fmt.Sprintf("POST /up HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", hosts[d], len(body), body)
		segs := append(c.Handshake(), c.Send(true, []byte(req))...)
		segs = append(segs, c.Send(false, []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))...)
		segs = append(segs, c.Close(true)...)
		live = append(live, &liveConv{c: c, segs: segs})
	}
	return writeCaptureStep(t, interleave(rng, live, nil), time.Millisecond)
}

// A live evaluation on which only rules that already fired for the flow
// hold is not sent to the ordered stage (content.held): the records and
// alerts are byte for byte those of sending every one, with any number of
// workers, and the rules that hold only later (an SSN, first_seen, a
// threshold) still fire when they should.
func TestLiveEvaluationSkipsRulesThatFired(t *testing.T) {
	path := heldCapture(t, 1)
	var counts [3]atomic.Int64
	testLiveEval = func(o liveOutcome) { counts[o].Add(1) }
	defer func() { testLiveEval, testHeldOff = nil, false }()

	testHeldOff = true
	want := replayOrdered(t, heldConfig, 1, path)
	if n := counts[liveAllFired].Load(); n != 0 {
		t.Fatalf("held off: %d evaluations skipped as fired", n)
	}
	sentBefore := counts[liveSent].Load()
	testHeldOff = false
	for _, n := range []int{1, 2, 3} {
		for o := range counts {
			counts[o].Store(0)
		}
		got := replayOrdered(t, heldConfig, n, path)
		if a, b := strings.Join(want, "\n"), strings.Join(got, "\n"); a != b {
			t.Fatalf("workers %d: records differ from sending every evaluation:\n%s", n, lineDiff(a, b))
		}
		sent, fired := counts[liveSent].Load(), counts[liveAllFired].Load()
		t.Logf("workers %d: %d evaluations sent (all: %d), %d skipped as fired, %d with nothing holding",
			n, sent, sentBefore, fired, counts[liveNothingHolds].Load())
		if fired == 0 || sent+fired != sentBefore {
			t.Errorf("workers %d: %d sent + %d skipped, want %d sent before and some skipped", n, sent, fired, sentBefore)
		}
	}
	rules := map[string]int{}
	for _, l := range want {
		if r := ruleOf(l); r != "" {
			rules[r]++
		}
	}
	t.Logf("alerts: %v", rules)
	for _, r := range []string{"test.card-out", "test.card-and-ssn", "test.many-ssn-flows", "default.sensitive-to-new-destination"} {
		if rules[r] == 0 {
			t.Errorf("no %s alert: the capture does not exercise it", r)
		}
	}
}

// ruleOf is an alert line's rule ("" for other records).
func ruleOf(line string) string {
	const k = `"rule":"`
	if !strings.HasPrefix(line, `{"type":"alert"`) {
		return ""
	}
	i := strings.Index(line, k)
	if i < 0 {
		return ""
	}
	rest := line[i+len(k):]
	return rest[:strings.IndexByte(rest, '"')]
}
