package demux

import (
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen/scenarios"
	"github.com/tapdlp/tapdlp/reassembly"
)

func TestNameCache(t *testing.T) {
	var c nameCache
	c.init(new(atomic.Uint64))
	long := strings.Repeat("a", maxCachedName+1)
	for _, v := range []string{"", "example.com", "t13d1516h2_8daaf6152771_02713d6af862", long, "EXAMPLE.com"} {
		if got := c.str([]byte(v)); got != v {
			t.Errorf("str(%q) = %q", v, got)
		}
	}
	// The same bytes give the same string, without building it again.
	b := []byte("api.example-saas.com")
	first := c.str(b)
	if a := testing.AllocsPerRun(100, func() {
		if s := c.str(b); unsafe.StringData(s) != unsafe.StringData(first) {
			t.Fatal("a cached value was built again")
		}
	}); a != 0 {
		t.Errorf("a cached value allocates %.1f times", a)
	}
	// The caller's bytes change after the call: the string must not.
	b[0] = 'X'
	if first != "api.example-saas.com" {
		t.Fatalf("cached string aliases the input: %q", first)
	}
	// More values than slots: some replace others (counted), and every
	// answer is still the value asked for.
	for i := range 4 * nameSlots {
		v := "host" + strconv.Itoa(i) + ".example"
		if got := c.str([]byte(v)); got != v {
			t.Fatalf("str(%q) = %q", v, got)
		}
	}
	if n := c.evicted.Load(); n == 0 || n > 4*nameSlots {
		t.Errorf("evicted %d of %d values into %d slots", n, 4*nameSlots, nameSlots)
	}
	// A value too long to keep is built each time and kept nowhere.
	for _, s := range c.slots {
		if len(s) > maxCachedName {
			t.Fatalf("cached a %d-byte value", len(s))
		}
	}
	for _, m := range []string{"GET", "POST", "PROPFIND", "get"} {
		if got := c.method([]byte(m)); got != m {
			t.Errorf("method(%q) = %q", m, got)
		}
	}
}

// TestRecycledResults runs flows one after the other on one Flow and one
// Demux (recycled parsers, records and names) and checks that each Result
// equals the one a fresh Demux gives: nothing of a previous flow (its ALPN,
// its answers, its request) shows in the next.
func TestRecycledResults(t *testing.T) {
	ans := func(addrs ...string) []scenarios.DNSAnswer {
		var out []scenarios.DNSAnswer
		for _, a := range addrs {
			out = append(out, scenarios.DNSAnswer{Name: "files.example.com", Addr: netip.MustParseAddr(a), TTL: 60})
		}
		return out
	}
	seq := []conv{
		{name: "tls-alpn", port: 443, out: scenarios.ClientHello("chat.example.ai", "h2", "http/1.1", "x-odd/1")},
		{name: "tls-no-alpn", port: 443, out: scenarios.ClientHello("other.example.ai")},
		{name: "tls-no-sni", port: 443, out: scenarios.ClientHello("")},
		{name: "dns-3", port: 53, out: dnsTCP(scenarios.DNSQuery(7, "files.example.com", 1)),
			in: dnsTCP(scenarios.DNSResponse(7, "files.example.com", 1, ans("192.0.2.7", "192.0.2.8", "2001:db8::1")...))},
		{name: "dns-1", port: 53, out: dnsTCP(scenarios.DNSQuery(8, "b.example.com", 1)),
			in: dnsTCP(scenarios.DNSResponse(8, "b.example.com", 1, ans("192.0.2.9")...))},
		{name: "dns-query-only", port: 53, out: dnsTCP(scenarios.DNSQuery(9, "c.example.com", 28))},
		{name: "http-ua", port: 80, out: []byte("POST /a HTTP/1.1\r\nHost: API.example.com\r\nUser-Agent: bench/1.0\r\nContent-Length: 0\r\n\r\n"),
			in: scenarios.HTTPResponse(201, "text/plain", nil)},
		{name: "http-no-ua", port: 80, out: []byte("PROPFIND /b HTTP/1.1\r\nHost: dav.example.com\r\n\r\n")},
		{name: "tls-again", port: 443, out: scenarios.ClientHello("chat.example.ai", "h2", "http/1.1", "x-odd/1")},
	}
	run := func(d *Demux, fl *Flow, c conv) outcome {
		f := &reassembly.Flow{Proto: capture.ProtoTCP, SrcPort: 40000, DstPort: c.port,
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("192.0.2.1")}
		var s recSink
		fl.Reset(d, f, &s)
		if len(c.out) > 0 {
			fl.Data(Out, c.out, 1)
		}
		if len(c.in) > 0 {
			fl.Data(In, c.in, 2)
		}
		fl.Close()
		return s.outcome(fl.Result())
	}
	shared := New(Config{})
	var fl Flow
	for round := range 2 {
		for _, c := range seq {
			got := run(shared, &fl, c)
			var fresh Flow
			want := run(New(Config{}), &fresh, c)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round %d %s: recycled\n %+v\nfresh\n %+v", round, c.name, got, want)
			}
		}
	}
	fl.Release()
}

// TestFlowAllocs: in steady state (a worker's parsers, records and names
// warmed up by earlier flows) recognising and parsing a flow allocates
// nothing, for each protocol a short flow carries.
func TestFlowAllocs(t *testing.T) {
	for _, c := range convs() {
		switch c.name {
		case "http", "http-short", "connect", "tls", "tls-any-port", "dns-tcp", "ssh":
		default:
			continue
		}
		d := New(Config{})
		f := &reassembly.Flow{Proto: capture.ProtoTCP, SrcPort: 40000, DstPort: c.port,
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("192.0.2.1")}
		var fl Flow
		one := func() {
			fl.Reset(d, f, nopSink{})
			fl.Data(Out, c.out, 1)
			if len(c.in) > 0 {
				fl.Data(In, c.in, 2)
			}
			fl.Close()
		}
		one()
		if a := testing.AllocsPerRun(100, one); a != 0 {
			t.Errorf("%s: a flow allocates %.1f times", c.name, a)
		}
		if c.nameWant != "" && fl.Result().Name != c.nameWant {
			t.Errorf("%s: name %q, want %q", c.name, fl.Result().Name, c.nameWant)
		}
	}
}

type countAnswers struct {
	n    int
	name string
}

func (c *countAnswers) Add(_ netip.Addr, name string, addrs []netip.Addr, _ uint32, _ int64) {
	c.n += len(addrs)
	c.name = name
}

// TestLearnerAllocs: the dispatcher learning a response for a name it saw
// before allocates nothing, and still hands over the name and answers.
func TestLearnerAllocs(t *testing.T) {
	a := &countAnswers{}
	l := NewLearner(a)
	resp := scenarios.DNSResponse(7, "Files.Example.com", 1,
		scenarios.DNSAnswer{Name: "Files.Example.com", Addr: netip.MustParseAddr("192.0.2.7"), TTL: 60})
	client := netip.MustParseAddr("10.0.0.1")
	l.Packet(capture.ProtoUDP, 53, client, resp, 1)
	if a.n != 1 || !strings.EqualFold(a.name, "files.example.com") {
		t.Fatalf("learned %d answers for %q", a.n, a.name)
	}
	if n := testing.AllocsPerRun(100, func() { l.Packet(capture.ProtoUDP, 53, client, resp, 1) }); n != 0 {
		t.Errorf("learning a known name allocates %.1f times", n)
	}
}

// TestQUICFlowAllocs: a recycled QUIC flow allocates only the standard
// library's key set-up (the packet key's AES block and its GCM, the
// header-protection block: they cannot be re-keyed), nothing per packet
// (the header-protection mask and the nonce were two per packet), and
// still names the flow from the Initial's ClientHello.
func TestQUICFlowAllocs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "quic", "testdata", "rfc9001_a2_client_initial.hex"))
	if err != nil {
		t.Fatal(err)
	}
	var hexText strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); !strings.HasPrefix(line, "#") {
			hexText.WriteString(line)
		}
	}
	pkt, err := hex.DecodeString(hexText.String())
	if err != nil {
		t.Fatal(err)
	}
	d := New(Config{})
	f := &reassembly.Flow{Proto: capture.ProtoUDP, SrcPort: 40000, DstPort: 443,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("192.0.2.1")}
	var fl Flow
	one := func() {
		fl.Reset(d, f, nopSink{})
		fl.Data(Out, pkt, 1)
		fl.Close()
	}
	one()
	res := fl.Result()
	if res.App != QUIC || res.Name != "example.com" || res.NameSource != FromQUIC || res.TLS == nil || len(res.TLS.JA4) != 36 || res.TLS.JA4[0] != 'q' {
		t.Fatalf("result %+v tls %+v", res, res.TLS)
	}
	// RFC 9001's hello offers the ALPN id "alpn", not a registered one:
	// its string is made per parse (tls.alpnString), one more allocation.
	if !reflect.DeepEqual(res.TLS.ALPN, []string{"alpn"}) {
		t.Fatalf("alpn %q", res.TLS.ALPN)
	}
	if a := testing.AllocsPerRun(100, one); a > 3+1 {
		t.Errorf("a QUIC flow allocates %.1f times, want at most 3 (key set-up) + 1 (ALPN id)", a)
	}
}
