package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"hash"
)

// Versions this package decrypts.
const (
	Version1 uint32 = 0x00000001
	Version2 uint32 = 0x6b3343cf
)

// ErrUnsupportedVersion: the version's Initial salt and labels are unknown.
var ErrUnsupportedVersion = errors.New("quic: unsupported version")

var (
	saltV1 = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}
	saltV2 = []byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9}
)

// Keys are the client's Initial packet protection keys (AEAD_AES_128_GCM).
type Keys struct {
	Key [16]byte
	IV  [12]byte
	HP  [16]byte
}

// kdf derives Initial keys without allocating: HKDF-SHA256 (RFC 5869)
// over one reused SHA-256 state and buffers of its own. A Conn keeps one
// across Reset, so a worker's recycled Conns derive keys without garbage
// (crypto/hkdf built a new HMAC, two SHA-256 states and each output per
// label: 40 allocations per flow, measured).
//
// Every output here is at most one SHA-256 block long, so HKDF-Expand is
// its first block: HMAC(secret, info || 0x01).
type kdf struct {
	h     hash.Hash // SHA-256
	pad   [sha256.BlockSize]byte
	inner [sha256.Size]byte
	prk   [sha256.Size]byte // HKDF-Extract output
	sec   [sha256.Size]byte // client_initial_secret
	out   [sha256.Size]byte // HMAC output
	info  [64]byte          // HkdfLabel || 0x01
}

// hmac sets k.out to HMAC-SHA256(key, msg); key is at most a block long.
func (k *kdf) hmac(key, msg []byte) {
	if k.h == nil {
		k.h = sha256.New()
	}
	for i := range k.pad {
		k.pad[i] = 0x36
	}
	for i, b := range key {
		k.pad[i] ^= b
	}
	k.h.Reset()
	k.h.Write(k.pad[:])
	k.h.Write(msg)
	k.h.Sum(k.inner[:0])
	for i := range k.pad {
		k.pad[i] ^= 0x36 ^ 0x5c
	}
	k.h.Reset()
	k.h.Write(k.pad[:])
	k.h.Write(k.inner[:])
	k.h.Sum(k.out[:0])
}

// expandLabel is TLS 1.3's HKDF-Expand-Label with an empty context, for
// n ≤ 32: it copies the output into dst[:n].
func (k *kdf) expandLabel(secret []byte, label string, dst []byte) {
	n := len(dst)
	i := copy(k.info[:], []byte{byte(n >> 8), byte(n), byte(len("tls13 ") + len(label))})
	i += copy(k.info[i:], "tls13 ")
	i += copy(k.info[i:], label)
	k.info[i] = 0 // context length
	k.info[i+1] = 1
	k.hmac(secret, k.info[:i+2])
	copy(dst, k.out[:n])
}

// clientInitialKeys derives the client Initial keys (see ClientInitialKeys).
func (k *kdf) clientInitialKeys(version uint32, dcid []byte) (Keys, error) {
	var (
		keys           Keys
		salt           []byte
		keyL, ivL, hpL string
	)
	switch version {
	case Version1:
		salt, keyL, ivL, hpL = saltV1, "quic key", "quic iv", "quic hp"
	case Version2:
		salt, keyL, ivL, hpL = saltV2, "quicv2 key", "quicv2 iv", "quicv2 hp"
	default:
		return keys, ErrUnsupportedVersion
	}
	k.hmac(salt, dcid) // HKDF-Extract(salt, dcid)
	k.prk = k.out
	k.expandLabel(k.prk[:], "client in", k.sec[:])
	k.expandLabel(k.sec[:], keyL, keys.Key[:])
	k.expandLabel(k.sec[:], ivL, keys.IV[:])
	k.expandLabel(k.sec[:], hpL, keys.HP[:])
	return keys, nil
}

// ClientInitialKeys derives the client Initial keys for a version from the
// Destination Connection ID of the client's first Initial packet.
func ClientInitialKeys(version uint32, dcid []byte) (Keys, error) {
	var k kdf
	return k.clientInitialKeys(version, dcid)
}

// opener holds the ciphers built from Keys, and the header-protection
// mask and nonce of the packet being opened: they are passed to interface
// methods, so as locals they would escape to the heap on every packet.
type opener struct {
	aead  cipher.AEAD
	hp    cipher.Block
	iv    [12]byte
	mask  [16]byte
	nonce [12]byte
}

func newOpener(k Keys) (opener, error) {
	block, err := aes.NewCipher(k.Key[:])
	if err != nil {
		return opener{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return opener{}, err
	}
	hp, err := aes.NewCipher(k.HP[:])
	if err != nil {
		return opener{}, err
	}
	return opener{aead: aead, hp: hp, iv: k.IV}, nil
}
