package demux

import (
	"net/netip"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/reassembly"
)

// A flow holds its parser only while the protocol needs it: a TLS flow
// that is not decrypted gives its parser back once the ClientHello is
// read, keeping what it learned; the flow's end gives back the others; the
// next flows of the worker reuse them instead of allocating.
func TestParsersAreRecycled(t *testing.T) {
	byName := map[string]conv{}
	for _, c := range convs() {
		byName[c.name] = c
	}
	for _, tc := range []struct {
		conv    string
		retired bool // no parser held once the conversation was fed
		parked  bool // an idle HTTP connection: only its httpPark held
	}{
		{"tls", true, false},
		{"tls-any-port", true, false},
		{"http", false, true},
		{"dns-tcp", true, false},
	} {
		t.Run(tc.conv, func(t *testing.T) {
			c := byName[tc.conv]
			d := New(Config{})
			f := &reassembly.Flow{Proto: capture.ProtoTCP, SrcPort: 40000, DstPort: c.port,
				Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("192.0.2.1")}
			var fl Flow
			var first [6]any
			for round := range 3 {
				fl.Reset(d, f, nopSink{})
				fl.Data(Out, c.out, 1)
				if len(c.in) > 0 {
					fl.Data(In, c.in, 2)
				}
				if fl.Result().App != c.app {
					t.Fatalf("app %v, want %v", fl.Result().App, c.app)
				}
				if c.nameWant != "" && fl.Result().Name != c.nameWant {
					t.Errorf("name %q, want %q (a retired parser must leave its facts)", fl.Result().Name, c.nameWant)
				}
				held := fl.tls != nil || fl.http != nil || fl.dns != nil || fl.quic != nil
				if want := !tc.retired && !tc.parked; held != want {
					t.Errorf("round %d: parser held %v, want %v", round, held, want)
				}
				if parked := fl.park != nil && fl.cur == fl.park; parked != tc.parked {
					t.Errorf("round %d: parked %v, want %v", round, parked, tc.parked)
				}
				if tc.retired {
					if _, ok := fl.cur.(finished); !ok {
						t.Errorf("current parser %T, want finished", fl.cur)
					}
					if fl.Data(Out, []byte{0x17, 3, 3, 0, 1, 0}, 3) {
						t.Error("a retired flow asked for more")
					}
				}
				fl.Close()
				ptrs := [6]any{fl.tls, fl.http, fl.dns, fl.quic, fl.h2, fl.park}
				fl.Release()
				if fl.tls != nil || fl.http != nil || fl.dns != nil || fl.cur != nil {
					t.Fatal("Release kept a parser")
				}
				if round == 0 {
					first = ptrs
				} else if ptrs != first {
					t.Errorf("round %d: parsers %v, want the recycled %v", round, ptrs, first)
				}
			}
			p := &d.pool
			if n := len(p.tls.free) + len(p.http.free) + len(p.dns.free); n > 1 {
				t.Errorf("%d parsers pooled after one flow at a time, want at most 1", n)
			}
		})
	}
}

// The pool is bounded: a burst of flows ending together leaves at most
// maxFreeParsers of a kind behind.
func TestParserPoolBounded(t *testing.T) {
	var l freeList[tlsParser]
	ps := make([]*tlsParser, maxFreeParsers+10)
	for i := range ps {
		ps[i] = l.get()
	}
	for _, p := range ps {
		l.put(p)
	}
	if len(l.free) != maxFreeParsers {
		t.Errorf("%d pooled, want %d", len(l.free), maxFreeParsers)
	}
	l.put(nil)
	if len(l.free) != maxFreeParsers || l.get() == nil {
		t.Error("nil pooled or empty get")
	}
}

// An idle HTTP/1 connection parks its parser between messages and takes
// one again for the next bytes, keeping the pairing of requests still
// awaiting their response: the answer to a HEAD has no body even though it
// declares a length, so the response after it is read as a response.
func TestHTTPParkKeepsPairing(t *testing.T) {
	d := New(Config{})
	f := &reassembly.Flow{Proto: capture.ProtoTCP, SrcPort: 40000, DstPort: 80,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("192.0.2.1")}
	var fl Flow
	var sink recSink
	fl.Reset(d, f, &sink)
	steps := []struct {
		dir    Dir
		b      string
		parked bool
	}{
		{Out, "HEAD /a HTTP/1.1\r\nHost: api.example.com\r\n\r\n", true},
		{Out, "GET /b HTTP/1.1\r\nHost: api.example.com\r\n\r\n", true},
		{In, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true}, // HEAD: no body follows
		{In, "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!", true},
		{Out, "POST /c HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 4\r\n\r\nab", false}, // body in progress
		{Out, "cd", true},
	}
	for i, st := range steps {
		if !fl.Data(st.dir, []byte(st.b), int64(i)) {
			t.Fatalf("step %d: the flow stopped", i)
		}
		if parked := fl.park != nil; parked != st.parked {
			t.Errorf("step %d: parked %v, want %v", i, parked, st.parked)
		}
	}
	fl.Close()
	r := fl.Result()
	if r.HTTP == nil || r.HTTP.Requests != 3 || r.HTTP.Status != 200 {
		t.Fatalf("HTTP result %+v, want 3 requests, first status 200", r.HTTP)
	}
	if sink.messages != [2]int{3, 2} {
		t.Errorf("messages %v, want 3 requests and 2 responses", sink.messages)
	}
	if got := sink.body[In].String(); got != "nope!" {
		t.Errorf("response bodies %q, want only the 404's", got)
	}
	if got := sink.body[Out].String(); got != "abcd" {
		t.Errorf("request bodies %q, want abcd", got)
	}
	if sink.raw[In].Len() > 0 || sink.raw[Out].Len() > 0 {
		t.Errorf("bytes fell back to raw scanning: %q %q", sink.raw[Out].String(), sink.raw[In].String())
	}
}
