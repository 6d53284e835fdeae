package classify

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"
)

// contentInputs are the scanner inputs of the "Scanner throughput by
// content type" table in BENCHMARKS.md, 1 MiB each (the text corpus is the
// 64 MiB mixedCorpus, measured by BenchmarkEngine).
var contentInputs = sync.OnceValue(func() []struct {
	name string
	data []byte
} {
	const size = 1 << 20
	g := newGen(11)
	random := make([]byte, size)
	for i := range random {
		random[i] = byte(g.r.Uint32())
	}
	// Compressed: DEFLATE of the benign text corpus (what gzip bodies,
	// zip members and PNG data look like on the wire).
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.DefaultCompression)
	src := benign(5, 4*size)
	for z.Len() < size && len(src) > 0 {
		fw.Write(src[:min(len(src), 64<<10)])
		src = src[min(len(src), 64<<10):]
	}
	fw.Close()
	compressed := z.Bytes()[:min(z.Len(), size)]
	// Base64: a JSON document carrying a binary file (an image upload) as
	// MIME-wrapped base64.
	var b64 bytes.Buffer
	b64.WriteString(`{"name":"scan.png","content":"`)
	enc := base64.StdEncoding.EncodeToString(random[:size*3/4])
	for i := 0; i < len(enc); i += 76 {
		b64.WriteString(enc[i:min(len(enc), i+76)])
		b64.WriteString(`\r\n`)
	}
	b64.WriteString(`"}`)
	// HTML: a rendered page of markup, links, inline style and text.
	var h bytes.Buffer
	h.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Orders</title>\n<link rel=\"stylesheet\" href=\"/static/css/main.3f9a2c.css\"></head>\n<body>\n")
	for h.Len() < size {
		fmt.Fprintf(&h, `<div class="row item-%d" data-id="%d"><a href="/orders/%d?ref=list&amp;page=%d">Order #%d</a> <span class="status status-%s">%s</span>`+"\n",
			g.r.IntN(100), g.r.IntN(1e6), g.r.IntN(1e7), g.r.IntN(50), g.r.IntN(1e6), g.pick("ok", "late"), g.pick("Shipped", "Pending review"))
		fmt.Fprintf(&h, `<p style="margin:0 4px;color:#%06x">Updated %d minutes ago by <b>%s</b>. Total: $%d.%02d</p><img src="/img/p/%s.webp" width="%d" height="%d" alt="product photo"></div>`+"\n",
			g.r.IntN(1<<24), g.r.IntN(60), g.pick("Alice", "the warehouse team", "Support"), g.r.IntN(1000), g.r.IntN(100), g.str(12, "0123456789abcdef"), 100+g.r.IntN(500), 100+g.r.IntN(500))
	}
	h.WriteString("</body></html>\n")
	return []struct {
		name string
		data []byte
	}{
		{"binary", random},
		{"compressed", compressed},
		{"numjson", numericJSON()},
		{"base64", b64.Bytes()},
		{"html", h.Bytes()},
	}
})

// numericJSON is 1 MiB of a JSON array of 9-digit numbers, the input issue
// 15 measured as the scanner's slowest on text (every number is an SSN,
// SIN, routing or passport candidate whose context is looked up).
func numericJSON() []byte {
	g := newGen(3)
	var buf bytes.Buffer
	buf.WriteString(`{"ids":[`)
	for buf.Len() < 1<<20 {
		buf.Write(g.digits(9))
		buf.WriteByte(',')
	}
	buf.WriteString("1]}")
	return buf.Bytes()
}

// BenchmarkContent measures the one-shot scanner by content type; run it
// with -cpu 1 (cpu-MB/s is what one core achieves on a shared machine).
func BenchmarkContent(b *testing.B) {
	e := testEngine(b)
	for _, in := range contentInputs() {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			n := 0
			count := func(Match) { n++ }
			cpu := cpuTime()
			for b.Loop() {
				n = 0
				e.ScanAll(in.data, count)
			}
			reportCPU(b, cpu, len(in.data))
			b.ReportMetric(float64(n), "matches")
		})
	}
}

// BenchmarkPrefilter measures the prefilter alone (candidate positions of
// the binary input), the floor under the scanner on binary data.
func BenchmarkPrefilter(b *testing.B) {
	data := contentInputs()[0].data
	b.SetBytes(int64(len(data)))
	n := 0
	cpu := cpuTime()
	for b.Loop() {
		it := candIter{p: -1}
		n = 0
		for i := it.next(data, 0, len(data)); i < len(data); i = it.next(data, i+1, len(data)) {
			n++
		}
	}
	reportCPU(b, cpu, len(data))
	b.ReportMetric(float64(n)/float64(len(data)), "cand/byte")
}
