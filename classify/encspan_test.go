package classify

import (
	"fmt"
	"strings"
	"testing"
)

// TestEncSpansCover checks encSpans against its definition, byte by byte:
// every maximal run of token characters that can decode to something (nine
// or more characters, a percent escape, or cut by the end of a buffer that
// is not the last) lies inside one span, and the spans are ordered and
// disjoint, on inputs whose runs start and end at every offset around the
// eight-byte words.
func TestEncSpansCover(t *testing.T) {
	e := testEngine(t)
	s := e.NewScanner()
	g := newGen(8)
	var inputs [][]byte
	for _, alpha := range []string{
		"%4a1=+MNO09b/. \x00\xff\x80!\"",
		"ab\x00",
		"aaaaaaa\x01",
		"%41=\xff",
		"%\xff0",
	} {
		for n := range 80 {
			inputs = append(inputs, []byte(g.str(n, alpha)))
		}
		for range 200 {
			inputs = append(inputs, []byte(g.str(200+g.r.IntN(2000), alpha)))
		}
	}
	// Text in part: the start decides whether a buffer is searched whole.
	for k := range 64 {
		inputs = append(inputs, append([]byte(g.str(k, "ab %=1")), contentInputs()[0].data[k*100:k*100+300]...))
	}
	for k := range 40 {
		inputs = append(inputs, contentInputs()[0].data[k*1000:k*1000+k*37])
	}
	for _, b := range inputs {
		for _, final := range []bool{false, true} {
			list, more := s.encSpans(b, final)
			var sp []encSpan
			for it := (encSpanIter{sp: list, next: more, b: b, final: final}); ; {
				r, ok := it.span()
				if !ok {
					break
				}
				sp = append(sp, r)
			}
			name := fmt.Sprintf("%q final=%v spans %v", b, final, sp)
			for k := 1; k < len(sp); k++ {
				if sp[k].a < sp[k-1].z || sp[k].a >= sp[k].z {
					t.Fatalf("%s: spans out of order", name)
				}
			}
			for i := 0; i < len(b); {
				if !isEncTok[b[i]] {
					i++
					continue
				}
				j := i
				pct := false
				for j < len(b) && isEncTok[b[j]] {
					if b[j] == '%' && j+2 < len(b) && isHexByte[b[j+1]] && isHexByte[b[j+2]] {
						pct = true
					}
					j++
				}
				if j-i >= encRunMin || pct || (j == len(b) && !final) {
					in := false
					for _, r := range sp {
						in = in || r.a <= i && j <= r.z
					}
					if !in {
						t.Fatalf("%s: token [%d,%d) %q in no span", name, i, j, b[i:j])
					}
				}
				i = j
			}
		}
	}
}

// TestTextStart: buffers that start like text are searched whole, binary
// ones through the finder.
func TestTextStart(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", true},
		{"plain text, with\ttabs\nand lines", true},
		{strings.Repeat("<p lang=en>", 6) + string(make([]byte, 100)), true}, // only the first 64 bytes count
		{strings.Repeat("<p lang=en>", 5) + string(make([]byte, 100)), false},
		{"caf\xc3\xa9", false},
		{"abc\x00def", false},
		{"abcdefgh\x08", false},
		{"abcdefgh\x80abcdefgh", false},
		{"abcdefghabcdefgh\x01", false},
		{"\x7f\x09\x0a", true},
	} {
		if got := textStart([]byte(tc.in)); got != tc.want {
			t.Errorf("textStart(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// BenchmarkEncSpans measures the encoded pass's span finder alone on each
// content type, its floor on binary data.
func BenchmarkEncSpans(b *testing.B) {
	s := testEngine(b).NewScanner()
	for _, in := range contentInputs() {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			n := 0
			cpu := cpuTime()
			for b.Loop() {
				sp, more := s.encSpans(in.data, true)
				it := encSpanIter{sp: sp, next: more, b: in.data, final: true}
				for n = 0; ; n++ {
					if _, ok := it.span(); !ok {
						break
					}
				}
			}
			reportCPU(b, cpu, len(in.data))
			b.ReportMetric(float64(n), "spans")
		})
	}
}
