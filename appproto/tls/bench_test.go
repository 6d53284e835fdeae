package tls

import "testing"

// BenchmarkClientHello parses the split ClientHello of
// arkime_tls-split-client-hello (fed as captured) and computes JA4.
func BenchmarkClientHello(b *testing.B) {
	chunks := clientStreams(b, "arkime_tls-split-client-hello.pcap")[0].ClientChunks
	var p Parser
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Reset()
			for _, c := range chunks {
				if p.Feed(c) {
					break
				}
			}
			if p.Status() != Done {
				b.Fatal(p.Status())
			}
		}
	})
	b.Run("parse-one-chunk", func(b *testing.B) {
		// The hello in one chunk, as most clients send it: parsed in place.
		var whole []byte
		for _, c := range chunks {
			whole = append(whole, c...)
		}
		b.ReportAllocs()
		for b.Loop() {
			p.Reset()
			if !p.Feed(whole) || p.Status() != Done {
				b.Fatal(p.Status())
			}
		}
	})
	b.Run("parse+ja4", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Reset()
			for _, c := range chunks {
				if p.Feed(c) {
					break
				}
			}
			_ = p.Hello.JA4(TransportTCP)
		}
	})
	b.Run("parse+appendja4", func(b *testing.B) {
		b.ReportAllocs()
		var buf [JA4Len]byte
		for b.Loop() {
			p.Reset()
			for _, c := range chunks {
				if p.Feed(c) {
					break
				}
			}
			if len(p.Hello.AppendJA4(buf[:0], TransportTCP)) != JA4Len {
				b.Fatal("short JA4")
			}
		}
	})
	b.Run("parse+memoja4", func(b *testing.B) {
		// A worker's memo remembers the fingerprint after the first flow.
		b.ReportAllocs()
		var m JA4Memo
		for b.Loop() {
			p.Reset()
			for _, c := range chunks {
				if p.Feed(c) {
					break
				}
			}
			if len(m.JA4(&p.Hello, TransportTCP)) != JA4Len {
				b.Fatal("short JA4")
			}
		}
	})
	b.Run("not-tls", func(b *testing.B) {
		b.ReportAllocs()
		junk := []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
		for b.Loop() {
			p.Reset()
			p.Feed(junk)
		}
	})
}
