package tls

import (
	"encoding/binary"
	"errors"
)

// Parse errors of a handshake message body.
var (
	ErrShort     = errors.New("tls: handshake message truncated")
	ErrTrailing  = errors.New("tls: bytes after the last extension")
	ErrNotHello  = errors.New("tls: not a ClientHello")
	ErrBadVector = errors.New("tls: vector length inconsistent")
)

// Extension numbers the parser reads.
const (
	ExtServerName          uint16 = 0
	ExtSignatureAlgorithms uint16 = 13
	ExtALPN                uint16 = 16
	ExtSupportedVersions   uint16 = 43
	ExtQUICTransportParams uint16 = 57
	ExtECH                 uint16 = 0xfe0d
)

// Bounds on what one hello keeps; the rest is counted in Dropped.
const (
	MaxALPN    = 16 // protocols kept from the ALPN list
	MaxALPNLen = 64 // longer protocol ids are not kept
)

// IsGREASE reports the RFC 8701 reserved values (0x?a?a with equal bytes).
func IsGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// ClientHello is what a ClientHello offered. Slices keep the wire order and
// include GREASE values; the JA4 methods drop them. A ClientHello is reused
// across parses: its slices are overwritten, not reallocated.
type ClientHello struct {
	LegacyVersion uint16
	// HasSNI: the server_name extension is present (JA4's 'd'), even if
	// its value was rejected.
	HasSNI bool
	// SNIInvalid: a host_name was present but is not a plausible DNS name
	// (empty, too long, NUL or other bytes outside [a-z0-9._-]).
	SNIInvalid bool
	// ALPN is the protocol list in order (at most MaxALPN entries). The
	// registered ids (h2, http/1.1, h3…) are the constants of alpnIDs:
	// only an unusual id costs an allocation.
	ALPN []string
	// SupportedVersions is the supported_versions extension, in order.
	SupportedVersions []uint16
	CipherSuites      []uint16
	// Extensions is every extension type in wire order.
	Extensions          []uint16
	SignatureAlgorithms []uint16
	// HasECH: an encrypted_client_hello extension was offered, so SNI is
	// the public (outer) name only.
	HasECH bool
	// Dropped counts list entries not kept because of the bounds above.
	Dropped int

	alpnFirst []byte // raw first ALPN value, for JA4 (may be non-UTF-8)
	alpnBuf   [MaxALPNLen]byte
	sniBuf    [253]byte
	sniLen    uint8 // SNI is sniBuf[:sniLen]
}

// SNI returns the first host_name of server_name, lower-cased and without
// a trailing dot; empty when absent or invalid (see SNIInvalid). Each call
// builds the string: a caller that keeps it per flow may prefer SNIBytes.
func (h *ClientHello) SNI() string { return string(h.SNIBytes()) }

// SNIBytes is SNI as a view of the hello's own buffer, valid until the
// next parse or Reset.
func (h *ClientHello) SNIBytes() []byte { return h.sniBuf[:h.sniLen] }

// Reset empties h, keeping its slices' memory.
func (h *ClientHello) Reset() {
	*h = ClientHello{
		ALPN:                h.ALPN[:0],
		SupportedVersions:   h.SupportedVersions[:0],
		CipherSuites:        h.CipherSuites[:0],
		Extensions:          h.Extensions[:0],
		SignatureAlgorithms: h.SignatureAlgorithms[:0],
	}
}

// Version is the highest non-GREASE entry of supported_versions, or the
// legacy version when the extension is absent.
func (h *ClientHello) Version() uint16 {
	var best uint16
	found := false
	for _, v := range h.SupportedVersions {
		if !IsGREASE(v) && v >= best {
			best, found = v, true
		}
	}
	if !found {
		return h.LegacyVersion
	}
	return best
}

// VersionString names a protocol version: "1.3", "1.2", "1.1", "1.0",
// "ssl3", "ssl2", "dtls1.0", "dtls1.2", "dtls1.3", "1.3-draft", or "" when
// unknown.
func VersionString(v uint16) string {
	switch v {
	case 0x0304:
		return "1.3"
	case 0x0303:
		return "1.2"
	case 0x0302:
		return "1.1"
	case 0x0301:
		return "1.0"
	case 0x0300:
		return "ssl3"
	case 0x0002:
		return "ssl2"
	case 0xfeff:
		return "dtls1.0"
	case 0xfefd:
		return "dtls1.2"
	case 0xfefc:
		return "dtls1.3"
	}
	if v>>8 == 0x7f { // draft-ietf-tls-tls13-NN, still offered by old stacks
		return "1.3-draft"
	}
	return ""
}

// reader walks a byte slice; any overrun latches ok=false.
type reader struct {
	b  []byte
	ok bool
}

func (r *reader) u8() int {
	if len(r.b) < 1 {
		r.ok = false
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return int(v)
}

func (r *reader) u16() uint16 {
	if len(r.b) < 2 {
		r.ok = false
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n > len(r.b) || !r.ok {
		r.ok = false
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// ParseHandshake parses one complete handshake message (4-byte header
// included), as carried by a QUIC CRYPTO stream, into h.
func (h *ClientHello) ParseHandshake(msg []byte) error {
	if len(msg) < 4 || msg[0] != typeClientHello {
		return ErrNotHello
	}
	n := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
	if len(msg) < 4+n {
		return ErrShort
	}
	return h.parse(msg[4 : 4+n])
}

// parse decodes a ClientHello body (after the handshake header).
func (h *ClientHello) parse(body []byte) error {
	h.Reset()
	r := reader{b: body, ok: true}
	h.LegacyVersion = r.u16()
	r.bytes(32)     // random
	r.bytes(r.u8()) // legacy_session_id
	suites := r.bytes(int(r.u16()))
	r.bytes(r.u8()) // legacy_compression_methods
	if !r.ok || len(suites)%2 != 0 {
		return ErrShort
	}
	for i := 0; i < len(suites); i += 2 {
		h.CipherSuites = append(h.CipherSuites, binary.BigEndian.Uint16(suites[i:]))
	}
	if len(r.b) == 0 { // no extensions at all (SSLv3-era hellos)
		return nil
	}
	exts := r.bytes(int(r.u16()))
	if !r.ok {
		return ErrShort
	}
	if len(r.b) != 0 {
		return ErrTrailing
	}
	for len(exts) > 0 {
		e := reader{b: exts, ok: true}
		typ := e.u16()
		data := e.bytes(int(e.u16()))
		if !e.ok {
			return ErrBadVector
		}
		exts = e.b
		if len(h.Extensions) < MaxExtensionsStored {
			h.Extensions = append(h.Extensions, typ)
		} else {
			h.Dropped++
		}
		if err := h.extension(typ, data); err != nil {
			return err
		}
	}
	return nil
}

// MaxExtensionsStored bounds Extensions; a hello has ~20 in practice and a
// 64 KiB message could claim 16 Ki empty ones.
const MaxExtensionsStored = 512

func (h *ClientHello) extension(typ uint16, data []byte) error {
	r := reader{b: data, ok: true}
	switch typ {
	case ExtServerName:
		h.HasSNI = true
		list := reader{b: r.bytes(int(r.u16())), ok: r.ok}
		for list.ok && len(list.b) > 0 {
			kind := list.u8()
			name := list.bytes(int(list.u16()))
			if list.ok && kind == 0 && h.sniLen == 0 && !h.SNIInvalid {
				h.setSNI(name)
			}
		}
		if !list.ok {
			return ErrBadVector
		}
	case ExtALPN:
		list := reader{b: r.bytes(int(r.u16())), ok: r.ok}
		first := true
		for list.ok && len(list.b) > 0 {
			proto := list.bytes(list.u8())
			if !list.ok {
				break
			}
			if first {
				h.alpnFirst = h.alpnBuf[:copy(h.alpnBuf[:], proto)]
				first = false
			}
			if len(h.ALPN) < MaxALPN && len(proto) <= MaxALPNLen {
				h.ALPN = append(h.ALPN, alpnString(proto))
			} else {
				h.Dropped++
			}
		}
		if !list.ok {
			return ErrBadVector
		}
	case ExtSupportedVersions:
		list := r.bytes(r.u8())
		if !r.ok || len(list)%2 != 0 {
			return ErrBadVector
		}
		for i := 0; i < len(list); i += 2 {
			h.SupportedVersions = append(h.SupportedVersions, binary.BigEndian.Uint16(list[i:]))
		}
	case ExtSignatureAlgorithms:
		list := r.bytes(int(r.u16()))
		if !r.ok || len(list)%2 != 0 {
			return ErrBadVector
		}
		for i := 0; i < len(list); i += 2 {
			h.SignatureAlgorithms = append(h.SignatureAlgorithms, binary.BigEndian.Uint16(list[i:]))
		}
	case ExtECH:
		h.HasECH = true
	}
	return nil
}

// setSNI validates and stores a host_name. Valid: 1–253 bytes of
// [A-Za-z0-9._-] (folded to lower case), no empty label, optional final dot.
// IDNs travel as punycode, so anything else is hostile or broken.
func (h *ClientHello) setSNI(name []byte) {
	if len(name) > 0 && name[len(name)-1] == '.' {
		name = name[:len(name)-1]
	}
	if len(name) == 0 || len(name) > len(h.sniBuf) {
		h.SNIInvalid = true
		return
	}
	prev := byte('.')
	for i, c := range name {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.' && prev != '.':
		default:
			h.SNIInvalid = true
			return
		}
		h.sniBuf[i] = c
		prev = c
	}
	h.sniLen = uint8(len(name))
}

// alpnIDs are the ALPN protocol ids of IANA's registry that clients
// commonly offer; alpnString returns these constants instead of building a
// string per hello.
var alpnIDs = [...]string{"h2", "http/1.1", "h3", "http/1.0", "h2c", "spdy/3.1", "h3-29", "acme-tls/1",
	"dot", "doq", "imap", "pop3", "managesieve", "ftp", "xmpp-client", "xmpp-server", "stun.turn", "webrtc",
	"c-webrtc", "mqtt", "grpc-exp", "coap", "irc", "nntp", "smb", "postgresql", "sunrpc"}

// alpnString returns id as a string, a constant when it is a common one.
func alpnString(id []byte) string {
	for _, s := range alpnIDs {
		if string(id) == s {
			return s
		}
	}
	return string(id)
}

// ServerHello is the little the sensor wants from the server's answer.
type ServerHello struct {
	LegacyVersion uint16
	// Version is the selected version: supported_versions when present,
	// else the legacy version.
	Version     uint16
	CipherSuite uint16
	Extensions  int
	// HelloRetry: this is a HelloRetryRequest, not a real ServerHello.
	HelloRetry bool
}

// helloRetryRandom marks a HelloRetryRequest (RFC 8446 §4.1.3).
var helloRetryRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

func (s *ServerHello) parse(body []byte) error {
	*s = ServerHello{}
	r := reader{b: body, ok: true}
	s.LegacyVersion = r.u16()
	s.HelloRetry = [32]byte(append(r.bytes(32), make([]byte, 32)...)[:32]) == helloRetryRandom
	r.bytes(r.u8())
	s.CipherSuite = r.u16()
	r.u8() // compression
	if !r.ok {
		return ErrShort
	}
	s.Version = s.LegacyVersion
	if len(r.b) == 0 {
		return nil
	}
	exts := r.bytes(int(r.u16()))
	if !r.ok || len(r.b) != 0 {
		return ErrBadVector
	}
	for len(exts) > 0 {
		e := reader{b: exts, ok: true}
		typ := e.u16()
		data := e.bytes(int(e.u16()))
		if !e.ok {
			return ErrBadVector
		}
		exts = e.b
		s.Extensions++
		if typ == ExtSupportedVersions && len(data) == 2 {
			s.Version = binary.BigEndian.Uint16(data)
		}
	}
	return nil
}
