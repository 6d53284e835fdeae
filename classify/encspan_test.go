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
// eight-byte words. Each input is searched alone and after the main scan
// recorded its clean blocks (encClean), from its start and from an offset
// into it.
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
	inputs = append(inputs, binaryWithTokens(g)...)
	s.sink = discardSink{}
	type mode struct{ rec, at int }
	for _, buf := range inputs {
		for _, m := range []mode{{-1, 0}, {0, 0}, {0, 5}, {0, 60}, {0, 71}} {
			b, at := buf, -1
			if m.rec >= 0 {
				if m.at >= len(buf) {
					continue
				}
				s.region(buf, 0, len(buf), contNone) // records the clean blocks
				b, at = buf[m.at:], m.at
			}
			checkEncCover(t, s, b, at)
			s.clean.reset(nil)
		}
	}
	if n := cleanBlocks(s, contentInputs()[0].data); n < 1000 {
		t.Errorf("random binary: %d clean blocks recorded, want most of 16384", n)
	}
}

// cleanBlocks runs the main scan over b and counts the clean blocks it
// records.
func cleanBlocks(s *Scanner, b []byte) int {
	s.region(b, 0, len(b), contNone)
	n := 0
	for k := 0; k < len(b)/64; k++ {
		if s.clean.clean(k) {
			n++
		}
	}
	s.clean.reset(nil)
	return n
}

// binaryWithTokens returns random binary with runs of token characters of
// eight to twelve bytes and percent escapes at every offset around the
// 64-byte blocks and their eight-byte words.
func binaryWithTokens(g *gen) [][]byte {
	var out [][]byte
	rnd := contentInputs()[0].data
	for _, tok := range []string{"abcdefgh", "abcdefghi", "MTIzNDU2Nzg5", "ab%41", "%4a", "x%2", "+12345678", "a=b.c-d_e"} {
		for off := 40; off < 200; off++ {
			b := append([]byte(nil), rnd[off*300:off*300+400]...)
			for k := range b {
				if isEncTok[b[k]] && g.r.IntN(2) == 0 {
					b[k] = 0xff // fewer accidental neighbours
				}
			}
			copy(b[off:], tok)
			out = append(out, b)
		}
	}
	return out
}

type discardSink struct{}

func (discardSink) hit(*Scanner, *hit) {}

// checkEncCover checks the spans of b (at: its place in the recorded
// buffer, -1 none) against their definition.
func checkEncCover(t *testing.T, s *Scanner, b []byte, at int) {
	t.Helper()
	{
		for _, final := range []bool{false, true} {
			list, more, cv := s.encSpans(b, final, at)
			var sp []encSpan
			for it := (encSpanIter{sp: list, next: more, b: b, final: final, cv: cv}); ; {
				r, ok := it.span()
				if !ok {
					break
				}
				sp = append(sp, r)
			}
			name := fmt.Sprintf("%q final=%v at=%d spans %v", b, final, at, sp)
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
				sp, more, cv := s.encSpans(in.data, true, -1)
				it := encSpanIter{sp: sp, next: more, b: in.data, final: true, cv: cv}
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
