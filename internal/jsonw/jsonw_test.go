package jsonw

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain text", `"plain text"`},
		{`quote" back\slash`, `"quote\" back\\slash"`},
		{"<a href=x&y>", `"\u003ca href=x\u0026y\u003e"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"\xff ok \xc3", `"\ufffd ok \ufffd"`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // a surrogate is not UTF-8
		{"é✓😀", `"é✓😀"`},
		{"a\u2028b\u2029c", `"a\u2028b\u2029c"`},
	}
	for _, tt := range tests {
		got := string(AppendString([]byte("x"), tt.in))
		if got != "x"+tt.want {
			t.Errorf("AppendString(%q) = %s, want %s", tt.in, got[1:], tt.want)
		}
		ref, _ := json.Marshal(tt.in)
		if string(ref) != tt.want {
			t.Errorf("table is wrong for %q: encoding/json writes %s", tt.in, ref)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1.5, 0.000001, 0.00000099, 1e-7, 1.5e-300,
		123456789.125, 1e20, 1e21, 1.7976931348623157e308, 5e-324, 0.1 + 0.2, 10.123456} {
		want, _ := json.Marshal(v)
		if got := AppendFloat(nil, v); !bytes.Equal(got, want) {
			t.Errorf("AppendFloat(%v) = %s, want %s", v, got, want)
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := string(AppendFloat(nil, v)); got != "null" {
			t.Errorf("AppendFloat(%v) = %s, want null", v, got)
		}
	}
}

func TestWriter(t *testing.T) {
	w := Object([]byte("> "))
	w.Str("s", "v")
	w.StrOmit("empty", "")
	w.Open("o")
	w.Uint("u", 7)
	w.IntOmit("zero", 0)
	w.Int("i", -3)
	w.Close()
	w.OpenArr("a")
	w.OpenElem()
	w.Bool("b", true)
	w.Close()
	w.OpenElem()
	w.BoolOmit("f", false)
	w.Close()
	w.CloseArr()
	w.StrsOmit("none", nil)
	w.StrsOmit("strs", []string{"x", "<"})
	UintsOmit(&w, "vlan", []uint16{1, 4094})
	UintsOmit(&w, "no", []uint16{})
	w.Float("f", 0.25)
	w.Raw("raw", []byte(`{"k":1}`))
	got := string(w.End())
	want := `> {"s":"v","o":{"u":7,"i":-3},"a":[{"b":true},{}],"strs":["x","\u003c"],"vlan":[1,4094],"f":0.25,"raw":{"k":1}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 1024)
	n := testing.AllocsPerRun(100, func() {
		w := Object(buf[:0])
		w.Str("s", "caf\xc3 <&> \u2028")
		w.Float("f", 1e-9)
		w.StrsOmit("a", []string{"x", "y"})
		buf = w.End()
	})
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// FuzzAppendString compares the string encoder with encoding/json byte
// for byte.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "\x00\x1f\n\t\r\b\f", "\xff\xfe", "héllo ✓", "\u2028", "<&>", "\xed\xa0\x80\xf4\x90\x80\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}

// FuzzAppendFloat compares the number format with encoding/json.
func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, 1e-7, 1e21, -123.456, 5e-324} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		want, _ := json.Marshal(v)
		if got := AppendFloat(nil, v); !bytes.Equal(got, want) {
			t.Fatalf("%v: got %s, want %s", v, got, want)
		}
	})
}

// BenchmarkStr writes a record's typical members: ids, addresses, names
// and enum words (plain ASCII), and one that needs escaping.
func BenchmarkStr(b *testing.B) {
	vals := []string{"flow", "9f86d081884c7d65", "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "192.168.1.52", "api.openai.com", "sni", "openai.com", "ai_ml", "tcp", "ShADadFf", "t13d1516h2_8daaf6152771_02713d6af862", "a<b"}
	b.ReportAllocs()
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		w := Object(buf[:0])
		for _, v := range vals {
			w.Str("name", v)
		}
		buf = w.End()
	}
	b.SetBytes(int64(len(buf)))
}

// TestNeedsEscapeEveryByte puts every byte value at every position of the
// eight-byte steps and of the tail: the word-at-a-time test must agree
// with the byte table exactly.
func TestNeedsEscapeEveryByte(t *testing.T) {
	for c := range 256 {
		want := c >= 0x80 || !safe[c]
		for n := 1; n <= 19; n++ {
			for at := range n {
				b := bytes.Repeat([]byte{'a'}, n)
				b[at] = byte(c)
				if got := needsEscape(string(b)); got != want {
					t.Fatalf("needsEscape(%q) = %v, want %v", b, got, want)
				}
			}
		}
	}
	if needsEscape("") || needsEscape("192.168.100.200:65535 ~}{|") {
		t.Error("plain ASCII needs no escaping")
	}
}
