package tls

import (
	"crypto/sha256"
	"encoding/hex"
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

// ja4ALPN is the first and last character of the first ALPN value, "00"
// without one. When either end is not ASCII alphanumeric, FoxIO's
// definition takes the first and last character of the value's hex form.
func ja4ALPN(v []byte) string {
	if len(v) == 0 {
		return "00"
	}
	first, last := v[0], v[len(v)-1]
	if isAlnum(first) && isAlnum(last) {
		return string([]byte{first, last})
	}
	return string([]byte{hexDigits[first>>4], hexDigits[last&0xf]})
}

// ja4Parts builds the three sections of JA4 before hashing.
func (h *ClientHello) ja4Parts(transport byte) (a string, ciphers, exts []uint16) {
	ciphers = make([]uint16, 0, len(h.CipherSuites))
	exts = make([]uint16, 0, len(h.Extensions))
	for _, c := range h.CipherSuites {
		if !IsGREASE(c) {
			ciphers = append(ciphers, c)
		}
	}
	nExt := 0
	for _, e := range h.Extensions {
		if IsGREASE(e) {
			continue
		}
		nExt++
		if e != ExtServerName && e != ExtALPN {
			exts = append(exts, e)
		}
	}
	sni := byte('i')
	if h.HasSNI {
		sni = 'd'
	}
	b := make([]byte, 0, 10)
	b = append(b, transport)
	b = append(b, ja4Version(h.Version())...)
	b = append(b, sni)
	b = append(b, twoDigits(len(ciphers))...)
	b = append(b, twoDigits(nExt)...)
	b = append(b, ja4ALPN(h.alpnFirst)...)
	slices.Sort(ciphers)
	slices.Sort(exts)
	return string(b), ciphers, exts
}

func twoDigits(n int) string {
	n = min(n, 99)
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
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

// sigAlgs are the signature algorithms in wire order, GREASE removed.
func (h *ClientHello) sigAlgs() []uint16 {
	out := make([]uint16, 0, len(h.SignatureAlgorithms))
	for _, s := range h.SignatureAlgorithms {
		if !IsGREASE(s) {
			out = append(out, s)
		}
	}
	return out
}

// ja4Raw returns JA4_r's b and c sections.
func (h *ClientHello) ja4Raw(transport byte) (a string, b, c []byte) {
	a, ciphers, exts := h.ja4Parts(transport)
	b = appendHexList(make([]byte, 0, 5*len(ciphers)), ciphers)
	c = appendHexList(make([]byte, 0, 5*(len(exts)+len(h.SignatureAlgorithms))), exts)
	if sigs := h.sigAlgs(); len(sigs) > 0 {
		// No underscore when there are no signature algorithms (FoxIO).
		c = append(c, '_')
		c = appendHexList(c, sigs)
	}
	return a, b, c
}

func hash12(s []byte) string {
	if len(s) == 0 {
		return "000000000000"
	}
	sum := sha256.Sum256(s)
	return hex.EncodeToString(sum[:6])
}

// JA4 computes FoxIO's JA4 fingerprint of the hello: transport marker
// (TransportTCP, TransportQUIC, TransportDTLS), version, SNI marker, cipher
// and extension counts, ALPN ends, then truncated SHA-256 of the sorted
// ciphers and of the sorted extensions (less SNI and ALPN) followed by the
// signature algorithms in wire order. GREASE values are ignored throughout.
func (h *ClientHello) JA4(transport byte) string {
	a, b, c := h.ja4Raw(transport)
	return a + "_" + hash12(b) + "_" + hash12(c)
}

// JA4Raw is JA4_r: JA4 with the hashed sections spelled out, for debugging.
func (h *ClientHello) JA4Raw(transport byte) string {
	a, b, c := h.ja4Raw(transport)
	return a + "_" + string(b) + "_" + string(c)
}

// String summarises the hello for logs and test output.
func (h *ClientHello) String() string {
	return "sni=" + strconv.Quote(h.SNI) + " version=" + VersionString(h.Version())
}
