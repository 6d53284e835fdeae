package dns

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// wire builds DNS messages for tests.
type wire struct{ b []byte }

func newWire(flags, qd, an, ns, ar uint16) *wire {
	w := &wire{b: make([]byte, 12)}
	binary.BigEndian.PutUint16(w.b[2:], flags)
	binary.BigEndian.PutUint16(w.b[4:], qd)
	binary.BigEndian.PutUint16(w.b[6:], an)
	binary.BigEndian.PutUint16(w.b[8:], ns)
	binary.BigEndian.PutUint16(w.b[10:], ar)
	return w
}

func (w *wire) name(s string) *wire {
	if s != "" {
		for _, l := range strings.Split(s, ".") {
			w.b = append(w.b, byte(len(l)))
			w.b = append(w.b, l...)
		}
	}
	w.b = append(w.b, 0)
	return w
}

func (w *wire) ptr(off int) *wire   { w.b = append(w.b, 0xC0|byte(off>>8), byte(off)); return w }
func (w *wire) u16(v uint16) *wire  { w.b = binary.BigEndian.AppendUint16(w.b, v); return w }
func (w *wire) raw(p ...byte) *wire { w.b = append(w.b, p...); return w }

// rr appends type, class IN, ttl and rdata (the owner must already be written).
func (w *wire) rr(typ uint16, ttl uint32, rdata []byte) *wire {
	w.u16(typ).u16(1)
	w.b = binary.BigEndian.AppendUint32(w.b, ttl)
	w.u16(uint16(len(rdata)))
	w.b = append(w.b, rdata...)
	return w
}

func encName(s string) []byte { return (&wire{}).name(s).b }

const qOff = 12 // question name offset, the usual compression target

func TestParse(t *testing.T) {
	a4 := netip.MustParseAddr("192.0.2.7")
	a6 := netip.MustParseAddr("2001:db8::1")
	svcb := append([]byte{0, 1}, encName("")...)
	svcb = append(svcb, 0, 4, 0, 8, 198, 51, 100, 1, 198, 51, 100, 2) // ipv4hint x2
	svcb = append(svcb, 0, 6, 0, 16)
	svcb = append(svcb, a6.AsSlice()...)

	tests := []struct {
		name    string
		msg     []byte
		err     error
		qname   string
		canon   string
		answers []string // "target addr ttl"
	}{
		{
			name:    "A answer via pointer",
			msg:     newWire(0x8180, 1, 1, 0, 0).name("Example.COM").u16(1).u16(1).ptr(qOff).rr(TypeA, 60, a4.AsSlice()).b,
			qname:   "example.com",
			canon:   "example.com",
			answers: []string{"example.com 192.0.2.7 60"},
		},
		{
			name: "CNAME chain to AAAA, unrelated A ignored",
			msg: newWire(0x8180, 1, 3, 0, 0).name("www.example.com").u16(TypeAAAA).u16(1).
				ptr(qOff).rr(TypeCNAME, 300, encName("edge.cdn.net")).
				name("edge.cdn.net").rr(TypeAAAA, 20, a6.AsSlice()).
				name("evil.example").rr(TypeA, 20, a4.AsSlice()).b,
			qname:   "www.example.com",
			canon:   "edge.cdn.net",
			answers: []string{"edge.cdn.net 2001:db8::1 20"},
		},
		{
			name: "CNAME loop stops",
			msg: newWire(0x8180, 1, 2, 0, 0).name("a.test").u16(1).u16(1).
				ptr(qOff).rr(TypeCNAME, 1, encName("b.test")).
				name("b.test").rr(TypeCNAME, 1, encName("a.test")).b,
			qname: "a.test",
			canon: "b.test",
		},
		{
			name:    "HTTPS hints",
			msg:     newWire(0x8180, 1, 1, 0, 0).name("svc.test").u16(TypeHTTPS).u16(1).ptr(qOff).rr(TypeHTTPS, 5, svcb).b,
			qname:   "svc.test",
			canon:   "svc.test",
			answers: []string{"svc.test 198.51.100.1 5", "svc.test 198.51.100.2 5", "svc.test 2001:db8::1 5"},
		},
		{
			name:  "forward pointer rejected",
			msg:   newWire(0x8180, 1, 1, 0, 0).name("x.test").u16(1).u16(1).ptr(100).rr(TypeA, 1, a4.AsSlice()).b,
			err:   ErrBadPointer,
			qname: "x.test",
		},
		{
			name: "self pointer rejected",
			msg:  newWire(0x0100, 1, 0, 0, 0).ptr(qOff).u16(1).u16(1).b,
			err:  ErrBadPointer,
		},
		{
			name: "name over 255 bytes",
			msg:  newWire(0x0100, 1, 0, 0, 0).name(strings.Repeat(strings.Repeat("a", 63)+".", 4) + "b").u16(1).u16(1).b,
			err:  ErrNameTooLong,
		},
		{
			name: "truncated rdata",
			msg:  newWire(0x8180, 1, 1, 0, 0).name("t.test").u16(1).u16(1).ptr(qOff).u16(1).u16(1).raw(0, 0, 0, 1, 0, 4, 1, 2).b,
			err:  ErrTruncated, qname: "t.test",
		},
		{
			name: "extended label type",
			msg:  newWire(0x0100, 1, 0, 0, 0).raw(0x41, 0).u16(1).u16(1).b,
			err:  ErrBadLabel,
		},
		{name: "short header", msg: []byte{1, 2, 3}, err: ErrTruncated},
	}
	var m Message
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Parse(tc.msg)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got := string(m.QName()); got != tc.qname {
				t.Errorf("qname = %q, want %q", got, tc.qname)
			}
			if err != nil {
				return
			}
			if got := string(m.Canonical()); got != tc.canon {
				t.Errorf("canonical = %q, want %q", got, tc.canon)
			}
			var got []string
			for _, a := range m.AppendAnswers(nil) {
				if a.Name != tc.qname {
					t.Errorf("answer name %q, want question %q", a.Name, tc.qname)
				}
				got = append(got, a.Target+" "+a.Addr.String()+" "+strconv.FormatUint(uint64(a.TTL), 10))
			}
			if strings.Join(got, ",") != strings.Join(tc.answers, ",") {
				t.Errorf("answers = %q, want %q", got, tc.answers)
			}
		})
	}
}

func TestMaxRRsBound(t *testing.T) {
	w := newWire(0x8180, 1, 200, 0, 0).name("many.test").u16(1).u16(1)
	for i := 0; i < 200; i++ {
		w.ptr(qOff).rr(TypeA, 1, []byte{10, 0, byte(i >> 8), byte(i)})
	}
	var m Message
	if err := m.Parse(w.b); err != nil {
		t.Fatal(err)
	}
	if m.NumAddrs() != MaxRRs || m.DroppedRRs != 200-MaxRRs {
		t.Errorf("kept %d dropped %d, want %d and %d", m.NumAddrs(), m.DroppedRRs, MaxRRs, 200-MaxRRs)
	}
}

func TestLooksLikeDNS(t *testing.T) {
	query := newWire(0x0100, 1, 0, 0, 0).name("example.com").u16(1).u16(1).b
	resp := newWire(0x8180, 1, 1, 0, 0).name("example.com").u16(1).u16(1).ptr(qOff).rr(TypeA, 1, []byte{1, 2, 3, 4}).b
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"query", query, true},
		{"response", resp, true},
		{"small padding", append(append([]byte(nil), resp...), 0, 0, 0, 0), true},
		{"trailing garbage", append(append([]byte(nil), resp...), make([]byte, 40)...), false},
		{"two questions", newWire(0x0100, 2, 0, 0, 0).name("a.b").u16(1).u16(1).name("c.d").u16(1).u16(1).b, false},
		{"query with answers", newWire(0x0100, 1, 1, 0, 0).name("a.b").u16(1).u16(1).ptr(qOff).rr(1, 1, []byte{1, 2, 3, 4}).b, false},
		{"opcode 3", newWire(0x1800, 1, 0, 0, 0).name("a.b").u16(1).u16(1).b, false},
		{"bad class", newWire(0x0100, 1, 0, 0, 0).name("a.b").u16(1).u16(77).b, false},
		{"control chars in name", newWire(0x0100, 1, 0, 0, 0).name("a\x01.b").u16(1).u16(1).b, false},
		{"truncated answer", resp[:len(resp)-2], false},
		{"zeros", make([]byte, 64), false},
		{"tls record", []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdefghijklmnopqrstuvwxyz"), false},
		{"http", []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), false},
	}
	for _, tc := range tests {
		if got := LooksLikeDNS(tc.b); got != tc.want {
			t.Errorf("%s: LooksLikeDNS = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestLooksLikeDNSFalsePositives feeds pseudo-random datagrams and bounds the
// false positive rate.
func TestLooksLikeDNSFalsePositives(t *testing.T) {
	const n = 200000
	x := uint64(0x9e3779b97f4a7c15)
	buf := make([]byte, 512)
	hits := 0
	for i := 0; i < n; i++ {
		size := 17 + i%400
		for j := 0; j < size; j++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			buf[j] = byte(x)
		}
		if LooksLikeDNS(buf[:size]) {
			hits++
		}
	}
	if hits > n/100000 {
		t.Errorf("%d of %d random datagrams look like DNS", hits, n)
	}
}

func TestTCPFramerChunking(t *testing.T) {
	m1 := newWire(0x0100, 1, 0, 0, 0).name("one.test").u16(1).u16(1).b
	m2 := newWire(0x8180, 1, 1, 0, 0).name("two.test").u16(1).u16(1).ptr(qOff).rr(TypeA, 1, []byte{1, 2, 3, 4}).b
	var stream []byte
	for _, m := range [][]byte{m1, m2, m1} {
		stream = binary.BigEndian.AppendUint16(stream, uint16(len(m)))
		stream = append(stream, m...)
	}
	want := []string{"one.test", "two.test", "one.test"}
	for size := 1; size <= len(stream); size++ {
		var f TCPFramer
		var got []string
		var m Message
		for off := 0; off < len(stream); off += size {
			f.Feed(stream[off:min(off+size, len(stream))])
			for msg, ok := f.Next(); ok; msg, ok = f.Next() {
				if err := m.Parse(msg); err != nil {
					t.Fatalf("chunk %d: %v", size, err)
				}
				got = append(got, string(m.QName()))
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("chunk %d: got %q", size, got)
		}
	}
}

func TestTCPFramerOversized(t *testing.T) {
	f := TCPFramer{MaxMessage: 16}
	big := make([]byte, 2+100)
	binary.BigEndian.PutUint16(big, 100)
	small := []byte{0, 3, 'a', 'b', 'c'}
	f.Feed(append(append(big[:50:50], big[50:]...), small...))
	msg, ok := f.Next()
	if !ok || string(msg) != "abc" || f.Dropped != 1 {
		t.Fatalf("got %q %v dropped=%d", msg, ok, f.Dropped)
	}
	if cap(f.buf) > 0 {
		t.Errorf("oversized message was buffered (cap %d)", cap(f.buf))
	}
}

func TestParseAllocs(t *testing.T) {
	msg := newWire(0x8180, 1, 2, 0, 0).name("www.example.com").u16(1).u16(1).
		ptr(qOff).rr(TypeCNAME, 300, encName("edge.cdn.net")).
		name("edge.cdn.net").rr(TypeA, 20, []byte{1, 2, 3, 4}).b
	m := new(Message)
	allocs := testing.AllocsPerRun(100, func() {
		if err := m.Parse(msg); err != nil {
			t.Fatal(err)
		}
		_ = LooksLikeDNS(msg)
	})
	if allocs != 0 {
		t.Errorf("Parse allocates %.1f times per message", allocs)
	}
	var f TCPFramer
	framed := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
	framed = append(framed, msg...)
	allocs = testing.AllocsPerRun(100, func() {
		f.Feed(framed)
		for _, ok := f.Next(); ok; _, ok = f.Next() {
		}
	})
	if allocs != 0 {
		t.Errorf("TCPFramer allocates %.1f times per message", allocs)
	}
}
