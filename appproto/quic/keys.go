package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
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

// expandLabel is TLS 1.3's HKDF-Expand-Label with an empty context.
func expandLabel(secret []byte, label string, n int) ([]byte, error) {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full))
	info = append(info, byte(n>>8), byte(n), byte(len(full)))
	info = append(info, full...)
	info = append(info, 0)
	return hkdf.Expand(sha256.New, secret, string(info), n)
}

// ClientInitialKeys derives the client Initial keys for a version from the
// Destination Connection ID of the client's first Initial packet.
func ClientInitialKeys(version uint32, dcid []byte) (Keys, error) {
	var (
		k              Keys
		salt           []byte
		keyL, ivL, hpL string
	)
	switch version {
	case Version1:
		salt, keyL, ivL, hpL = saltV1, "quic key", "quic iv", "quic hp"
	case Version2:
		salt, keyL, ivL, hpL = saltV2, "quicv2 key", "quicv2 iv", "quicv2 hp"
	default:
		return k, ErrUnsupportedVersion
	}
	initial, err := hkdf.Extract(sha256.New, dcid, salt)
	if err != nil {
		return k, err
	}
	client, err := expandLabel(initial, "client in", sha256.Size)
	if err != nil {
		return k, err
	}
	for _, out := range []struct {
		label string
		dst   []byte
	}{{keyL, k.Key[:]}, {ivL, k.IV[:]}, {hpL, k.HP[:]}} {
		v, err := expandLabel(client, out.label, len(out.dst))
		if err != nil {
			return k, err
		}
		copy(out.dst, v)
	}
	return k, nil
}

// opener holds the ciphers built from Keys.
type opener struct {
	aead cipher.AEAD
	hp   cipher.Block
	iv   [12]byte
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
