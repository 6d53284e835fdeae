package quic

import "testing"

// BenchmarkInitial decrypts and parses the RFC 9001 A.2 client Initial:
// key derivation, header protection, AES-GCM over 1162 bytes, frames and
// the ClientHello.
func BenchmarkInitial(b *testing.B) {
	pkt := readHex(b, "rfc9001_a2_client_initial.hex")
	var c Conn
	b.Run("decrypt+parse", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(pkt)))
		for b.Loop() {
			c.Reset()
			if !c.Feed(pkt) || c.Status() != Done {
				b.Fatal(c.Status())
			}
		}
	})
	b.Run("decrypt+parse+ja4", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Reset()
			c.Feed(pkt)
			_ = c.JA4()
		}
	})
	b.Run("looks-like-initial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !LooksLikeInitial(pkt) {
				b.Fatal("not an Initial")
			}
		}
	})
}
