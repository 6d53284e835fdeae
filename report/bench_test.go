package report

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

// BenchmarkAddJSON measures decoding and aggregating one JSON record, the
// cost per line of `tapdlp report` and of the replay report sink.
func BenchmarkAddJSON(b *testing.B) {
	recs := genRecords(3000)
	var size int64
	for _, r := range recs {
		size += int64(len(r))
	}
	b.SetBytes(size / int64(len(recs)))
	b.ReportAllocs()
	r := New(Options{})
	i := 0
	for b.Loop() {
		_ = r.AddJSON(recs[i%len(recs)])
		i++
	}
}

// BenchmarkAddFlow measures aggregation alone for a decoded flow (the
// in-process path); it must not allocate for known keys.
func BenchmarkAddFlow(b *testing.B) {
	r := New(Options{})
	f := record.Flow{Type: "flow", FlowID: "a", State: record.StateClosed, Start: record.Time{Time: t0}, End: record.Time{Time: t0.Add(time.Second)},
		Src: record.Src{IP: "10.0.0.1", Service: "crm"}, Dst: record.Dst{Name: "a.example", Domain: "a.example", Category: "saas"}, Bytes: record.Counts{Out: 10},
		Sensitive: []record.Finding{{Type: "email", Class: "PII", Count: 2, Direction: "out"}}}
	b.ReportAllocs()
	for b.Loop() {
		r.AddFlow(&f)
	}
}

// BenchmarkWriteHTML measures rendering a day's report.
func BenchmarkWriteHTML(b *testing.B) {
	r := New(Options{})
	for _, l := range genRecords(3000) {
		_ = r.AddJSON(l)
	}
	var buf bytes.Buffer
	_ = r.WriteHTML(&buf)
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.WriteHTML(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
