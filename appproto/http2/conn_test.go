package http2

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// wire builds one direction with x/net's Framer and HPACK encoder.
type wire struct {
	buf bytes.Buffer
	fr  *http2.Framer
	hb  bytes.Buffer
	enc *hpack.Encoder
}

func newWire(client bool) *wire {
	w := &wire{}
	if client {
		w.buf.WriteString(Preface)
	}
	w.fr = http2.NewFramer(&w.buf, nil)
	w.fr.AllowIllegalWrites = true
	w.enc = hpack.NewEncoder(&w.hb)
	return w
}

func (w *wire) block(fields ...string) []byte {
	w.hb.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		w.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(w.hb.Bytes())
}

func (w *wire) headers(id uint32, end bool, fields ...string) {
	w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: w.block(fields...), EndHeaders: true, EndStream: end})
}

func req(path string) []string {
	return []string{":method", "POST", ":scheme", "https", ":authority", "api.example.com", ":path", path}
}

func run(t *testing.T, cfg Config, cli, srv []byte) (*recorder, *Conn) {
	r := newRecorder(t)
	c := NewConn(cfg, r)
	c.Feed(Request, cli)
	c.Feed(Response, srv)
	c.Close()
	return r, c
}

func TestFrames(t *testing.T) {
	t.Run("padding priority continuation", func(t *testing.T) {
		cw, sw := newWire(true), newWire(false)
		b := cw.block(req("/padded")...)
		cw.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:5], PadLength: 7,
			Priority: http2.PriorityParam{StreamDep: 0, Weight: 10}})
		cw.fr.WriteContinuation(1, false, b[5:9])
		cw.fr.WriteContinuation(1, true, b[9:])
		cw.fr.WriteDataPadded(1, false, []byte("card "), []byte{0, 0, 0})
		cw.fr.WriteDataPadded(1, true, []byte(testCard), make([]byte, 200))
		sw.headers(1, false, ":status", "200", "content-type", "Text/Plain; charset=x")
		sw.fr.WriteData(1, true, nil)
		r, _ := run(t, Config{}, cw.buf.Bytes(), sw.buf.Bytes())
		if s := r.summary(); s != `1 request POST api.example.com /padded 0  "card 4111111111111111" flags=0`+"\n"+`1 response POST api.example.com /padded 200 text/plain "" flags=0` {
			t.Errorf("%s", s)
		}
	})
	t.Run("rst push 1xx extended connect", func(t *testing.T) {
		cw, sw := newWire(true), newWire(false)
		cw.headers(1, false, req("/cancelled")...)
		cw.fr.WriteData(1, false, []byte("partial"))
		cw.fr.WriteRSTStream(1, http2.ErrCodeCancel)
		cw.headers(3, true, ":method", "GET", ":scheme", "https", ":authority", "api.example.com", ":path", "/page")
		cw.headers(5, false, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":authority", "chat.example.com", ":path", "/ws", "sec-websocket-extensions", "permessage-deflate")
		cw.fr.WriteData(5, false, []byte{0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2})
		sw.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 3, PromiseID: 2, BlockFragment: sw.block(":method", "GET", ":scheme", "https", ":authority", "api.example.com", ":path", "/pushed.css"), EndHeaders: true})
		sw.headers(3, false, ":status", "103", "link", "</pushed.css>")
		sw.headers(3, true, ":status", "204")
		sw.headers(2, false, ":status", "200", "content-type", "text/css")
		sw.fr.WriteData(2, true, []byte("body{}"))
		sw.headers(5, false, ":status", "200")
		sw.fr.WriteData(5, false, []byte{0x81, 0x02, 'o', 'k'})
		sw.fr.WriteGoAway(5, http2.ErrCodeNo, []byte("debug data"))
		var st Stats
		r, c := run(t, Config{Stats: &st}, cw.buf.Bytes(), sw.buf.Bytes())
		want := []string{
			`1 request POST api.example.com /cancelled 0  "partial" flags=40`,
			`2 request GET api.example.com /pushed.css 0  "" flags=0`,
			`2 response GET api.example.com /pushed.css 200 text/css "body{}" flags=0`,
			`3 request GET api.example.com /page 0  "" flags=0`,
			`3 response GET api.example.com /page 103  "" flags=0`,
			`3 response GET api.example.com /page 204  "" flags=0`,
			`5 request CONNECT chat.example.com /ws 0  "\x81\x82\x01\x02\x03\x04ik" flags=20`,
			`5 response CONNECT chat.example.com /ws 200  "\x81\x02ok" flags=20`,
		}
		if s := r.summary(); s != strings.Join(want, "\n") {
			t.Errorf("got\n%s\nwant\n%s", s, strings.Join(want, "\n"))
		}
		if c.Streams() != 4 || !c.GoAway() || st.Resets.Load() != 1 || st.Pushes.Load() != 1 || st.GoAways.Load() != 1 {
			t.Errorf("streams %d goaway %v resets %d pushes %d", c.Streams(), c.GoAway(), st.Resets.Load(), st.Pushes.Load())
		}
		for _, m := range r.msgs {
			if m.id == 5 && m.protocol != "websocket" {
				t.Errorf("stream 5 %v protocol %q", m.side, m.protocol)
			}
			if m.id == 2 && m.side == Request && !m.pushed {
				t.Error("promised request not marked Pushed")
			}
		}
	})
	t.Run("eviction", func(t *testing.T) {
		cw := newWire(true)
		for id := uint32(1); id <= 7; id += 2 {
			cw.headers(id, false, req("/s"+string(rune('0'+id)))...)
		}
		cw.fr.WriteData(1, true, []byte("late")) // stream 1 was evicted
		var st Stats
		r, c := run(t, Config{MaxStreams: 2, Stats: &st}, cw.buf.Bytes(), nil)
		if c.Streams() != 4 || st.StreamsEvicted.Load() != 2 || st.StreamsUnknown.Load() != 1 {
			t.Errorf("streams %d evicted %d unknown %d", c.Streams(), st.StreamsEvicted.Load(), st.StreamsUnknown.Load())
		}
		var evicted int
		for _, m := range r.msgs {
			if m.flags.Has(FlagEvicted) {
				evicted++
			}
		}
		if evicted != 2 {
			t.Errorf("%d evicted messages:\n%s", evicted, r.summary())
		}
	})
	t.Run("stops", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			cli  []byte
			want string
		}{
			{"http1", []byte("GET / HTTP/1.1\r\n\r\n"), "request:not_http2"},
			{"data on stream 0", append([]byte(Preface), 0, 0, 1, 0, 0, 0, 0, 0, 0, 'x'), "request:bad_frame"},
			{"pad past frame", append([]byte(Preface), 0, 0, 2, 0, 0x8, 0, 0, 0, 1, 9, 'x'), "request:bad_frame"},
			{"settings not 6n", append([]byte(Preface), 0, 0, 5, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5), "request:bad_frame"},
			{"continuation alone", append([]byte(Preface), 0, 0, 1, 9, 4, 0, 0, 0, 1, 0x82), "request:bad_frame"},
			{"bad hpack index", append([]byte(Preface), 0, 0, 1, 1, 4, 0, 0, 0, 1, 0xff), "request:hpack"},
		} {
			r, _ := run(t, Config{}, tc.cli, nil)
			if strings.Join(r.stops, ",") != tc.want {
				t.Errorf("%s: stops %v, want %s", tc.name, r.stops, tc.want)
			}
		}
	})
	t.Run("gap", func(t *testing.T) {
		cw := newWire(true)
		cw.headers(1, false, req("/gap")...)
		before := cw.buf.Len()
		cw.fr.WriteData(1, true, []byte("aaaaBBBBcccc"))
		b := cw.buf.Bytes()
		r := newRecorder(t)
		c := NewConn(Config{}, r)
		c.Feed(Request, b[:before+9+4])
		c.Gap(Request, 4)
		c.Feed(Request, b[before+9+8:])
		c.Gap(Request, 3) // between frames: fatal
		c.Close()
		if s := r.summary(); s != `1 request POST api.example.com /gap 0  "aaaacccc" flags=10`+"\nrequest:gap" {
			t.Errorf("%s", s)
		}
	})
}

// TestHPACKBomb: one large header added to the dynamic table, then
// referenced hundreds of times in one block (a few bytes each on the wire,
// megabytes decoded). The list is cut at the bound and counted; HPACK stays
// in step so the next request is read whole.
func TestHPACKBomb(t *testing.T) {
	cw := newWire(true)
	cw.enc.SetMaxDynamicTableSizeLimit(8192)
	big := strings.Repeat("A", 4000)
	fields := req("/bomb")
	for range 500 {
		fields = append(fields, "x-bomb", big)
	}
	cw.headers(1, true, fields...)
	cw.headers(3, true, req("/after")...)
	if cw.buf.Len() > 10000 {
		t.Fatalf("bomb is %d bytes on the wire: the encoder did not index it", cw.buf.Len())
	}
	var st Stats
	r, _ := run(t, Config{MaxHeaderList: 16 << 10, Stats: &st}, cw.buf.Bytes(), nil)
	if len(r.stops) != 0 || len(r.msgs) != 2 || st.HeaderListsCut.Load() != 1 {
		t.Fatalf("stops %v msgs %d cut %d", r.stops, len(r.msgs), st.HeaderListsCut.Load())
	}
	if m := r.msgs[0]; !m.flags.Has(FlagHeadersCut) || len(m.headers) > 8 || m.path != "/bomb" {
		t.Errorf("bomb message: %d headers flags %x", len(m.headers), m.flags)
	}
	if m := r.msgs[1]; m.path != "/after" || m.flags != 0 {
		t.Errorf("next message: %+v", m)
	}
}

// TestTableCap: a peer advertising a huge table lets the encoder use at
// most our cap; an encoder that goes past it is a HPACK stop, not memory.
func TestTableCap(t *testing.T) {
	sw := newWire(false)
	sw.fr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 1 << 30})
	cw := newWire(true)
	cw.enc.SetMaxDynamicTableSizeLimit(1 << 20)
	cw.enc.SetMaxDynamicTableSize(1 << 20)
	cw.headers(1, true, req("/t")...)
	var st Stats
	r := newRecorder(t)
	c := NewConn(Config{MaxTableSize: 8192, Stats: &st}, r)
	c.Feed(Response, sw.buf.Bytes())
	c.Feed(Request, cw.buf.Bytes())
	c.Close()
	if st.TableCapped.Load() != 1 || strings.Join(r.stops, ",") != "request:hpack" {
		t.Errorf("capped %d stops %v", st.TableCapped.Load(), r.stops)
	}
	// Within the cap it decodes.
	cw = newWire(true)
	cw.enc.SetMaxDynamicTableSizeLimit(8192)
	cw.enc.SetMaxDynamicTableSize(8192)
	cw.headers(1, true, req("/t")...)
	r = newRecorder(t)
	c = NewConn(Config{MaxTableSize: 8192}, r)
	c.Feed(Response, sw.buf.Bytes())
	c.Feed(Request, cw.buf.Bytes())
	c.Close()
	if len(r.stops) != 0 || len(r.msgs) != 1 {
		t.Errorf("within cap: stops %v msgs %d", r.stops, len(r.msgs))
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]Sniffed{"": SniffNeedMore, "PRI * HT": SniffNeedMore, Preface + "x": SniffPreface, "GET / HTTP/1.1": SniffNo, "PRX": SniffNo} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %d, want %d", in, got, want)
		}
	}
}

// TestDataAllocs: DATA frames of an identity body cost no allocation.
func TestDataAllocs(t *testing.T) {
	cw := newWire(true)
	cw.headers(1, false, req("/stream")...)
	c := NewConn(Config{}, &nopHandler{})
	c.Feed(Request, cw.buf.Bytes())
	cw.buf.Reset()
	cw.fr.WriteData(1, false, bytes.Repeat([]byte("x"), 16000))
	frame := bytes.Clone(cw.buf.Bytes())
	allocs := testing.AllocsPerRun(200, func() {
		for b := frame; len(b) > 0; {
			n := min(len(b), 1448)
			c.Feed(Request, b[:n])
			b = b[n:]
		}
	})
	if allocs != 0 || c.Stopped(Request) {
		t.Errorf("%.1f allocations per DATA frame", allocs)
	}
}

type nopHandler struct{ n int64 }

func (h *nopHandler) Start(*Message)                  {}
func (h *nopHandler) Header(*Message, []byte, []byte) {}
func (h *nopHandler) Body(m *Message, b []byte)       { h.n += int64(len(b)) }
func (h *nopHandler) End(*Message)                    {}
func (h *nopHandler) Stop(Side, Reason)               {}

// TestHugeField: one field larger than the list bound is dropped; the
// fields after it are kept.
func TestHugeField(t *testing.T) {
	cw := newWire(true)
	cw.headers(1, true, append(req("/big"), "cookie", strings.Repeat("c", 100<<10), "content-type", "application/json")...)
	r, _ := run(t, Config{}, cw.buf.Bytes(), nil)
	if len(r.stops) != 0 || len(r.msgs) != 1 {
		t.Fatalf("stops %v msgs %d", r.stops, len(r.msgs))
	}
	if m := r.msgs[0]; m.ctype != "application/json" || !m.flags.Has(FlagHeadersCut) || len(m.headers) != 5 {
		t.Errorf("ctype %q flags %x headers %d", m.ctype, m.flags, len(m.headers))
	}
}
