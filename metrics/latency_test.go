package metrics

import (
	"math"
	"strings"
	"sync"
	"testing"
)

func TestLatencyBuckets(t *testing.T) {
	tests := []struct {
		name    string
		obs     []float64
		buckets []string // expected le lines, in order
		sum     string
		count   string
	}{
		{
			name:    "empty",
			buckets: []string{`le="1e-06"} 0`, `le="0.001"} 0`, `le="+Inf"} 0`},
			sum:     "0", count: "0",
		},
		{
			name:    "spread",
			obs:     []float64{5e-7, 2e-5, 2e-5, 3e-4, 0.02, 5},
			buckets: []string{`le="1e-06"} 1`, `le="1e-05"} 1`, `le="0.0001"} 3`, `le="0.001"} 4`, `le="0.01"} 4`, `le="0.1"} 5`, `le="1"} 5`, `le="10"} 6`, `le="+Inf"} 6`},
			sum:     "5.0203405", count: "6",
		},
		{
			name:    "beyond the last bound",
			obs:     []float64{30, 1e20},
			buckets: []string{`le="10"} 0`, `le="+Inf"} 2`},
			sum:     "1e+20", count: "2", // 30 is lost in float64 next to 1e20
		},
		{
			name:    "a bound belongs to its own bucket (le is inclusive)",
			obs:     []float64{1e-3, 1e-5},
			buckets: []string{`le="1e-06"} 0`, `le="1e-05"} 1`, `le="0.0001"} 1`, `le="0.001"} 2`, `le="+Inf"} 2`},
			sum:     "0.00101", count: "2",
		},
		{
			name:    "zero is a valid latency",
			obs:     []float64{0},
			buckets: []string{`le="1e-06"} 1`, `le="+Inf"} 1`},
			sum:     "0", count: "1",
		},
		{
			name:    "invalid values are ignored",
			obs:     []float64{-1, math.NaN(), math.Inf(1), math.Inf(-1)},
			buckets: []string{`le="+Inf"} 0`},
			sum:     "0", count: "0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			for _, v := range tt.obs {
				r.Latency().Observe(v)
			}
			out := scrape(t, r)
			for _, b := range tt.buckets {
				if !strings.Contains(out, "tapdlp_pipeline_packet_latency_seconds_bucket{"+b+"\n") {
					t.Errorf("missing bucket %s", b)
				}
			}
			for _, want := range []string{
				"tapdlp_pipeline_packet_latency_seconds_sum " + tt.sum + "\n",
				"tapdlp_pipeline_packet_latency_seconds_count " + tt.count + "\n",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("missing %q", want)
				}
			}
			if tt.count != "0" && !strings.Contains(out, "tapdlp_pipeline_packet_latency_vm_seconds_count "+tt.count+"\n") {
				t.Errorf("vmrange form disagrees on the count")
			}
			if t.Failed() {
				t.Log(out[strings.Index(out, "# HELP tapdlp_pipeline_packet_latency_seconds"):])
			}
		})
	}
}

// TestLatencyObserveAllocs: the pipeline calls Observe on its hot path
// (sampled); once a decade has been seen it must not allocate.
func TestLatencyObserveAllocs(t *testing.T) {
	l := New().Latency()
	l.Observe(0.00042)
	if n := testing.AllocsPerRun(1000, func() { l.Observe(0.00042) }); n != 0 {
		t.Errorf("Observe allocates %v times per call", n)
	}
}

// TestLatencyConcurrentScrape runs Observe from several goroutines while
// scraping (run with -race): every scrape stays well formed.
func TestLatencyConcurrentScrape(t *testing.T) {
	r := New()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			v := 1e-5 * float64(g+1)
			for {
				select {
				case <-stop:
					return
				default:
					r.Latency().Observe(v)
				}
			}
		})
	}
	for range 50 {
		parse(t, scrape(t, r))
	}
	close(stop)
	wg.Wait()
}

func BenchmarkLatencyObserve(b *testing.B) {
	l := New().Latency()
	l.Observe(0.0003)
	b.ReportAllocs()
	for b.Loop() {
		l.Observe(0.0003)
	}
}

func BenchmarkScrapeFull(b *testing.B) {
	r := toyRegistry(b, fullToy())
	r.Latency().Observe(0.0003)
	var sink strings.Builder
	b.ReportAllocs()
	for b.Loop() {
		sink.Reset()
		r.WritePrometheus(&sink)
	}
}
