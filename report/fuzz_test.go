package report

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadInput feeds arbitrary input (JSON lines, compressed or not) and
// checks the reader never panics, the caps hold, and the page renders with
// only its own script whatever the strings held.
func FuzzReadInput(f *testing.F) {
	for _, l := range genRecords(20)[:8] {
		f.Add(l)
	}
	f.Add([]byte(`{"type":"flow","state":"active","flow_id":"a","bytes":{"out":5}}` + "\n" + `{"type":"flow","flow_id":"a","bytes":{"out":1}}`))
	f.Add([]byte(`{"type":"flow","start":"0001-01-01T00:00:01Z","end":"9999-12-31T23:59:59Z","dst":{"name":"<script>x</script>","first_seen":true}}`))
	f.Add([]byte(`{"type":"alert","rule":"</script><script>","severity":"\u2028","count":-4}`))
	f.Add([]byte(`{"type":"flow","flow_id":"d","state":"reset","conn_state":"REJ","reject":{"by":"rst"},"http":{"uri":"/a"},"dst":{"vendor":"V","resolution":"unresolved"}}`))
	f.Add([]byte(`{"type":"alert","ts":"2026-11-02T09:00:00Z","rule":"r","severity":"high","community_id":"1:x","flow_id":"f","reason":"<b>","src":{"service":"s"},"dst":{"name":"n","port":443}}`))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := Options{MaxKeys: 8, MaxCells: 32, MaxBuckets: 16, MaxFirstSeen: 4, MaxLine: 4096, MaxAlerts: 4}
		r := New(opt)
		_ = r.ReadInput("fuzz", bytes.NewReader(data)) // decompression errors are fine; panics are not
		if len(r.dests.names) > opt.MaxKeys || len(r.pairs) > opt.MaxCells || len(r.domSeries.cells) > opt.MaxCells ||
			len(r.firstSeen) > opt.MaxFirstSeen || len(r.inflight) > opt.MaxKeys {
			t.Fatalf("a cap was exceeded: dests %d pairs %d cells %d first-seen %d in-flight %d",
				len(r.dests.names), len(r.pairs), len(r.domSeries.cells), len(r.firstSeen), len(r.inflight))
		}
		if len(r.alertRows) > opt.MaxAlerts || len(r.paths) > opt.MaxCells || len(r.findCells) > opt.MaxCells || len(r.denyPairs) > opt.MaxCells ||
			len(r.uris.names) > opt.MaxKeys || len(r.vendors.names) > opt.MaxKeys || len(r.srcSeries.cells) > opt.MaxCells || len(r.sevSeries.cells) > opt.MaxCells {
			t.Fatalf("a role-view cap was exceeded: alerts %d paths %d findings %d denied %d", len(r.alertRows), len(r.paths), len(r.findCells), len(r.denyPairs))
		}
		if r.axis.any && r.axis.hi-r.axis.lo >= int64(opt.MaxBuckets) {
			t.Fatalf("%d buckets, cap %d", r.axis.hi-r.axis.lo+1, opt.MaxBuckets)
		}
		var out bytes.Buffer
		if err := r.WriteHTML(&out); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(strings.ToLower(out.String()), "<script"); n != 1 {
			t.Fatalf("%d script elements in the page", n)
		}
	})
}
