package tlsdecrypt

import (
	"bytes"
	"testing"
)

// crypto/tls has no client 0-RTT, so early data is built here: a
// ClientHello offering early_data, a 0-RTT record and EndOfEarlyData under
// the early secret, then the usual handshake and application keys.
func TestEarlyData(t *testing.T) {
	s := suiteByID(0x1301, true)
	random := bytes.Repeat([]byte{9}, 32)
	secretOf := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	labels := map[Label]byte{LabelClientEarly: 1, LabelClientHandshake: 2, LabelServerHandshake: 3, LabelClientTraffic0: 4, LabelServerTraffic0: 5}
	half := func(b byte) *halfConn {
		var hc halfConn
		if err := hc.set13(s, secretOf(b)); err != nil {
			t.Fatal(err)
		}
		return &hc
	}
	ch := []byte{3, 3}
	ch = append(ch, random...)
	ch = append(ch, 0, 0, 2, 0x13, 0x01, 1, 0, 0, 4, 0, 42, 0, 0) // extensions: early_data
	early, cHS, sHS, cApp, sApp := half(1), half(2), half(3), half(4), half(5)
	seal := func(hc *halfConn, typ byte, pt string) []byte { return hc.seal13(append([]byte(pt), typ)) }
	type msg struct {
		fromClient bool
		b          []byte
	}
	flight := []msg{
		{true, hsRecord(hsClientHello, ch)},
		{true, seal(early, 23, "GET /early HTTP/1.1\r\n\r\n")},
		{false, hsRecord(hsServerHello, serverHelloBody(0x0303, 0x1301, true))},
		{false, seal(sHS, 22, "\x08\x00\x00\x02\x00\x00")}, // EncryptedExtensions, no extensions
		{false, seal(sHS, 22, "\x14\x00\x00\x01\x00")},     // Finished
		{true, seal(early, 22, "\x05\x00\x00\x00")},        // EndOfEarlyData
		{true, seal(cHS, 22, "\x14\x00\x00\x01\x00")},      // Finished
		{true, seal(cApp, 23, "GET /after HTTP/1.1\r\n\r\n")},
		{false, seal(sApp, 23, "HTTP/1.1 200 OK\r\n\r\n")},
	}
	for _, withEarly := range []bool{true, false} {
		store := NewStore(0)
		for l, b := range labels {
			if l == LabelClientEarly && !withEarly {
				continue
			}
			ln := Line{Label: l, SecretLen: 32}
			copy(ln.ClientRandom[:], random)
			copy(ln.Secret[:], secretOf(b))
			store.Add(&ln)
		}
		col := &collector{}
		f := NewFlow(store, col, Config{})
		for _, m := range flight {
			f.Feed(m.fromClient, m.b)
		}
		f.Finish()
		want := "GET /early HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n"
		skipped := uint64(0)
		if !withEarly {
			want, skipped = "GET /after HTTP/1.1\r\n\r\n", 2
		}
		if f.Reason() != ReasonDecrypted || string(col.out[1]) != want || f.Stats().EarlySkipped != skipped || string(col.out[0]) != "HTTP/1.1 200 OK\r\n\r\n" {
			t.Fatalf("early secret %v: reason %v client %q server %q stats %+v", withEarly, f.Reason(), col.out[1], col.out[0], f.Stats())
		}
	}
}

// A flow picked up after its ClientHello cannot be decrypted: nothing is
// buffered for it.
func TestMidstreamNotBuffered(t *testing.T) {
	f := NewFlow(NewStore(0), &collector{}, Config{})
	f.Feed(true, []byte{23, 3, 3, 0, 20})
	f.Feed(true, make([]byte, 20))
	f.Finish()
	if f.Reason() != ReasonNoKey || f.Stats().PendingBytes != 0 || f.Stats().NoKeyBytes != 20 {
		t.Fatalf("reason %v stats %+v", f.Reason(), f.Stats())
	}
}
