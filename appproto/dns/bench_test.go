package dns

import (
	"encoding/binary"
	"testing"
)

// benchResponse is the ndpi_dns_ambiguous_names response for
// api.teams.skype.com: a three-hop CNAME chain ending in an A record.
func benchResponse(b *testing.B) []byte {
	for _, c := range messages(b, "ndpi_dns_ambiguous_names.pcap") {
		var m Message
		if m.Parse(c.payload) == nil && m.Response() && m.ChainLen() == 4 {
			return c.payload
		}
	}
	b.Fatal("benchmark message not found")
	return nil
}

func BenchmarkParse(b *testing.B) {
	msg := benchResponse(b)
	m := new(Message)
	b.Run("response", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if err := m.Parse(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("response+answers", func(b *testing.B) {
		b.ReportAllocs()
		var dst []Answer
		for b.Loop() {
			if err := m.Parse(msg); err != nil {
				b.Fatal(err)
			}
			dst = m.AppendAnswers(dst[:0])
		}
	})
	b.Run("looks-like", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !LooksLikeDNS(msg) {
				b.Fatal("not DNS")
			}
		}
	})
	b.Run("tcp-framer", func(b *testing.B) {
		framed := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
		framed = append(framed, msg...)
		var f TCPFramer
		b.ReportAllocs()
		for b.Loop() {
			f.Feed(framed[:5])
			for _, ok := f.Next(); ok; _, ok = f.Next() {
			}
			f.Feed(framed[5:])
			for msg, ok := f.Next(); ok; msg, ok = f.Next() {
				if err := m.Parse(msg); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
