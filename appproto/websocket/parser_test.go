package websocket

import (
	"bytes"
	"compress/flate"
	"fmt"
	"strings"
	"testing"
)

// frame builds one frame (test helper for the edge cases real libraries
// do not produce on demand).
func frame(fin bool, rsv1 bool, op Opcode, mask []byte, payload []byte) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	if rsv1 {
		b0 |= 0x40
	}
	out := []byte{b0}
	m := byte(0)
	if mask != nil {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, m|byte(n))
	case n < 1<<16:
		out = append(out, m|126, byte(n>>8), byte(n))
	default:
		out = append(out, m|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	p := bytes.Clone(payload)
	if mask != nil {
		out = append(out, mask...)
		for i := range p {
			p[i] ^= mask[i&3]
		}
	}
	return append(out, p...)
}

func deflateRaw(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, 9)
	w.Write(b)
	w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), deflateTail)
}

func TestParserCases(t *testing.T) {
	mask := []byte{0xa, 0xb, 0xc, 0xd}
	for _, tc := range []struct {
		name string
		ext  Extensions
		in   []byte
		want string
	}{
		{"control inside fragments", Extensions{},
			cat(frame(false, false, OpText, mask, []byte("card 4111")), frame(true, false, OpPing, mask, []byte("p")),
				frame(false, false, OpContinuation, mask, []byte("1111111")), frame(true, false, OpContinuation, mask, []byte("11111"))),
			`[[{1 false 3 "card 4111111111111111" 0}] []] [[9:"p"] []] []`},
		{"close with reason", Extensions{}, frame(true, false, OpClose, nil, []byte("\x03\xe8bye")), `[[] []] [[8:"\x03\xe8bye"] []] []`},
		{"64-bit length", Extensions{}, frame(true, false, OpBinary, nil, bytes.Repeat([]byte{7}, 70000)), `[[{2 false 1 "` + strings.Repeat(`\a`, 70000) + `" 0}] []] [[] []] []`},
		{"rsv1 without extension", Extensions{}, frame(true, true, OpText, nil, []byte("x")), `[[] []] [[] []] [client:bad_frame]`},
		{"reserved opcode", Extensions{}, frame(true, false, 3, nil, nil), `[[] []] [[] []] [client:bad_frame]`},
		{"fragmented control", Extensions{}, frame(false, false, OpPing, nil, nil), `[[] []] [[] []] [client:bad_frame]`},
		{"long control", Extensions{}, frame(true, false, OpPong, nil, make([]byte, 126)), `[[] []] [[] []] [client:bad_frame]`},
		{"continuation first", Extensions{}, frame(true, false, OpContinuation, nil, []byte("x")), `[[] []] [[] []] [client:bad_frame]`},
		{"text inside text", Extensions{}, cat(frame(false, false, OpText, nil, []byte("a")), frame(true, false, OpText, nil, []byte("b"))),
			`[[{1 false 1 "a" 32}] []] [[] []] [client:bad_frame]`},
		{"cut inside", Extensions{}, frame(true, false, OpText, nil, []byte("abcdef"))[:5], `[[{1 false 1 "abc" 32}] []] [[] []] []`},
		{"deflate takeover", Extensions{Deflate: true},
			cat(frame(true, true, OpText, mask, deflateRaw([]byte("hello hello hello"))), frame(true, false, OpText, mask, []byte("plain"))),
			`[[{1 true 1 "hello hello hello" 0} {1 false 1 "plain" 0}] []] [[] []] []`},
		{"deflate corrupt", Extensions{Deflate: true, ClientNoContextTakeover: true},
			cat(frame(true, true, OpText, nil, []byte{0xff, 0xff, 0xff}), frame(true, true, OpText, nil, deflateRaw([]byte("next")))),
			`[[{1 true 1 "" 8} {1 true 1 "next" 0}] []] [[] []] []`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, cut := range []int{0, 1, 3} {
				r := &wsRec{t: t}
				p := NewParser(Client, tc.ext, Config{MaxMessage: 1 << 20}, r)
				feed(p, tc.in, cut)
				p.Close()
				got := fmt.Sprintf("%q", fmt.Sprint(r.msgs, r.ctl, r.stops))
				_ = got
				if s := summary(r); s != tc.want {
					t.Errorf("cut %d:\n got %s\nwant %s", cut, s, tc.want)
				}
			}
		})
	}
}

func summary(r *wsRec) string {
	var parts [2][]string
	for side := range r.msgs {
		for _, m := range r.msgs[side] {
			parts[side] = append(parts[side], fmt.Sprintf("{%d %v %d %q %d}", m.op, m.compressed, m.frames, m.data, m.flags))
		}
	}
	return fmt.Sprintf("[[%s] [%s]] %v %v", strings.Join(parts[0], " "), strings.Join(parts[1], " "), fmt.Sprintf("[[%s] [%s]]", strings.Join(r.ctl[0], " "), strings.Join(r.ctl[1], " ")), r.stops)
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// TestDeflateBomb: a small compressed message inflating far beyond the
// ratio is cut and counted; with context takeover the direction's later
// compressed messages are marked undecodable, not misread.
func TestDeflateBomb(t *testing.T) {
	bomb := deflateRaw(bytes.Repeat([]byte{'A'}, 4<<20))
	var st Stats
	r := &wsRec{t: t}
	p := NewParser(Server, Extensions{Deflate: true}, Config{MaxMessage: 1 << 20, Stats: &st}, r)
	p.Feed(cat(frame(true, true, OpBinary, nil, bomb), frame(true, true, OpText, nil, deflateRaw([]byte("after")))))
	p.Close()
	ms := r.msgs[Server]
	if len(ms) != 2 || !ms[0].flags.Has(FlagBomb) || len(ms[0].data) > 1<<20 || !ms[1].flags.Has(FlagUndecoded) || st.Bombs.Load() != 1 {
		t.Fatalf("%d messages, flags %x/%x, first %d bytes, bombs %d", len(ms), ms[0].flags, ms[len(ms)-1].flags, len(ms[0].data), st.Bombs.Load())
	}
}

// TestDeflateBudget: inflation is budgeted by decoded bytes, not by ratio.
// A card behind padding that compresses a thousandfold is delivered within
// the budget; beyond it the message is cut (FlagTruncated) and, when no
// context is shared, the next message still decodes; with a shared context
// a message of ordinary ratio is inflated on (not delivered) so the next
// one still decodes.
func TestDeflateBudget(t *testing.T) {
	card := "4111111111111111"
	padded := strings.Repeat("A", 200<<10) + card
	var text strings.Builder
	for i := 0; text.Len() < 96<<10; i++ {
		fmt.Fprintf(&text, "row %d value %d; ", i, i*7919%100003)
	}
	for _, tc := range []struct {
		name   string
		ext    Extensions
		budget int64
		first  string
		flags  Flags // the first message's
		bombs  uint64
	}{
		{"padding within the budget, takeover", Extensions{Deflate: true}, 256 << 10, padded, 0, 0},
		{"padding within the budget, no takeover", Extensions{Deflate: true, ClientNoContextTakeover: true}, 256 << 10, padded, 0, 0},
		{"padding beyond the budget, no takeover", Extensions{Deflate: true, ClientNoContextTakeover: true}, 64 << 10, padded, FlagTruncated, 0},
		{"text beyond the budget, takeover", Extensions{Deflate: true}, 16 << 10, text.String(), FlagTruncated, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st Stats
			r := &wsRec{t: t}
			p := NewParser(Client, tc.ext, Config{MaxMessage: tc.budget, Stats: &st}, r)
			mask := []byte{1, 2, 3, 4}
			p.Feed(cat(frame(true, true, OpText, mask, deflateRaw([]byte(tc.first))), frame(true, true, OpText, mask, deflateRaw([]byte("next "+card)))))
			p.Close()
			ms := r.msgs[Client]
			if len(ms) != 2 {
				t.Fatalf("%d messages", len(ms))
			}
			want := tc.first[:min(int64(len(tc.first)), tc.budget)]
			if ms[0].flags != tc.flags || ms[0].data != want || st.Bombs.Load() != tc.bombs {
				t.Errorf("first: flags %d, %d bytes, bombs %d; want flags %d, %d bytes", ms[0].flags, len(ms[0].data), st.Bombs.Load(), tc.flags, len(want))
			}
			if ms[1].flags != 0 || ms[1].data != "next "+card {
				t.Errorf("second: flags %d %q", ms[1].flags, ms[1].data)
			}
		})
	}
}

func TestGap(t *testing.T) {
	r := &wsRec{t: t}
	p := NewParser(Client, Extensions{}, Config{}, r)
	f := frame(true, false, OpText, []byte{1, 2, 3, 4}, []byte("aaaaBBBBcc"))
	p.Feed(f[:6+4])
	p.Gap(4)
	p.Feed(f[6+8:])
	p.Gap(1)
	p.Close()
	if s := summary(r); s != `[[{1 false 1 "aaaacc" 16}] []] [[] []] [client:gap]` {
		t.Errorf("%s", s)
	}
}

func TestParseExtensions(t *testing.T) {
	for in, want := range map[string]Extensions{
		"":                   {},
		"permessage-deflate": {Deflate: true},
		"x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover; server_max_window_bits=10": {Deflate: true, ClientNoContextTakeover: true},
		"Permessage-Deflate; server_no_context_takeover":                                                    {Deflate: true, ServerNoContextTakeover: true},
		"foo; server_no_context_takeover":                                                                   {},
	} {
		if got := ParseExtensions([]byte(in)); got != want {
			t.Errorf("%q: %+v, want %+v", in, got, want)
		}
	}
}

type nop struct{ n int }

func (h *nop) Start(*Message)               {}
func (h *nop) Data(m *Message, b []byte)    { h.n += len(b) }
func (h *nop) End(*Message)                 {}
func (h *nop) Control(Side, Opcode, []byte) {}
func (h *nop) Stop(Side, Reason)            {}

// TestAllocs: masked frames of uncompressed messages cost no allocation.
func TestAllocs(t *testing.T) {
	f := cat(frame(false, false, OpText, []byte{9, 8, 7, 6}, bytes.Repeat([]byte("x"), 3000)),
		frame(true, false, OpContinuation, []byte{9, 8, 7, 6}, bytes.Repeat([]byte("y"), 9000)))
	p := NewParser(Client, Extensions{Deflate: true}, Config{}, &nop{})
	if n := testing.AllocsPerRun(100, func() { feed(p, f, 1448) }); n != 0 || p.Stopped() {
		t.Errorf("%.1f allocations per message", n)
	}
}

// BenchmarkMaskedText: client text messages, unmasked and delivered.
func BenchmarkMaskedText(b *testing.B) {
	f := frame(true, false, OpText, []byte{9, 8, 7, 6}, bytes.Repeat([]byte("x"), 64<<10))
	p := NewParser(Client, Extensions{}, Config{}, &nop{})
	b.SetBytes(64 << 10)
	b.ReportAllocs()
	for range b.N {
		feed(p, f, 1448)
	}
}
