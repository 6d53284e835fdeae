package pipeline

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

// The encoder's records are json.Marshal's bytes, stay intact while
// queued, come from a recycled slab once every record of it was released,
// and oversized records get their own buffer.
func TestRecordEncoderSlabs(t *testing.T) {
	var enc recordEncoder
	type held struct {
		b    []byte
		want []byte
		slab *recordSlab
	}
	var q []held
	for i := range 3000 { // several slabs' worth
		v := &record.Volume{Type: "volume", Key: strings.Repeat("k", i%97), Window: "1m", BytesOut: uint64(i)}
		b, s := enc.encode(v)
		want, _ := json.Marshal(v)
		if !bytes.Equal(b, want) {
			t.Fatalf("record %d: %s, want %s", i, b, want)
		}
		if cap(b) != len(b) {
			t.Fatalf("record %d: capacity %d beyond its length %d", i, cap(b), len(b))
		}
		q = append(q, held{b, want, s})
	}
	slabs := map[*recordSlab]bool{}
	for _, h := range q {
		if !bytes.Equal(h.b, h.want) {
			t.Fatalf("a queued record was overwritten: %s", h.b)
		}
		slabs[h.slab] = true
	}
	if len(slabs) < 3 {
		t.Fatalf("%d slabs for 3000 records", len(slabs))
	}
	for _, h := range q {
		h.slab.release()
	}
	// Every slab but the current one is free now: the next slab is reused.
	before := enc.cur
	for enc.cur == before {
		b, s := enc.encode(&record.Volume{Key: strings.Repeat("x", 1000)})
		s.release()
		_ = b
	}
	if !slabs[enc.cur] {
		t.Error("a new slab was allocated although released ones were free")
	}
	big := &record.Volume{Key: strings.Repeat("y", recordSlabSize)}
	if b, s := enc.encode(big); s != nil || len(b) < recordSlabSize {
		t.Errorf("oversized record: slab %p, %d bytes", s, len(b))
	}
}

func TestRecordEncoderNoAllocs(t *testing.T) {
	var enc recordEncoder
	v := &record.Flow{Type: "flow", FlowID: "0123456789abcdef", Src: record.Src{IP: "10.0.0.1"}, Dst: record.Dst{IP: "10.0.0.2"}}
	n := testing.AllocsPerRun(10000, func() {
		_, s := enc.encode(v)
		s.release()
	})
	if n != 0 {
		t.Errorf("%v allocations per record with slabs recycled", n)
	}
}

// Records of every size against every room left in the slab — encoded in
// place, grown out of the slab's tail, too big for a slab — come out as
// json.Marshal writes them and stay intact while queued.
func TestRecordEncoderInPlace(t *testing.T) {
	var enc recordEncoder
	type held struct{ b, want []byte }
	var q []held
	for i := range 400 {
		v := &record.Volume{Type: "volume", Key: strings.Repeat("k", (i*997)%(recordSlabSize/3)), BytesOut: uint64(i)}
		b, s := enc.encode(v)
		want, _ := json.Marshal(v)
		if !bytes.Equal(b, want) {
			t.Fatalf("record %d (%d bytes): wrong JSON", i, len(want))
		}
		if s != nil && cap(b) != len(b) { // a slab's neighbours must be safe from appends
			t.Fatalf("record %d: capacity %d beyond its length %d", i, cap(b), len(b))
		}
		q = append(q, held{b, want})
	}
	for i, h := range q {
		if !bytes.Equal(h.b, h.want) {
			t.Fatalf("queued record %d was overwritten", i)
		}
	}
}
