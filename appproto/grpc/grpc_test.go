package grpc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tapdlp/tapdlp/internal/bodydec"
)

func TestParsePath(t *testing.T) {
	for in, want := range map[string]string{
		"/helloworld.Greeter/SayHello": "helloworld.Greeter SayHello true",
		"/a.B/C":                       "a.B C true",
		"/Svc/M":                       "Svc M true",
		"/a/b/c":                       "  false",
		"/a.B/":                        "  false",
		"//M":                          "  false",
		"/v1/chat?x=1":                 "  false",
		"":                             "  false",
		"a.B/C":                        "  false",
	} {
		s, m, ok := ParsePath([]byte(in))
		if got := fmt.Sprintf("%s %s %v", s, m, ok); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestEncodingAndType(t *testing.T) {
	for in, want := range map[string]bodydec.Coding{"gzip": bodydec.CodingGzip, "identity": bodydec.CodingNone, "deflate": bodydec.CodingDeflate,
		"snappy": bodydec.CodingSnappy, "br": bodydec.CodingUnknown, "zstd": bodydec.CodingUnknown, "x": bodydec.CodingUnknown} {
		if got := ParseEncoding([]byte(in)); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
	for in, want := range map[string]bool{"application/grpc": true, "application/grpc+proto": true, "application/grpc-web": false, "application/json": false} {
		if IsGRPC([]byte(in)) != want {
			t.Errorf("IsGRPC(%q) != %v", in, want)
		}
	}
}

func protoStruct(t testing.TB, m map[string]any) []byte {
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWalkText(t *testing.T) {
	nested := protoStruct(t, map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{"card": "4111111111111111"}}}, "n": 5.0})
	for _, tc := range []struct {
		name  string
		in    []byte
		depth int
		want  string
	}{
		{"nested struct", nested, 16, "a|b|c|card|4111111111111111|n"},
		// Past the bound a nested message that is valid UTF-8 is yielded
		// as it is: the card is still in what the caller scans.
		{"depth bound", nested, 3, "a|\n\x01b\x12'*%\n#\n\x01c\x12\x1e*\x1c\n\x1a\n\x04card\x12\x12\x1a\x104111111111111111|n"},
		{"json codec", []byte(`{"ssn":"078-05-1120"}`), 8, `{"ssn":"078-05-1120"}`},
		{"binary blob", []byte{0x0a, 0x03, 0xff, 0xfe, 0x00}, 8, ""},
		{"not a message, not text", []byte{0xff, 0xff}, 8, ""},
		{"varints and fixed", []byte{0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1d, 1, 2, 3, 4, 0x22, 0x02, 'h', 'i'}, 8, "hi"},
		{"group: not a message, yielded as text", []byte{0x0b, 0x0c}, 8, "\v\f"},
		{"group inside", []byte{0x0a, 0x04, 0x0b, 0x0c, 0x01, 0x02}, 8, "\v\f\x01\x02"},
	} {
		var got []string
		WalkText(tc.in, tc.depth, func(b []byte) { got = append(got, string(b)) })
		if g := strings.Join(got, "|"); !sameSet(g, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, g, tc.want)
		}
	}
}

// sameSet compares |-joined lists ignoring order (map fields are
// marshalled in random order).
func sameSet(a, b string) bool {
	as, bs := strings.Split(a, "|"), strings.Split(b, "|")
	if len(as) != len(bs) {
		return false
	}
	m := map[string]int{}
	for _, s := range as {
		m[s]++
	}
	for _, s := range bs {
		m[s]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func TestWalkTextAllocs(t *testing.T) {
	b := protoStruct(t, map[string]any{"a": map[string]any{"b": "x"}, "c": []any{"d", 1.0, map[string]any{"e": "f"}}})
	n := 0
	if a := testing.AllocsPerRun(100, func() { WalkText(b, 8, func([]byte) { n++ }) }); a != 0 {
		t.Errorf("%.1f allocations per walk", a)
	}
}

func prefixed(compressed bool, b []byte) []byte {
	out := make([]byte, 5, 5+len(b))
	if compressed {
		out[0] = 1
	}
	binary.BigEndian.PutUint32(out[1:], uint32(len(b)))
	return append(out, b...)
}

type msgs struct{ got []string }

func (m *msgs) Message(msg *Message, b []byte) {
	m.got = append(m.got, fmt.Sprintf("%d %v %d %q", msg.Seq, msg.Compressed, msg.Flags, b))
}

func TestReader(t *testing.T) {
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	zl := func(b []byte) []byte {
		var buf bytes.Buffer
		w := zlib.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	sn := func(b []byte) []byte {
		var buf bytes.Buffer
		w := snappy.NewBufferedWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	big := bytes.Repeat([]byte("A"), 1<<20)
	for _, tc := range []struct {
		name   string
		coding bodydec.Coding
		in     []byte
		want   []string
	}{
		{"plain two", bodydec.CodingNone, append(prefixed(false, []byte("one")), prefixed(false, []byte("two"))...), []string{`1 false 0 "one"`, `2 false 0 "two"`}},
		{"empty", bodydec.CodingNone, prefixed(false, nil), []string{`1 false 0 ""`}},
		{"gzip mixed", bodydec.CodingGzip, append(prefixed(true, gz([]byte("zipped"))), prefixed(false, []byte("raw"))...), []string{`1 true 0 "zipped"`, `2 false 0 "raw"`}},
		{"deflate", bodydec.CodingDeflate, prefixed(true, zl([]byte("zlib"))), []string{`1 true 0 "zlib"`}},
		{"snappy", bodydec.CodingSnappy, prefixed(true, sn([]byte("snappy!"))), []string{`1 true 0 "snappy!"`}},
		{"compressed without encoding", bodydec.CodingNone, prefixed(true, []byte("??")), []string{`1 true 4 ""`}},
		{"corrupt", bodydec.CodingGzip, append(prefixed(true, []byte("not gzip")), prefixed(false, []byte("next"))...), []string{`1 true 8 ""`, `2 false 0 "next"`}},
		{"truncated", bodydec.CodingNone, prefixed(false, []byte("0123456789")), []string{`1 false 1 "01234567"`}},
		{"bomb", bodydec.CodingGzip, prefixed(true, gz(big)), nil},
		{"cut short", bodydec.CodingNone, prefixed(false, []byte("abcdef"))[:8], []string{`1 false 16 "abc"`}},
	} {
		for _, cut := range []int{0, 1, 4} {
			m := &msgs{}
			max := 8
			if tc.name == "bomb" {
				max = 64 << 10
			}
			var st Stats
			r := NewReader(tc.coding, Config{MaxMessage: max, Stats: &st}, m)
			for b := tc.in; len(b) > 0; {
				n := len(b)
				if cut > 0 {
					n = min(n, cut)
				}
				r.Feed(b[:n])
				b = b[n:]
			}
			r.End()
			if tc.name == "bomb" {
				// Cut at the budget (FlagTruncated) at a ratio no real
				// content has (FlagBomb).
				if len(m.got) != 1 || !strings.HasPrefix(m.got[0], "1 true 3 ") || st.Bombs.Load() != 1 || st.Truncated.Load() != 1 {
					t.Errorf("bomb: %d messages, bombs %d", len(m.got), st.Bombs.Load())
				}
				continue
			}
			if strings.Join(m.got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%s cut %d: %q, want %q", tc.name, cut, m.got, tc.want)
			}
		}
	}
}

// TestReaderBudget: decompression is budgeted by decoded bytes, not by
// ratio: a card behind padding that compresses a thousandfold is delivered
// when the message fits the budget, and a message beyond it is cut there
// (a bomb only when the ratio is one no real content has).
func TestReaderBudget(t *testing.T) {
	card := []byte("4111111111111111")
	padded := append(bytes.Repeat([]byte("A"), 200<<10), card...)
	for _, tc := range []struct {
		name      string
		max       int
		in        []byte
		flags     Flags
		tail      []byte // the delivered message ends with this
		delivered int
	}{
		{"padding within the budget", 256 << 10, padded, 0, card, len(padded)},
		{"padding beyond the budget", 64 << 10, padded, FlagTruncated | FlagBomb, []byte("AAAA"), 64 << 10},
		{"ordinary text beyond the budget", 1000, []byte(strings.Repeat("the quick brown fox 0123456789 ", 100)), FlagTruncated, nil, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st Stats
			var got []byte
			var flags Flags
			r := NewReader(bodydec.CodingGzip, Config{MaxMessage: tc.max, Stats: &st}, handlerFunc(func(m *Message, b []byte) {
				got, flags = append([]byte(nil), b...), m.Flags
			}))
			in := prefixed(true, gzipBytes(t, tc.in))
			for len(in) > 0 {
				n := min(len(in), 1448)
				r.Feed(in[:n])
				in = in[n:]
			}
			r.End()
			if flags != tc.flags || len(got) != tc.delivered || !bytes.HasSuffix(got, tc.tail) {
				t.Errorf("flags %d, %d bytes ending %q; want flags %d, %d bytes ending %q", flags, len(got), got[max(len(got)-8, 0):], tc.flags, tc.delivered, tc.tail)
			}
			if want := uint64(0); tc.flags&FlagBomb != 0 && st.Bombs.Load() != 1 || tc.flags&FlagBomb == 0 && st.Bombs.Load() != want {
				t.Errorf("bombs %d", st.Bombs.Load())
			}
		})
	}
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkReaderWalk: a plain gRPC message split across frames, then
// walked.
func BenchmarkReaderWalk(b *testing.B) {
	msg := protoStruct(b, map[string]any{"user": map[string]any{"name": "Jane", "card": "4111111111111111"}, "text": strings.Repeat("lorem ipsum ", 4000)})
	in := prefixed(false, msg)
	n := 0
	r := NewReader(bodydec.CodingNone, Config{}, handlerFunc(func(_ *Message, b []byte) { WalkText(b, 8, func(t []byte) { n += len(t) }) }))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for range b.N {
		for p := in; len(p) > 0; {
			k := min(len(p), 1448)
			r.Feed(p[:k])
			p = p[k:]
		}
	}
}

// TestReaderAllocs: uncompressed messages split across frames cost no
// allocation once the buffer has grown.
func TestReaderAllocs(t *testing.T) {
	in := prefixed(false, bytes.Repeat([]byte("m"), 5000))
	r := NewReader(bodydec.CodingNone, Config{}, handlerFunc(func(*Message, []byte) {}))
	if n := testing.AllocsPerRun(100, func() {
		for p := in; len(p) > 0; {
			k := min(len(p), 1448)
			r.Feed(p[:k])
			p = p[k:]
		}
	}); n != 0 {
		t.Errorf("%.1f allocations per message", n)
	}
}
