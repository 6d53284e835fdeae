package tls

import (
	"crypto/sha256"
	"slices"
	"strconv"
)

// Transport markers, the first character of JA4.
const (
	TransportTCP  byte = 't'
	TransportQUIC byte = 'q'
	TransportDTLS byte = 'd'
)

// ja4Version is JA4's two-character version code.
func ja4Version(v uint16) string {
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

const hexDigits = "0123456789abcdef"

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// appendJA4ALPN appends the first and last character of the first ALPN
// value, "00" without one. When either end is not ASCII alphanumeric,
// FoxIO's definition takes the first and last character of the value's hex
// form.
func appendJA4ALPN(dst, v []byte) []byte {
	if len(v) == 0 {
		return append(dst, "00"...)
	}
	first, last := v[0], v[len(v)-1]
	if isAlnum(first) && isAlnum(last) {
		return append(dst, first, last)
	}
	return append(dst, hexDigits[first>>4], hexDigits[last&0xf])
}

// ja4Scratch is the room JA4 sorts and spells its lists in. It lives on
// the caller's stack: a hello has some 15–100 ciphers and 10–40 extensions
// and signature algorithms, so only a hostile or very odd one spills to
// the heap (append grows past the arrays).
type ja4Scratch struct {
	ciphers, exts [128]uint16
	text          [1024]byte
}

// ja4Lists fills the sorted cipher and extension lists (GREASE removed;
// SNI and ALPN left out of the extensions) and returns them with the
// extension count of section a.
func (h *ClientHello) ja4Lists(s *ja4Scratch) (ciphers, exts []uint16, nExt int) {
	ciphers, exts = s.ciphers[:0], s.exts[:0]
	for _, c := range h.CipherSuites {
		if !IsGREASE(c) {
			ciphers = append(ciphers, c)
		}
	}
	for _, e := range h.Extensions {
		if IsGREASE(e) {
			continue
		}
		nExt++
		if e != ExtServerName && e != ExtALPN {
			exts = append(exts, e)
		}
	}
	slices.Sort(ciphers)
	slices.Sort(exts)
	return ciphers, exts, nExt
}

// appendJA4a appends section a: transport, version, SNI marker, cipher and
// extension counts, ALPN ends.
func (h *ClientHello) appendJA4a(dst []byte, transport byte, nCiphers, nExt int) []byte {
	sni := byte('i')
	if h.HasSNI {
		sni = 'd'
	}
	dst = append(dst, transport)
	dst = append(dst, ja4Version(h.Version())...)
	dst = append(dst, sni)
	dst = appendTwoDigits(dst, nCiphers)
	dst = appendTwoDigits(dst, nExt)
	return appendJA4ALPN(dst, h.alpnFirst)
}

func appendTwoDigits(dst []byte, n int) []byte {
	n = min(n, 99)
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

func appendHexList(dst []byte, vs []uint16) []byte {
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, hexDigits[v>>12], hexDigits[v>>8&0xf], hexDigits[v>>4&0xf], hexDigits[v&0xf])
	}
	return dst
}

// appendSigAlgs appends "_" and the signature algorithms in wire order,
// GREASE removed; nothing when there are none (FoxIO: no underscore).
func (h *ClientHello) appendSigAlgs(dst []byte) []byte {
	first := true
	for _, v := range h.SignatureAlgorithms {
		if IsGREASE(v) {
			continue
		}
		if first {
			dst = append(dst, '_')
			first = false
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, hexDigits[v>>12], hexDigits[v>>8&0xf], hexDigits[v>>4&0xf], hexDigits[v&0xf])
	}
	return dst
}

// appendHash12 appends the first 12 hex digits of the SHA-256 of s, twelve
// zeros when s is empty.
func appendHash12(dst, s []byte) []byte {
	if len(s) == 0 {
		return append(dst, "000000000000"...)
	}
	sum := sha256.Sum256(s)
	for _, c := range sum[:6] {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

// JA4Len is the length of a JA4 fingerprint.
const JA4Len = 36

// AppendJA4 appends FoxIO's JA4 fingerprint of the hello to dst (JA4Len
// bytes): transport marker (TransportTCP, TransportQUIC, TransportDTLS),
// version, SNI marker, cipher and extension counts, ALPN ends, then
// truncated SHA-256 of the sorted ciphers and of the sorted extensions
// (less SNI and ALPN) followed by the signature algorithms in wire order.
// GREASE values are ignored throughout. It does not allocate unless dst
// must grow (or the hello's lists are far beyond any real client's).
func (h *ClientHello) AppendJA4(dst []byte, transport byte) []byte {
	var s ja4Scratch
	ciphers, exts, nExt := h.ja4Lists(&s)
	return h.appendJA4Sorted(dst, transport, &s, ciphers, exts, nExt)
}

// appendJA4Sorted is AppendJA4 on the lists ja4Lists made in s (its text
// buffer is overwritten).
func (h *ClientHello) appendJA4Sorted(dst []byte, transport byte, s *ja4Scratch, ciphers, exts []uint16, nExt int) []byte {
	dst = h.appendJA4a(dst, transport, len(ciphers), nExt)
	dst = append(dst, '_')
	dst = appendHash12(dst, appendHexList(s.text[:0], ciphers))
	dst = append(dst, '_')
	c := appendHexList(s.text[:0], exts)
	return appendHash12(dst, h.appendSigAlgs(c))
}

// JA4 returns AppendJA4's fingerprint as a string.
func (h *ClientHello) JA4(transport byte) string {
	var b [JA4Len]byte
	return string(h.AppendJA4(b[:0], transport))
}

// JA4Raw is JA4_r: JA4 with the hashed sections spelled out, for debugging.
func (h *ClientHello) JA4Raw(transport byte) string {
	var s ja4Scratch
	ciphers, exts, nExt := h.ja4Lists(&s)
	b := h.appendJA4a(nil, transport, len(ciphers), nExt)
	b = append(b, '_')
	b = appendHexList(b, ciphers)
	b = append(b, '_')
	b = appendHexList(b, exts)
	return string(h.appendSigAlgs(b))
}

// String summarises the hello for logs and test output.
func (h *ClientHello) String() string {
	return "sni=" + strconv.Quote(h.SNI()) + " version=" + VersionString(h.Version())
}
