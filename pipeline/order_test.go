package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/record"
)

// orderConfig exercises every cross-worker decision: first-seen and the
// default rule that reads it, de-duplication within a window, a flow-count
// and a byte threshold over flows of many workers, re-evaluation sweeps and
// periodic volume records.
const orderConfig = `
alerts: {dedup_window: 20s, volume_records: 5s, reevaluate_every: 2s}
rules:
  - id: test.many-uploads
    severity: low
    when: {proto: [tcp]}
    threshold: {flows: 4, per: [dst.domain], window: 30s}
  - id: test.big-uploads
    severity: low
    when: {proto: [tcp]}
    threshold: {bytes_out: 6k, per: [dst.domain], window: 30s}
  - id: test.card-out
    severity: low
    when: {sensitive.type: [credit_card], direction: out}
    dedup: {window: 5s, per: [dst.domain]}
`

// orderCapture writes a capture of many concurrent HTTP uploads from many
// clients to a few public destinations (so flows to one destination land on
// different workers and overlap in time), some carrying card numbers and
// SSNs, spread over about a minute of packet time with pauses that make
// flows time out, tick and report volume.
func orderCapture(t *testing.T, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	hosts := []string{"upload.alpha-files.com", "api.beta-share.net", "sync.gamma-box.org"}
	servers := []string{"198.51.100.10:80", "198.51.100.20:80", "203.0.113.30:80"}
	var pkts [][]byte
	var live []*liveConv
	flows := 0
	for round := 0; round < 12; round++ {
		for range 10 {
			d := rng.IntN(len(hosts))
			client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(rng.IntN(40)), byte(1 + rng.IntN(200))}), uint16(20000+flows))
			c := pcapgen.NewTCPConn(client, netip.MustParseAddrPort(servers[d]), uint32(1000+flows), uint32(9000+flows))
			body := strings.Repeat("x", 200+rng.IntN(2000))
			switch rng.IntN(4) {
			case 0:
				body += " card 4111 1111 1111 1111 "
			case 1:
				body += " ssn 536-22-8741 "
			}
			req := fmt.Sprintf("POST /u HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", hosts[d], len(body), body)
			segs := append(c.Handshake(), c.Send(true, []byte(req))...)
			segs = append(segs, c.Send(false, []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))...)
			if rng.IntN(5) != 0 { // some never close: they time out or end at shutdown
				segs = append(segs, c.Close(true)...)
			}
			live = append(live, &liveConv{c: c, segs: segs})
			flows++
		}
		pkts = interleave(rng, live, pkts)
		live = live[:0] // all sent (interleave reorders the array)
		if round%4 == 3 {
			pkts = append(pkts, nil) // 30 s pause: the handshake timeout fires
		}
	}
	return writeCaptureStep(t, pkts, 20*time.Millisecond)
}

// writeCaptureStep is writeCapture with another time step between packets
// (0: the writer's default).
func writeCaptureStep(t *testing.T, pkts [][]byte, step time.Duration) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, pcapgen.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	if step != 0 {
		w.Step = step
	}
	for _, p := range pkts {
		if p == nil {
			w.Advance(30 * time.Second)
			continue
		}
		if err := w.WriteIP(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "capture.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every run and every number of workers writes the same records in the same
// order, with first-seen, de-duplication, thresholds and volume records all
// in play (the test checks that each of them did something).
func TestReplayDeterministicAcrossWorkers(t *testing.T) {
	path := orderCapture(t, 1)
	want := replayOrdered(t, orderConfig, 1, path)
	checkOrderCoverage(t, want)
	runs := 3
	if testing.Short() {
		runs = 1
	}
	for _, n := range []int{1, 2, 3, 4, 8} {
		for run := range runs {
			got := replayOrdered(t, orderConfig, n, path)
			if a, b := strings.Join(want, "\n"), strings.Join(got, "\n"); a != b {
				t.Fatalf("workers %d run %d differs from workers 1:\n%s", n, run, lineDiff(a, b))
			}
		}
	}
}

// checkOrderCoverage fails unless the records show each cross-worker
// decision at work, so the determinism test cannot pass vacuously.
func checkOrderCoverage(t *testing.T, lines []string) {
	t.Helper()
	var firstSeen, newDest, folded, many, big, volume int
	for _, l := range lines {
		var r struct {
			Type  string
			Rule  string
			Count int
			Dst   struct {
				FirstSeen bool `json:"first_seen"`
			}
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		switch {
		case r.Type == "flow" && r.Dst.FirstSeen:
			firstSeen++
		case r.Type == "volume":
			volume++
		case r.Rule == "default.sensitive-to-new-destination":
			newDest++
		case r.Rule == "test.many-uploads":
			many++
		case r.Rule == "test.big-uploads":
			big++
		}
		if r.Type == "alert" && r.Count > 1 {
			folded++
		}
	}
	t.Logf("%d records: first_seen %d, new-destination alerts %d, folded alerts %d, flow-count %d, byte threshold %d, volume %d",
		len(lines), firstSeen, newDest, folded, many, big, volume)
	if firstSeen == 0 || newDest == 0 || folded == 0 || many == 0 || big == 0 || volume == 0 {
		t.Fatal("the capture does not exercise every cross-worker decision")
	}
}

// cloneFlow must copy everything a record references: fill every field of
// a record.Flow (recursively) with non-zero values, copy it, and check the
// copy is equal and shares no pointer, slice array or map with the
// original. A field added to record.Flow is checked without editing this.
func TestCloneFlowSharesNothing(t *testing.T) {
	var rec record.Flow
	fillValue(reflect.ValueOf(&rec).Elem(), 0)
	cp := cloneFlow(new(boxCache), &rec)
	if !reflect.DeepEqual(&rec, cp) {
		t.Fatal("copy differs from the original")
	}
	var shared []string
	sharedRefs(reflect.ValueOf(rec), reflect.ValueOf(*cp), "Flow", &shared)
	if len(shared) > 0 {
		t.Errorf("the copy shares memory with the original at %v", shared)
	}
}

// A released box must hold no reference its last record had, wherever in
// the box cloneFlow put it, also when the ordered stage replaced a slice
// of the record (as it does with Alerts): clone a record with every field
// filled, release it, and check every pointer, slice, string and map in
// the whole box, unexported parts included, is empty: a box in the free
// list keeps nothing alive. Clearing only the parts a record filled
// instead of the whole box was tried (session 10) and measured no faster;
// this is what such a change must keep.
func TestReleasedBoxHoldsNoReferences(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stage func(*record.Flow)
	}{
		{"as cloned", func(*record.Flow) {}},
		{"alerts replaced by the stage", func(r *record.Flow) { r.Alerts = []string{"rule-a", "rule-b", "rule-c"} }},
		{"sub-records dropped", func(r *record.Flow) { r.TLS, r.Inspected, r.Sensitive = nil, nil, nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec record.Flow
			fillValue(reflect.ValueOf(&rec).Elem(), 0)
			var boxes boxCache
			cp := cloneFlow(&boxes, &rec)
			x := (*flowBox)(unsafe.Pointer(cp))
			tc.stage(cp)
			releaseFlow(&boxes, cp)
			var held []string
			references(reflect.ValueOf(x).Elem(), "flowBox", &held)
			if len(held) > 0 {
				t.Errorf("a released box still refers to its record's data at %v", held)
			}
		})
	}
}

// references appends the path of every non-empty pointer, slice, string,
// map, interface, channel or function value within v.
func references(v reflect.Value, path string, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		if !v.IsNil() {
			*out = append(*out, path)
		}
	case reflect.Slice:
		if !v.IsNil() {
			*out = append(*out, path)
		}
	case reflect.String:
		if v.Len() > 0 {
			*out = append(*out, path)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			references(v.Field(i), path+"."+v.Type().Field(i).Name, out)
		}
	case reflect.Array:
		for i := range v.Len() {
			references(v.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

func fillValue(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(v.Elem(), depth+1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fillValue(v.Index(i), depth+1)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k := reflect.New(v.Type().Key()).Elem()
		fillValue(k, depth+1)
		e := reflect.New(v.Type().Elem()).Elem()
		fillValue(e, depth+1)
		v.SetMapIndex(k, e)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillValue(v.Field(i), depth+1)
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			fillValue(v.Index(i), depth+1)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", depth))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(depth + 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(depth + 1))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(depth) + 0.5)
	}
}

func sharedRefs(a, b reflect.Value, path string, out *[]string) {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			*out = append(*out, path)
		}
		sharedRefs(a.Elem(), b.Elem(), path, out)
	case reflect.Slice:
		if a.Len() == 0 {
			return
		}
		if unsafe.Pointer(a.Index(0).Addr().Pointer()) == unsafe.Pointer(b.Index(0).Addr().Pointer()) {
			*out = append(*out, path)
		}
		for i := range a.Len() {
			sharedRefs(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Map:
		if !a.IsNil() && a.UnsafePointer() == b.UnsafePointer() {
			*out = append(*out, path)
		}
	case reflect.Struct:
		for i := range a.NumField() {
			sharedRefs(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name, out)
		}
	case reflect.Array:
		for i := range a.Len() {
			sharedRefs(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

func BenchmarkCloneFlow(b *testing.B) {
	lines := replayRecords(b, "", 1, pcapDir+"/demo.pcap")
	var recs []record.Flow
	for _, l := range lines {
		var r record.Flow
		if json.Unmarshal([]byte(l), &r) == nil && r.Type == "flow" {
			recs = append(recs, r)
		}
	}
	var boxes boxCache
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		releaseFlow(&boxes, cloneFlow(&boxes, &recs[i%len(recs)]))
	}
}

// The stage applies a worker's emissions only once every other worker's
// watermark has passed them (an idle worker's advances with the ticks),
// in position order across workers; over its byte bound it applies the
// oldest anyway and counts it, so it never waits forever nor grows.
func TestOrderStageWatermarksAndBound(t *testing.T) {
	cfg, err := parseTestConfig("alerts: {default_rules: false}\n")
	if err != nil {
		t.Fatal(err)
	}
	var sink recordingSink
	p, err := New(cfg, Options{Sink: &sink})
	if err != nil {
		t.Fatal(err)
	}
	p.out = newWriter(p.opts.Sink, p.stats, p.log)
	o := newOrderStage(p, 2)
	flow := func(ev uint64, id string) emission {
		return emission{ev: ev, ph: phasePacket, kind: emitRecord, final: true,
			rec: cloneFlow(new(boxCache), &record.Flow{Type: "flow", FlowID: id}), now: int64(ev)}
	}
	written := func() uint64 { return p.stats.Records.Load() }

	o.take(workerOut{w: 0, ems: []emission{flow(5, "b"), flow(7, "a")}, through: 7})
	o.release()
	if n := written(); n != 0 {
		t.Fatalf("%d records written before worker 1 passed event 5", n)
	}
	o.take(workerOut{w: 1, ems: []emission{flow(6, "c")}, through: 6}) // worker 1 at 6: 5 and 6 may go, 7 waits
	o.release()
	if n := written(); n != 2 {
		t.Fatalf("%d records written, want 2 (events 5 and 6)", n)
	}
	o.take(workerOut{w: 1, through: 9}) // an idle worker's tick
	o.release()
	if n := written(); n != 3 {
		t.Fatalf("%d records written after the tick, want 3", n)
	}

	o.max = 1 // a stalled worker 1: the bound forces the oldest out
	o.take(workerOut{w: 0, ems: []emission{flow(20, "d")}, through: 20})
	o.release()
	if n, f := written(), p.stats.OrderForced.Load(); n != 4 || f != 1 {
		t.Fatalf("written %d forced %d, want 4 and 1", n, f)
	}
	if o.held != 0 {
		t.Errorf("%d bytes still held", o.held)
	}
	if err := p.out.close(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range sink.recs {
		var f struct {
			FlowID string `json:"flow_id"`
		}
		json.Unmarshal(r.JSON, &f)
		ids = append(ids, f.FlowID)
	}
	if got := strings.Join(ids, ","); got != "b,c,a,d" {
		t.Errorf("written in order %s, want b,c,a,d (by event)", got)
	}
}

type recordingSink struct{ recs []record.Encoded }

func (s *recordingSink) Write(r record.Encoded) error { s.recs = append(s.recs, r); return nil }
func (s *recordingSink) Close() error                 { return nil }

// stageFlow applies one flow's emissions on o as a worker with handler h
// would send them: an evaluation while it runs, then its final record.
func stageFlow(o *orderStage, h *flowHandler, rec *record.Flow, ev uint64) (ref uint64) {
	ref = h.newRef()
	for _, final := range []bool{false, true} {
		e := emission{ev: ev, ph: phasePacket, kind: emitEval, ref: ref, now: 1e18, rec: cloneFlow(&h.boxes, rec), fid: rec.FlowID}
		if final {
			e.kind, e.final = emitRecord, true
		}
		o.one(&e)
	}
	return ref
}

// Flow states live in slots the stage hands back once a flow's final
// record is applied: flows in progress never share one, an ended flow's
// slot serves a later flow, and that flow starts from a clean state (a
// rule that fired on the slot's last flow fires again).
func TestStageSlotsReused(t *testing.T) {
	p := oneWorkerPipeline(t, "rules:\n  - {id: test.any-tcp, severity: low, when: {proto: [tcp]}}\nalerts: {dedup_window: 0s}\n")
	o := newOrderStage(p, 1)
	h := newFlowHandler(p)
	h.direct, h.refs = nil, o.refs[0]
	live := map[uint64]bool{}
	for range 5 {
		r := h.newRef()
		if live[r] || r == 0 {
			t.Fatalf("ref %#x handed out twice (or zero) while its flow runs", r)
		}
		live[r] = true
	}
	rec := &record.Flow{Type: "flow", FlowID: "0123456789abcdef", Proto: "tcp", Src: record.Src{IP: "10.0.0.1"}, Dst: record.Dst{IP: "10.0.0.2", Category: "unknown"}}
	fired := func() int { return p.swap.rules.Load().FiringCounts()["test.any-tcp"] }
	first := stageFlow(o, h, rec, 1)
	if fired() != 1 {
		t.Fatalf("rule fired %d times on the first flow, want 1", fired())
	}
	if live[first] {
		t.Fatalf("ref %#x of a running flow reused", first)
	}
	before := fired()
	second := stageFlow(o, h, rec, 2)
	if second != first {
		t.Errorf("second flow got ref %#x, want the ended flow's %#x", second, first)
	}
	if got := fired() - before; got != 1 {
		t.Errorf("rule fired %d times on the recycled slot's flow, want 1 (a clean state)", got)
	}
}

// Once warm, the stage keeps a flow's state without allocating: no map
// entry, no state object, no rules bitmaps (they stay with the slot).
func TestStageFlowStateNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops records' boxes at random")
	}
	p := oneWorkerPipeline(t, "")
	o := newOrderStage(p, 1)
	h := newFlowHandler(p)
	h.direct, h.refs = nil, o.refs[0]
	rec := &record.Flow{Type: "flow", FlowID: "0123456789abcdef", Proto: "udp", Src: record.Src{IP: "10.0.0.1"}, Dst: record.Dst{IP: "10.0.0.2", Category: "unknown"}}
	ev := uint64(0)
	flow := func() { ev++; stageFlow(o, h, rec, ev) }
	for range 100 {
		flow()
	}
	if n := testing.AllocsPerRun(1000, flow); n != 0 {
		t.Errorf("%v allocations per flow in the stage", n)
	}
}

// cmpEmission orders as less does, on every key and at every tie.
func TestCmpEmissionAgreesWithLess(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	pick := func() emission {
		return emission{ev: rng.Uint64N(3), ph: phase(rng.IntN(3)), fid: []string{"", "0a", "0b", "1a"}[rng.IntN(4)], seq: rng.Uint64N(3)}
	}
	for range 5000 {
		a, b := pick(), pick()
		want := 0
		if a.less(&b) {
			want = -1
		} else if b.less(&a) {
			want = 1
		}
		if got := cmpEmission(a, b); got != want {
			t.Fatalf("cmpEmission(%+v, %+v) = %d, want %d", a, b, got, want)
		}
	}
}

// A flow whose only emission is its final record (a SYN, a scan) is
// evaluated in the stage's scratch state: its slot gets no state and no
// page, and its rules still fire.
func TestStageFinalOnlyFlowKeepsNoState(t *testing.T) {
	p := oneWorkerPipeline(t, "rules:\n  - {id: test.any-tcp, severity: low, when: {proto: [tcp]}}\nalerts: {dedup_window: 0s}\n")
	o := newOrderStage(p, 1)
	h := newFlowHandler(p)
	h.direct, h.refs = nil, o.refs[0]
	rec := &record.Flow{Type: "flow", FlowID: "0123456789abcdef", Proto: "tcp", Src: record.Src{IP: "10.0.0.1"}, Dst: record.Dst{IP: "10.0.0.2", Category: "unknown"}}
	for i := range 3 {
		e := emission{ev: uint64(i), ph: phaseTick, kind: emitRecord, final: true, ref: h.newRef(), now: 1e18, rec: cloneFlow(&h.boxes, rec), fid: rec.FlowID}
		o.one(&e)
	}
	if n := p.swap.rules.Load().FiringCounts()["test.any-tcp"]; n != 3 {
		t.Errorf("rule fired %d times on 3 final-only flows, want 3", n)
	}
	if len(o.slots) > 0 && len(o.slots[0].pages) > 0 {
		t.Errorf("final-only flows made %d pages of flow states", len(o.slots[0].pages))
	}
}

// liveConv is a generated TCP conversation being interleaved with others.
type liveConv struct {
	c    *pcapgen.TCPConn
	segs []pcapgen.Segment
	next int
}

// interleave appends the conversations' packets to pkts, taking each next
// packet from a conversation chosen at random, until all are sent; it
// reorders live's array as conversations finish.
func interleave(rng *rand.Rand, live []*liveConv, pkts [][]byte) [][]byte {
	for len(live) > 0 {
		i := rng.IntN(len(live))
		cv := live[i]
		pkts = append(pkts, cv.c.Packet(cv.segs[cv.next]))
		if cv.next++; cv.next == len(cv.segs) {
			live = append(live[:i], live[i+1:]...)
		}
	}
	return pkts
}

// Boxes move between a goroutine's cache and the shared list boxChunk at a
// time, cleared, and the list keeps at most maxFreeBoxes.
func TestBoxCacheMovesChunks(t *testing.T) {
	flowBoxes.mu.Lock()
	saved := flowBoxes.free
	flowBoxes.free = nil
	flowBoxes.mu.Unlock()
	defer func() {
		flowBoxes.mu.Lock()
		flowBoxes.free = saved
		flowBoxes.mu.Unlock()
	}()
	listed := func() int {
		flowBoxes.mu.Lock()
		defer flowBoxes.mu.Unlock()
		return len(flowBoxes.free)
	}
	var worker, writer boxCache
	src := &record.Flow{Type: "flow", FlowID: "f", Tags: []string{"t"}}
	recs := make([]*record.Flow, 2*boxChunk)
	for i := range recs {
		recs[i] = cloneFlow(&worker, src)
	}
	for i, r := range recs {
		if n := listed(); n != 0 {
			t.Fatalf("after %d releases the list holds %d boxes, want 0 (the writer keeps them)", i, n)
		}
		releaseFlow(&writer, r)
	}
	if n, kept := listed(), len(writer.boxes); n != boxChunk || kept != boxChunk {
		t.Fatalf("after %d releases: list %d, writer %d; want %d each", len(recs), n, kept, boxChunk)
	}
	for _, x := range flowBoxes.take(nil) {
		if !reflect.ValueOf(*x).IsZero() {
			t.Fatal("a box came back from the list not cleared")
		}
		worker.boxes = append(worker.boxes, x)
	}
	if n := listed(); n != 0 {
		t.Fatalf("take left %d boxes in the list", n)
	}
	if got := cloneFlow(&worker, src); got.FlowID != "f" || len(worker.boxes) != boxChunk-1 {
		t.Fatalf("clone from the worker's own boxes: %q, %d left", got.FlowID, len(worker.boxes))
	}
	many := make([]*flowBox, maxFreeBoxes+boxChunk)
	for i := range many {
		many[i] = new(flowBox)
	}
	flowBoxes.give(many)
	if n := listed(); n != maxFreeBoxes {
		t.Fatalf("the list holds %d boxes, want its bound %d", n, maxFreeBoxes)
	}
}

// A worker over shutdownHeld waits until the stage has applied enough of
// what it sent; a send within the bound, or outside the flush, does not.
func TestStageCreditWaitsForTheStage(t *testing.T) {
	var waits atomic.Uint64
	c := stageCredit{wake: make(chan struct{}, 1), waits: &waits}
	c.sent(shutdownHeld, true) // at the bound: goes on
	c.sent(emitChunk, false)   // over it, but not in the flush: goes on
	c.applied(emitChunk)
	done := make(chan struct{})
	go func() {
		c.sent(emitChunk, true) // over it in the flush: waits
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("a send over the bound did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	c.applied(emitChunk / 2) // still over
	select {
	case <-done:
		t.Fatal("the worker went on while still over the bound")
	case <-time.After(50 * time.Millisecond):
	}
	c.applied(emitChunk / 2)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker still waits after the stage applied enough")
	}
	if waits.Load() != 1 || c.held.Load() != shutdownHeld {
		t.Errorf("waits %d, held %d; want 1, %d", waits.Load(), c.held.Load(), shutdownHeld)
	}
}

// Thousands of flows open at the end of the input: with several workers
// their flush waits for the stage (the bound at work) and still writes
// every record in the order one worker does.
func TestShutdownFlushBounded(t *testing.T) {
	const flows = 4000
	srv := netip.MustParseAddrPort("192.0.2.1:5000")
	var pkts [][]byte
	for i := range flows {
		cli := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(10000+i))
		pkts = append(pkts, pcapgen.IPv4Header{Src: cli.Addr(), Dst: srv.Addr(), Proto: pcapgen.ProtoUDP}.Marshal(pcapgen.UDP(cli, srv, []byte("hello"))))
	}
	path := writeCaptureStep(t, pkts, time.Microsecond) // 4 ms in all: nothing times out
	want := replayOrdered(t, "", 1, path)
	if got := len(flowRecords(want)); got != flows {
		t.Fatalf("%d flow records, want %d", got, flows)
	}
	for _, n := range []int{2, 4} {
		p, got := replayWithPipeline(t, "", n, path)
		if a, b := strings.Join(want, "\n"), strings.Join(got, "\n"); a != b {
			t.Fatalf("workers %d differ from workers 1:\n%s", n, lineDiff(a, b))
		}
		if p.stats.FlushWaits.Load() == 0 {
			t.Errorf("workers %d: the flush of %d open flows never waited for the stage", n, flows)
		}
	}
}
