package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// appender is a record type with a hand-written encoder.
type appender interface{ AppendJSON([]byte) []byte }

// Strings that exercise every escaping rule encoding/json has.
var trickyStrings = []string{
	"plain", `quote" back\slash`, "<script>&amp;</script>", "\x00\x01\x1f\x7f",
	"\b\f\n\r\t", "\xff\xfe", "caf\xc3", "\xed\xa0\x80", "é✓😀", "\u2028 and \u2029",
	"1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "a/b?c=d", "\u00a0\ufeff", "\U0010ffff",
}

// filler sets fields of a value by reflection. In "all" mode every field
// gets a non-zero value (pointers allocated, slices of several elements);
// otherwise each field is set with probability 1/2 and may get an empty
// or zero value, so omitempty, nil versus empty slices and zero-valued
// pointees are all exercised.
type filler struct {
	t   *testing.T
	rnd *rand.Rand
	all bool
	n   int // fields set, for the test's own check
}

var timeType = reflect.TypeFor[Time]()

func (f *filler) str() string {
	s := trickyStrings[f.rnd.IntN(len(trickyStrings))]
	if f.rnd.IntN(3) == 0 {
		s += trickyStrings[f.rnd.IntN(len(trickyStrings))]
	}
	return s
}

func (f *filler) fill(v reflect.Value, path string) {
	if v.Type() == timeType {
		ts := []time.Time{
			time.Unix(0, f.rnd.Int64N(4e18)),
			time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(10000, 3, 4, 5, 6, 7, 8000, time.UTC),
			time.Date(2026, 12, 3, 23, 59, 59, 999999999, time.FixedZone("x", -7200)),
		}
		v.Set(reflect.ValueOf(Time{ts[f.rnd.IntN(len(ts))]}))
		f.n++
		return
	}
	set := f.all || f.rnd.IntN(2) == 0
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if !sf.IsExported() {
				f.t.Fatalf("%s.%s: unexported field; the encoder test cannot fill it", path, sf.Name)
			}
			f.fill(v.Field(i), path+"."+sf.Name)
		}
		return
	case reflect.Pointer:
		if !set {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		if f.all || f.rnd.IntN(4) != 0 {
			f.fill(v.Elem(), path)
		}
	case reflect.Slice:
		if !set {
			return
		}
		n := 1 + f.rnd.IntN(3)
		if !f.all && f.rnd.IntN(4) == 0 {
			n = 0 // empty, not nil
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			f.fill(v.Index(i), path+"[]")
		}
	case reflect.Map:
		if !set {
			return
		}
		if v.Type().Key().Kind() != reflect.String {
			f.t.Fatalf("%s: map key %s not supported by the test", path, v.Type().Key())
		}
		v.Set(reflect.MakeMap(v.Type()))
		for range 1 + f.rnd.IntN(3) {
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString(f.str())
			e := reflect.New(v.Type().Elem()).Elem()
			f.fill(e, path+"{}")
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		if set {
			v.SetString(f.str())
		}
	case reflect.Bool:
		v.SetBool(set)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if set {
			vals := []int64{1, -1, 42, math.MaxInt32, math.MinInt64 >> (64 - v.Type().Bits()), math.MaxInt64 >> (64 - v.Type().Bits())}
			v.SetInt(vals[f.rnd.IntN(len(vals))])
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if set {
			vals := []uint64{1, 7, 443, math.MaxUint64 >> (64 - v.Type().Bits())}
			v.SetUint(vals[f.rnd.IntN(len(vals))])
		}
	case reflect.Float32, reflect.Float64:
		if set {
			vals := []float64{0.5, 1e-7, 1.234567e-9, 1e21, 123456.789, -2.5e-300, math.MaxFloat64, 3, math.Copysign(0, -1)}
			v.SetFloat(vals[f.rnd.IntN(len(vals))])
		}
	default:
		f.t.Fatalf("%s: kind %s not supported by the test (teach the filler and the encoder)", path, v.Kind())
	}
	f.n++
}

func compareJSON(t *testing.T, v appender) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte("prefix ")
	got := v.AppendJSON(append([]byte(nil), prefix...))
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("AppendJSON overwrote what dst held")
	}
	if got = got[len(prefix):]; !bytes.Equal(got, want) {
		t.Fatalf("AppendJSON differs from json.Marshal for %T\n got %s\nwant %s", v, got, want)
	}
}

// TestAppendJSONMatchesMarshal fills every field of every record type
// (all set; then random subsets) and compares the hand-written encoder
// with encoding/json. A field added to a type without its line in json.go
// makes the first case fail.
func TestAppendJSONMatchesMarshal(t *testing.T) {
	types := []func() appender{
		func() appender { return new(Flow) },
		func() appender { return new(Alert) },
		func() appender { return new(Volume) },
		func() appender { return new(Sensor) },
	}
	for _, mk := range types {
		t.Run(reflect.TypeOf(mk()).Elem().Name(), func(t *testing.T) {
			compareJSON(t, mk()) // all zero
			for seed := range uint64(2000) {
				v := mk()
				f := &filler{t: t, rnd: rand.New(rand.NewPCG(seed, 1)), all: seed < 50}
				f.fill(reflect.ValueOf(v).Elem(), reflect.TypeOf(v).Elem().Name())
				if f.n == 0 {
					t.Fatal("filler set nothing")
				}
				compareJSON(t, v)
			}
		})
	}
}

// TestFillerSetsEveryField guards the oracle test: in "all" mode every
// member of every record type (and of the nested types, checked through
// Flow's) appears in json.Marshal's output, so every field is compared.
func TestFillerSetsEveryField(t *testing.T) {
	var walk func(path string, v any, typ reflect.Type)
	walk = func(path string, v any, typ reflect.Type) {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: %T is not an object", path, v)
		}
		if len(m) != typ.NumField() {
			t.Errorf("%s: %d members for %d fields: the filler leaves some out", path, len(m), typ.NumField())
		}
		for i := range typ.NumField() {
			sf := typ.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			ft := sf.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() != reflect.Struct || ft == timeType {
				continue
			}
			child := m[name]
			if a, ok := child.([]any); ok && len(a) > 0 {
				child = a[0]
			}
			walk(path+"."+name, child, ft)
		}
	}
	for _, v := range []appender{new(Flow), new(Alert), new(Volume), new(Sensor)} {
		(&filler{t: t, rnd: rand.New(rand.NewPCG(1, 1)), all: true}).fill(reflect.ValueOf(v).Elem(), "")
		b, _ := json.Marshal(v)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		typ := reflect.TypeOf(v).Elem()
		walk(typ.Name(), m, typ)
	}
}

// TestAppendJSONGoldenRecords decodes every committed golden record (real
// captures) and re-encodes it both ways.
func TestAppendJSONGoldenRecords(t *testing.T) {
	files, _ := filepath.Glob("../testdata/golden/*.jsonl")
	if len(files) == 0 {
		t.Fatal("no golden records")
	}
	n := 0
	for _, name := range files {
		fh, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 {
				continue
			}
			var v appender
			switch {
			case bytes.HasPrefix(line, []byte(`{"type":"flow"`)):
				v = new(Flow)
			case bytes.HasPrefix(line, []byte(`{"type":"alert"`)):
				v = new(Alert)
			case bytes.HasPrefix(line, []byte(`{"type":"volume"`)):
				v = new(Volume)
			default:
				t.Fatalf("%s: unknown record %.40s", name, line)
			}
			if err := json.Unmarshal(line, v); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			// Not compared with line itself: a decoded \ufffd is a real
			// U+FFFD, which both encoders write unescaped.
			compareJSON(t, v)
			n++
		}
		fh.Close()
	}
	t.Logf("%d golden records", n)
}

// FuzzAppendJSON compares the encoders on fuzzed strings and numbers in
// every kind of member (plain, omitempty, arrays, nested objects).
func FuzzAppendJSON(f *testing.F) {
	for i, s := range trickyStrings {
		f.Add(s, float64(i)*1e-7, uint64(i)<<60, int64(-i), int64(i)*1e17)
	}
	f.Add("", math.Copysign(0, -1), uint64(0), int64(0), int64(0))
	f.Add("x", 1e21, uint64(math.MaxUint64), int64(math.MinInt64), int64(-1))
	f.Fuzz(func(t *testing.T, s string, fl float64, u uint64, i int64, ns int64) {
		if math.IsNaN(fl) || math.IsInf(fl, 0) {
			return // encoding/json refuses them; AppendJSON writes null
		}
		t8 := uint8(u)
		flow := &Flow{
			Type: s, TS: TimeFromNanos(ns), FlowID: s, Duration: fl, State: s, ConnState: s,
			Src: Src{IP: s, Port: uint16(u), Service: s}, Dst: Dst{IP: s, Name: s, IOC: &IOC{List: s}},
			Bytes: Counts{Out: u, In: u >> 7}, MissedBytes: u, VLAN: []uint16{uint16(u), uint16(i)},
			Reject: &Reject{By: s, Type: &t8, From: s}, Tunnel: &Tunnel{Type: s, ID: uint32(u)},
			HTTP: &HTTP{Host: s, Status: int(i)}, DNS: &DNS{Answers: []string{s, s}},
			AI:        &AI{Provider: s, PromptBytes: int(i), Stream: u&1 == 1},
			Sensitive: []Finding{{Type: s, Count: int(i), Evidence: []string{s}}, {In: s}},
			Tags:      []string{s}, Sensor: &Sensor{Host: s},
		}
		compareJSON(t, flow)
		compareJSON(t, &Alert{Rule: s, Count: int(i), TS: TimeFromNanos(ns)})
		compareJSON(t, &Volume{Key: s, Baseline: fl, BytesOut: u})
	})
}

// TestAppendJSONNonFinite: encoding/json fails on NaN and ±Inf; the
// encoder writes null so the record is still valid JSON and not lost.
func TestAppendJSONNonFinite(t *testing.T) {
	for _, fl := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		b := (&Volume{Type: "volume", Baseline: fl}).AppendJSON(nil)
		if !json.Valid(b) || !strings.Contains(string(b), `"baseline":null`) {
			t.Errorf("%v: %s", fl, b)
		}
	}
}

// benchFlow is a typical TLS flow record with a finding.
func benchFlow() *Flow {
	return &Flow{
		Type: "flow", TS: TimeFromNanos(1_764_000_010_123_456_000), FlowID: "9f86d081884c7d65",
		CommunityID: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", Start: TimeFromNanos(1_764_000_000_000_000_000),
		End: TimeFromNanos(1_764_000_010_000_000_000), Duration: 10.123456, State: StateClosed, ConnState: "SF",
		Proto: "tcp", Src: Src{IP: "192.168.1.52", Port: 54321},
		Dst: Dst{IP: "104.18.32.47", Port: 443, Name: "api.openai.com", NameSource: "sni", Domain: "openai.com",
			Category: "ai_ml", Vendor: "OpenAI", Service: "OpenAI API", FirstSeen: true, Resolution: "matched"},
		Bytes: Counts{Out: 18234, In: 95310}, Packets: Counts{Out: 41, In: 77}, History: "ShADadFf",
		App: "tls", TLS: &TLS{SNI: "api.openai.com", Version: "1.3", ALPN: []string{"h2", "http/1.1"}, JA4: "t13d1516h2_8daaf6152771_02713d6af862"},
		Sensitive: []Finding{{Type: "credit_card", Class: "PCI", Count: 2, Direction: "out", Confidence: "high",
			Evidence: []string{"************1111"}}},
		Inspected: &Inspected{Out: 18000, In: 0, Encrypted: true},
		Tags:      []string{"ai_ml"}, Alerts: []string{"pci-to-ai"},
	}
}

// synFlow is the record of a SYN that got no answer.
func synFlow() *Flow {
	return &Flow{Type: "flow", TS: TimeFromNanos(1_764_000_010_123_456_000), FlowID: "9f86d081884c7d65",
		CommunityID: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", Start: TimeFromNanos(1_764_000_000_000_000_000),
		End: TimeFromNanos(1_764_000_000_000_000_000), State: StateTimeout, ConnState: "S0", Proto: "tcp",
		Src: Src{IP: "10.1.2.3", Port: 40000}, Dst: Dst{IP: "10.9.8.7", Port: 80, Category: "internal"},
		Bytes: Counts{Out: 60}, Packets: Counts{Out: 1}, History: "S"}
}

func TestAppendJSONNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	for _, v := range []appender{benchFlow(), synFlow(), &Alert{Sensitive: benchFlow().Sensitive, Sensor: &Sensor{Name: "s"}}, &Volume{Baseline: 1e-9}} {
		if n := testing.AllocsPerRun(100, func() { buf = v.AppendJSON(buf[:0]) }); n != 0 {
			t.Errorf("%T: %v allocations per record", v, n)
		}
	}
}

func BenchmarkAppendFlow(b *testing.B) {
	for _, c := range []struct {
		name string
		f    *Flow
	}{{"tls", benchFlow()}, {"syn", synFlow()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				buf = c.f.AppendJSON(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkMarshalFlow(b *testing.B) {
	for _, c := range []struct {
		name string
		f    *Flow
	}{{"tls", benchFlow()}, {"syn", synFlow()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				var err error
				if buf, err = json.Marshal(c.f); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}
