package tls

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// helloBuilder writes ClientHello messages for tests.
type helloBuilder struct {
	version uint16
	suites  []uint16
	exts    [][]byte
}

func ext(typ uint16, data []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

func sniExt(name string) []byte {
	entry := append([]byte{0}, binary.BigEndian.AppendUint16(nil, uint16(len(name)))...)
	entry = append(entry, name...)
	return ext(ExtServerName, append(binary.BigEndian.AppendUint16(nil, uint16(len(entry))), entry...))
}

func alpnExt(protos ...string) []byte {
	var list []byte
	for _, p := range protos {
		list = append(list, byte(len(p)))
		list = append(list, p...)
	}
	return ext(ExtALPN, append(binary.BigEndian.AppendUint16(nil, uint16(len(list))), list...))
}

func u16list(lenBytes int, vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	if lenBytes == 1 {
		return append([]byte{byte(len(b))}, b...)
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)
}

// handshake returns the ClientHello handshake message (header included).
func (hb helloBuilder) handshake() []byte {
	body := binary.BigEndian.AppendUint16(nil, hb.version)
	body = append(body, make([]byte, 32)...)
	body = append(body, 0)
	body = append(body, u16list(2, hb.suites...)...)
	body = append(body, 1, 0)
	var exts []byte
	for _, e := range hb.exts {
		exts = append(exts, e...)
	}
	body = binary.BigEndian.AppendUint16(body, uint16(len(exts)))
	body = append(body, exts...)
	n := len(body)
	return append([]byte{typeClientHello, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// records wraps a handshake message in TLS records of at most size bytes.
func records(msg []byte, size int) []byte {
	var out []byte
	for len(msg) > 0 {
		n := min(size, len(msg))
		out = append(out, recordHandshake, 3, 1, byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

// foxioHello is the ClientHello of FoxIO's own unit test of JA4
// (rust/ja4/src/tls.rs, test_client_stats_into_out), plus GREASE values
// that must be ignored.
func foxioHello() helloBuilder {
	return helloBuilder{
		version: 0x0303,
		suites: []uint16{0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
			0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		exts: [][]byte{
			ext(0x2a2a, nil),
			ext(0x001b, []byte{2, 0, 2}), sniExt("Example.COM."), ext(0x0033, nil), alpnExt("h2", "http/1.1"),
			ext(0x4469, nil), ext(0x0017, nil), ext(0x002d, nil),
			ext(ExtSignatureAlgorithms, u16list(2, 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)),
			ext(0x0005, nil), ext(0x0023, nil), ext(0x0012, nil),
			ext(ExtSupportedVersions, u16list(1, 0x3a3a, 0x0304, 0x0303)),
			ext(0xff01, []byte{0}), ext(0x000b, nil), ext(0x000a, nil), ext(0x0015, nil),
			ext(0x3a3a, nil),
		},
	}
}

func TestJA4FoxIOExample(t *testing.T) {
	var h ClientHello
	if err := h.ParseHandshake(foxioHello().handshake()); err != nil {
		t.Fatal(err)
	}
	const (
		ja4  = "t13d1516h2_8daaf6152771_e5627efa2ab1"
		ja4r = "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
	)
	if got := h.JA4(TransportTCP); got != ja4 {
		t.Errorf("JA4 = %s, want %s", got, ja4)
	}
	if got := h.JA4Raw(TransportTCP); got != ja4r {
		t.Errorf("JA4_r = %s\nwant   %s", got, ja4r)
	}
	if h.SNI() != "example.com" || VersionString(h.Version()) != "1.3" || strings.Join(h.ALPN, ",") != "h2,http/1.1" {
		t.Errorf("sni %q version %s alpn %q", h.SNI(), VersionString(h.Version()), h.ALPN)
	}
	if got := h.JA4(TransportQUIC); got[0] != 'q' || got[1:] != ja4[1:] {
		t.Errorf("QUIC JA4 = %s", got)
	}
}

func TestJA4ALPN(t *testing.T) {
	// The examples of FoxIO's JA4.md, "ALPN Extension Value".
	tests := []struct {
		in   []byte
		want string
	}{
		{nil, "00"},
		{[]byte("h2"), "h2"},
		{[]byte("http/1.1"), "h1"},
		{[]byte("h"), "hh"},
		{[]byte{0xAB}, "ab"},
		{[]byte{0xAB, 0xCD}, "ad"},
		{[]byte{0x30, 0xAB}, "3b"},
		{[]byte{0x30, 0x31, 0xAB, 0xCD}, "3d"},
		{[]byte{0x30, 0xAB, 0xCD, 0x31}, "01"},
	}
	for _, tc := range tests {
		if got := string(appendJA4ALPN(nil, tc.in)); got != tc.want {
			t.Errorf("appendJA4ALPN(%x) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestJA4EmptyLists(t *testing.T) {
	var h ClientHello
	if err := h.ParseHandshake(helloBuilder{version: 0x0301}.handshake()); err != nil {
		t.Fatal(err)
	}
	if got, want := h.JA4(TransportTCP), "t10i000000_000000000000_000000000000"; got != want {
		t.Errorf("JA4 = %s, want %s", got, want)
	}
}

func TestSNIValidation(t *testing.T) {
	tests := []struct {
		name, want string
		invalid    bool
	}{
		{"WWW.Example.com", "www.example.com", false},
		{"example.com.", "example.com", false},
		{"_dmarc.x-y.test", "_dmarc.x-y.test", false},
		{"evil\x00.com", "", true},
		{"a..b", "", true},
		{"space here.com", "", true},
		{"b\xc3\xa9.com", "", true},
		{"", "", true},
		{strings.Repeat("a", 254), "", true},
	}
	for _, tc := range tests {
		var h ClientHello
		hb := helloBuilder{version: 0x0303, suites: []uint16{0x1301}, exts: [][]byte{sniExt(tc.name)}}
		if err := h.ParseHandshake(hb.handshake()); err != nil {
			t.Fatalf("%q: %v", tc.name, err)
		}
		if h.SNI() != tc.want || h.SNIInvalid != tc.invalid || !h.HasSNI {
			t.Errorf("%q: SNI %q invalid %v", tc.name, h.SNI(), h.SNIInvalid)
		}
	}
}

func TestParserStates(t *testing.T) {
	hello := foxioHello().handshake()
	big := helloBuilder{version: 0x0303, suites: []uint16{0x1301}, exts: [][]byte{ext(0xffce, make([]byte, 70000-100))}}
	tests := []struct {
		name   string
		stream []byte
		want   Status
	}{
		{"one record", records(hello, 1<<14), Done},
		{"one record per byte", records(hello, 1), Done},
		{"http", []byte("GET / HTTP/1.1\r\n"), NotTLS},
		{"ssh", []byte("SSH-2.0-OpenSSH_9.6\r\n"), NotTLS},
		{"bad major version", []byte{22, 2, 1, 0, 5}, NotTLS},
		{"zero length record", []byte{22, 3, 1, 0, 0}, NotTLS},
		{"application data first", []byte{23, 3, 3, 0, 5, 1, 2, 3, 4, 5}, NotTLS},
		{"finished first", records([]byte{20, 0, 0, 1, 0}, 100), Malformed},
		{"handshake then alert record", append(records(hello[:10], 100), 21, 3, 3, 0, 2, 2, 40), Malformed},
		{"too large", records(big.handshake(), 1<<14), TooLarge},
		{"truncated", records(hello, 1<<14)[:100], NeedMore},
	}
	for _, tc := range tests {
		var p Parser
		p.Feed(tc.stream)
		if p.Status() != tc.want {
			t.Errorf("%s: status %v, want %v", tc.name, p.Status(), tc.want)
		}
		if tc.want == Done && p.Hello.SNI() != "example.com" {
			t.Errorf("%s: SNI %q", tc.name, p.Hello.SNI())
		}
	}
}

func TestNotTLSOnFirstByte(t *testing.T) {
	var p Parser
	if !p.Feed([]byte{'G'}) || p.Status() != NotTLS {
		t.Fatalf("status %v after one byte", p.Status())
	}
}

func TestServerHello(t *testing.T) {
	body := binary.BigEndian.AppendUint16(nil, 0x0303)
	body = append(body, make([]byte, 32)...)
	body = append(body, 0)
	body = binary.BigEndian.AppendUint16(body, 0x1301)
	body = append(body, 0)
	exts := ext(ExtSupportedVersions, []byte{3, 4})
	body = binary.BigEndian.AppendUint16(body, uint16(len(exts)))
	body = append(body, exts...)
	msg := append([]byte{typeServerHello, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	var p Parser
	p.Feed(records(msg, 1<<14))
	if p.Status() != Done || !p.IsServer || VersionString(p.Server.Version) != "1.3" || p.Server.CipherSuite != 0x1301 || p.Server.HelloRetry {
		t.Errorf("status %v server %+v", p.Status(), p.Server)
	}
}

func TestParserReuse(t *testing.T) {
	var p Parser
	p.Feed(records(foxioHello().handshake(), 512))
	first := p.Hello.JA4Raw(TransportTCP)
	p.Reset()
	if p.Status() != NeedMore || p.Hello.SNI() != "" || len(p.Hello.CipherSuites) != 0 {
		t.Fatal("Reset left state behind")
	}
	p.Feed(records(foxioHello().handshake(), 100))
	if p.Hello.JA4Raw(TransportTCP) != first {
		t.Error("reused parser disagrees")
	}
}

func TestFeedAllocs(t *testing.T) {
	var p Parser
	junk := []byte("GET / HTTP/1.1\r\n")
	if a := testing.AllocsPerRun(100, func() { p.Reset(); p.Feed(junk) }); a != 0 {
		t.Errorf("rejecting non-TLS allocates %.1f", a)
	}
	stream := records(foxioHello().handshake(), 1<<14)
	p.Reset()
	p.Feed(stream) // warm the buffers
	// Parsing a hello with registered ALPN ids and computing its JA4 into
	// a buffer allocate nothing: SNI and JA4 are views until a caller
	// makes strings of them.
	var buf [JA4Len]byte
	if a := testing.AllocsPerRun(100, func() {
		p.Reset()
		p.Feed(stream)
		_ = p.Hello.AppendJA4(buf[:0], TransportTCP)
	}); a != 0 {
		t.Errorf("parsing a hello and its JA4 allocates %.1f times", a)
	}
	if p.Hello.SNI() != "example.com" || len(p.Hello.ALPN) != 2 {
		t.Fatalf("hello not parsed: %q %q", p.Hello.SNI(), p.Hello.ALPN)
	}
}

// TestALPNStrings: registered ids come back as the table's constants,
// others as their own bytes, both equal to the wire value.
func TestALPNStrings(t *testing.T) {
	for _, id := range []string{"h2", "http/1.1", "h3", "acme-tls/1", "x-custom/7", "H2", ""} {
		if got := alpnString([]byte(id)); got != id {
			t.Errorf("alpnString(%q) = %q", id, got)
		}
	}
	if a := testing.AllocsPerRun(100, func() { _ = alpnString([]byte("http/1.1")) }); a != 0 {
		t.Errorf("a registered ALPN id allocates %.1f times", a)
	}
}

// TestParseWholeMatchesStream: a first chunk holding the whole hello (parsed
// in place) and the same bytes a byte at a time (through the handshake
// buffer) reach the same verdict and facts, also at the edges of the
// in-place path: a record shorter than a message header, a message
// longer than its record, a record over MaxHandshake, a ServerHello, a
// non-handshake message type.
func TestParseWholeMatchesStream(t *testing.T) {
	hello := foxioHello().handshake()
	rec := func(body []byte) []byte {
		return append([]byte{recordHandshake, 3, 1, byte(len(body) >> 8), byte(len(body))}, body...)
	}
	cases := map[string][]byte{
		"hello":          records(hello, 1<<14),
		"hello+trailing": append(records(hello, 1<<14), 0x17, 3, 3, 0, 1, 0),
		"split records":  records(hello, 100),
		"short record":   append(rec([]byte{1, 0}), rec([]byte{0, 5, 1, 2, 3, 4, 5})...),
		"message longer": rec(append([]byte{1, 0, 1, 0}, hello[4:50]...)),
		"bad type":       rec([]byte{4, 0, 0, 1, 0}),
		"empty hello":    rec([]byte{1, 0, 0, 0}),
		"big record":     rec(append([]byte{1, 0, 0, 0}, make([]byte, 96)...)),
		"server hello":   rec(append([]byte{2, 0, 0, 38, 3, 3}, make([]byte, 36)...)),
	}
	for name, stream := range cases {
		for _, max := range []int{0, 64} {
			var whole, bytewise Parser
			whole.MaxHandshake, bytewise.MaxHandshake = max, max
			whole.Feed(stream)
			for i := 0; i < len(stream) && !bytewise.Feed(stream[i:i+1]); i++ {
			}
			got := fmt.Sprint(whole.Status(), whole.IsServer, whole.Records, whole.Hello.SNI(), whole.Hello.JA4Raw(TransportTCP), whole.Server)
			want := fmt.Sprint(bytewise.Status(), bytewise.IsServer, bytewise.Records, bytewise.Hello.SNI(), bytewise.Hello.JA4Raw(TransportTCP), bytewise.Server)
			if got != want {
				t.Errorf("%s (max %d): whole %s\nbytewise %s", name, max, got, want)
			}
		}
	}
}
