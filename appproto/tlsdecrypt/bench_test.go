package tlsdecrypt

import (
	"bytes"
	"testing"
)

// BenchmarkDecrypt measures the decryption of full-size (16 KiB) records
// through a Flow against a plain copy of the same bytes. Run:
//
//	go test ./appproto/tlsdecrypt -run XXX -bench . -benchmem
func BenchmarkDecrypt(b *testing.B) {
	const records = 64
	pt := bytes.Repeat([]byte("POST /v1/chat/completions card 4111111111111111 "), 16384/48)[:16000]
	for i, name := range []string{"tls13-aes128gcm", "tls13-aes256gcm", "tls13-chacha20", "tls12-aes128gcm", "tls12-aes256gcm", "tls12-chacha20"} {
		key := bytes.Repeat([]byte{byte(i + 1)}, 48)
		fl, _ := fuzzFlow(byte(i), key)
		fl.tryKeys()
		if !fl.ready {
			b.Fatal("no keys")
		}
		hc := fl.dir[0].hc
		var stream []byte
		for range records {
			stream = append(stream, sealRecord(&hc, 23, pt)...)
		}
		b.Run(name, func(b *testing.B) {
			h := &discard{}
			fl.h = h
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				fl.dir[0].hc.seq = 0
				fl.Feed(false, stream)
			}
			if fl.Reason() != ReasonDecrypted || h.n == 0 {
				b.Fatalf("reason %v", fl.Reason())
			}
		})
		if i == 0 {
			b.Run("plain-copy", func(b *testing.B) {
				dst := make([]byte, len(stream))
				b.SetBytes(int64(len(stream)))
				b.ReportAllocs()
				for b.Loop() {
					copy(dst, stream)
				}
			})
		}
	}
}
