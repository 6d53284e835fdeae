package tlsdecrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// TLS versions.
const (
	VersionTLS10 uint16 = 0x0301
	VersionTLS11 uint16 = 0x0302
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

type aeadKind uint8

const (
	aesGCM aeadKind = iota + 1
	chacha
)

// suite describes one AEAD cipher suite this package decrypts.
type suite struct {
	id     uint16
	tls13  bool
	kind   aeadKind
	keyLen int
	sha384 bool // PRF / HKDF hash is SHA-384, else SHA-256
}

func (s *suite) hash() func() hash.Hash {
	if s.sha384 {
		return sha512.New384
	}
	return sha256.New
}

func (s *suite) hashLen() int {
	if s.sha384 {
		return 48
	}
	return 32
}

// fixedIVLen is the IV derived from the key schedule: TLS 1.2 AES-GCM has
// a 4-byte implicit salt and an 8-byte explicit nonce per record; the
// others use a 12-byte IV XORed with the sequence number.
func (s *suite) fixedIVLen() int {
	if !s.tls13 && s.kind == aesGCM {
		return 4
	}
	return 12
}

var suites = []suite{
	// TLS 1.3
	{id: 0x1301, tls13: true, kind: aesGCM, keyLen: 16},
	{id: 0x1302, tls13: true, kind: aesGCM, keyLen: 32, sha384: true},
	{id: 0x1303, tls13: true, kind: chacha, keyLen: 32},
	// TLS 1.2 AEAD suites; the key exchange does not matter once the
	// master secret is known.
	{id: 0xc02b, kind: aesGCM, keyLen: 16},               // ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
	{id: 0xc02f, kind: aesGCM, keyLen: 16},               // ECDHE_RSA_WITH_AES_128_GCM_SHA256
	{id: 0xc02c, kind: aesGCM, keyLen: 32, sha384: true}, // ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
	{id: 0xc030, kind: aesGCM, keyLen: 32, sha384: true}, // ECDHE_RSA_WITH_AES_256_GCM_SHA384
	{id: 0xcca8, kind: chacha, keyLen: 32},               // ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
	{id: 0xcca9, kind: chacha, keyLen: 32},               // ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	{id: 0xccaa, kind: chacha, keyLen: 32},               // DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
	{id: 0x009c, kind: aesGCM, keyLen: 16},               // RSA_WITH_AES_128_GCM_SHA256
	{id: 0x009d, kind: aesGCM, keyLen: 32, sha384: true}, // RSA_WITH_AES_256_GCM_SHA384
	{id: 0x009e, kind: aesGCM, keyLen: 16},               // DHE_RSA_WITH_AES_128_GCM_SHA256
	{id: 0x009f, kind: aesGCM, keyLen: 32, sha384: true}, // DHE_RSA_WITH_AES_256_GCM_SHA384
}

func suiteByID(id uint16, tls13 bool) *suite {
	for i := range suites {
		if suites[i].id == id && suites[i].tls13 == tls13 {
			return &suites[i]
		}
	}
	return nil
}

// Supported reports whether the package decrypts suite id at version v.
func Supported(v, id uint16) bool {
	return (v == VersionTLS12 || v == VersionTLS13) && suiteByID(id, v == VersionTLS13) != nil
}

// prf12 is the TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed).
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, out []byte) {
	mac := hmac.New(h, secret)
	ls := make([]byte, 0, len(label)+len(seed))
	ls = append(ls, label...)
	ls = append(ls, seed...)
	mac.Write(ls)
	a := mac.Sum(nil)
	for len(out) > 0 {
		mac.Reset()
		mac.Write(a)
		mac.Write(ls)
		out = out[copy(out, mac.Sum(nil)):]
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
}

// expandLabel is TLS 1.3 HKDF-Expand-Label with an empty context
// (RFC 8446 §7.1).
func expandLabel(h func() hash.Hash, secret []byte, label string, n int) ([]byte, error) {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full))
	info = append(info, byte(n>>8), byte(n), byte(len(full)))
	info = append(info, full...)
	info = append(info, 0)
	return hkdf.Expand(h, secret, string(info), n)
}

func newAEAD(kind aeadKind, key []byte) (cipher.AEAD, error) {
	if kind == chacha {
		return chacha20poly1305.New(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// halfConn is one direction's record protection. All buffers it uses per
// record are fields, so opening a record allocates nothing.
type halfConn struct {
	s      *suite
	aead   cipher.AEAD
	iv     [12]byte
	seq    uint64
	nonce  [12]byte
	ad     [13]byte
	secret secret // TLS 1.3: the current traffic secret, for KeyUpdate
}

var (
	errAuth  = errors.New("tlsdecrypt: record authentication failed")
	errShort = errors.New("tlsdecrypt: record too short")
)

// set13 installs a TLS 1.3 traffic secret.
func (hc *halfConn) set13(s *suite, sec []byte) error {
	key, err := expandLabel(s.hash(), sec, "key", s.keyLen)
	if err != nil {
		return err
	}
	iv, err := expandLabel(s.hash(), sec, "iv", 12)
	if err != nil {
		return err
	}
	aead, err := newAEAD(s.kind, key)
	clear(key)
	if err != nil {
		return err
	}
	*hc = halfConn{s: s, aead: aead}
	copy(hc.iv[:], iv)
	hc.secret.n = uint8(copy(hc.secret.b[:], sec))
	return nil
}

// keyUpdate moves a TLS 1.3 direction to its next traffic secret.
func (hc *halfConn) keyUpdate() error {
	next, err := expandLabel(hc.s.hash(), hc.secret.bytes(), "traffic upd", hc.s.hashLen())
	if err != nil {
		return err
	}
	return hc.set13(hc.s, next)
}

// keys12 derives both directions' TLS 1.2 keys from the master secret
// (RFC 5246 §6.3; RFC 5288 for GCM, RFC 7905 for ChaCha20-Poly1305).
func keys12(s *suite, master []byte, clientRandom, serverRandom *[32]byte, client, server *halfConn) error {
	ivLen := s.fixedIVLen()
	var block [2*32 + 2*12]byte
	kb := block[:2*s.keyLen+2*ivLen]
	var seed [64]byte
	copy(seed[:32], serverRandom[:])
	copy(seed[32:], clientRandom[:])
	prf12(s.hash(), master, "key expansion", seed[:], kb)
	ck, sk := kb[:s.keyLen], kb[s.keyLen:2*s.keyLen]
	civ, siv := kb[2*s.keyLen:2*s.keyLen+ivLen], kb[2*s.keyLen+ivLen:]
	ca, err := newAEAD(s.kind, ck)
	if err != nil {
		return err
	}
	sa, err := newAEAD(s.kind, sk)
	if err != nil {
		return err
	}
	*client = halfConn{s: s, aead: ca}
	*server = halfConn{s: s, aead: sa}
	copy(client.iv[:], civ)
	copy(server.iv[:], siv)
	clear(block[:])
	return nil
}

// open decrypts one record's payload into dst[:0] (dst needs capacity for
// the plaintext). typ and ver are the record header's; for TLS 1.3 the
// result still carries the inner content type and padding.
func (hc *halfConn) open(dst []byte, typ byte, ver uint16, payload []byte) ([]byte, error) {
	s := hc.s
	tag := hc.aead.Overhead()
	var ad []byte
	switch {
	case s.tls13:
		if len(payload) < tag+1 {
			return nil, errShort
		}
		hc.nonce = hc.iv
		xorSeq(&hc.nonce, hc.seq)
		hc.ad[0] = typ
		binary.BigEndian.PutUint16(hc.ad[1:], ver)
		binary.BigEndian.PutUint16(hc.ad[3:], uint16(len(payload)))
		ad = hc.ad[:5]
	case s.kind == aesGCM:
		if len(payload) < 8+tag {
			return nil, errShort
		}
		copy(hc.nonce[:4], hc.iv[:4])
		copy(hc.nonce[4:], payload[:8])
		payload = payload[8:]
		ad = hc.ad12(typ, ver, len(payload)-tag)
	default:
		if len(payload) < tag {
			return nil, errShort
		}
		hc.nonce = hc.iv
		xorSeq(&hc.nonce, hc.seq)
		ad = hc.ad12(typ, ver, len(payload)-tag)
	}
	out, err := hc.aead.Open(dst[:0], hc.nonce[:], payload, ad)
	if err != nil {
		return nil, errAuth
	}
	hc.seq++
	return out, nil
}

func (hc *halfConn) ad12(typ byte, ver uint16, n int) []byte {
	binary.BigEndian.PutUint64(hc.ad[:8], hc.seq)
	hc.ad[8] = typ
	binary.BigEndian.PutUint16(hc.ad[9:], ver)
	binary.BigEndian.PutUint16(hc.ad[11:], uint16(n))
	return hc.ad[:13]
}

func xorSeq(n *[12]byte, seq uint64) {
	for i := range 8 {
		n[4+i] ^= byte(seq >> (56 - 8*i))
	}
}
