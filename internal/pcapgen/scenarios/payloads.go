package scenarios

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// ClientHello builds a TLS 1.3 ClientHello record with SNI, ALPN,
// supported_versions, groups, signature algorithms and an x25519 key share,
// shaped like a modern browser's (without GREASE).
func ClientHello(sni string, alpn ...string) []byte {
	ext := func(typ uint16, body []byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
		return append(b, body...)
	}
	u16 := func(v int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
	var exts []byte
	if sni != "" {
		name := append([]byte{0}, append(u16(len(sni)), sni...)...)
		exts = append(exts, ext(0, append(u16(len(name)), name...))...)
	}
	exts = append(exts, ext(23, nil)...)          // extended_master_secret
	exts = append(exts, ext(65281, []byte{0})...) // renegotiation_info
	exts = append(exts, ext(10, []byte{0, 6, 0, 0x1d, 0, 0x17, 0, 0x18})...)
	exts = append(exts, ext(11, []byte{1, 0})...)
	if len(alpn) > 0 {
		var l []byte
		for _, a := range alpn {
			l = append(l, byte(len(a)))
			l = append(l, a...)
		}
		exts = append(exts, ext(16, append(u16(len(l)), l...))...)
	}
	exts = append(exts, ext(13, []byte{0, 8, 4, 3, 8, 4, 4, 1, 5, 1})...)
	ks := append([]byte{0, 0x1d, 0, 32}, bytes.Repeat([]byte{0x42}, 32)...)
	exts = append(exts, ext(51, append(u16(len(ks)), ks...))...)
	exts = append(exts, ext(45, []byte{1, 1})...) // psk_key_exchange_modes
	exts = append(exts, ext(43, []byte{4, 3, 4, 3, 3})...)
	ciphers := []byte{0x13, 1, 0x13, 2, 0x13, 3, 0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0xcc, 0xa9, 0xcc, 0xa8}
	var body []byte
	body = append(body, 3, 3)
	body = append(body, bytes.Repeat([]byte{0x11}, 32)...) // random
	body = append(body, 32)
	body = append(body, bytes.Repeat([]byte{0x22}, 32)...) // session id
	body = append(body, u16(len(ciphers))...)
	body = append(body, ciphers...)
	body = append(body, 1, 0)
	body = append(body, u16(len(exts))...)
	body = append(body, exts...)
	hs := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{0x16, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...)
}

// TLSRecords returns n bytes of TLS records of one content type, filled
// with a deterministic pattern (opaque ciphertext as far as a sensor knows).
func TLSRecords(typ byte, n int) []byte {
	var out []byte
	for i := 0; n > 0; i++ {
		l := min(n, 16384)
		out = append(out, typ, 3, 3, byte(l>>8), byte(l))
		for j := range l {
			out = append(out, byte(i*131+j*7+int(typ)))
		}
		n -= l
	}
	return out
}

// DNSAnswer is one A/AAAA/CNAME answer of a DNS response.
type DNSAnswer struct {
	Name  string
	CNAME string     // set for a CNAME record
	Addr  netip.Addr // set for A/AAAA
	TTL   uint32
}

func dnsName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// DNSQuery builds a recursive query for name (type A = 1, AAAA = 28).
func DNSQuery(id uint16, name string, qtype uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	b = append(b, dnsName(name)...)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, 1)
}

// DNSResponse answers a query with the given records (no compression).
func DNSResponse(id uint16, name string, qtype uint16, answers ...DNSAnswer) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x81, 0x80, 0, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(answers)))
	b = append(b, 0, 0, 0, 0)
	b = append(b, dnsName(name)...)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, 1)
	for _, a := range answers {
		b = append(b, dnsName(a.Name)...)
		var typ uint16
		var rdata []byte
		switch {
		case a.CNAME != "":
			typ, rdata = 5, dnsName(a.CNAME)
		case a.Addr.Is4():
			typ, rdata = 1, a.Addr.AsSlice()
		default:
			typ, rdata = 28, a.Addr.AsSlice()
		}
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint32(b, a.TTL)
		b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
		b = append(b, rdata...)
	}
	return b
}

// HTTPRequest builds a request with Content-Length (or no body).
func HTTPRequest(method, target, host string, headers []string, body []byte) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tapdlp-testdata/1.0\r\n", method, target, host)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	return append([]byte(b.String()), body...)
}

// HTTPChunked builds a chunked request whose body is split into chunks of
// the given size (so values straddle chunk boundaries).
func HTTPChunked(method, target, host string, headers []string, body []byte, chunk int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n", method, target, host)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	for len(body) > 0 {
		n := min(chunk, len(body))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return []byte(b.String())
}

// HTTPResponse builds a response with Content-Length.
func HTTPResponse(status int, contentType string, body []byte) []byte {
	return append([]byte(fmt.Sprintf("HTTP/1.1 %d OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", status, contentType, len(body))), body...)
}

// Gzip compresses b (deterministically: no name, no mtime).
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}
