package tlsdecrypt

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzKeyLog(f *testing.F) {
	f.Add([]byte("CLIENT_RANDOM " + rnd1 + " " + s48 + "\n"))
	f.Add([]byte("# c\r\nCLIENT_HANDSHAKE_TRAFFIC_SECRET " + rnd1 + " " + s32 + "\r\nSERVER_TRAFFIC_SECRET_0 " + rnd2 + " " + s32))
	f.Add([]byte("RSA 0011 2233\n\n\nEXPORTER_SECRET " + rnd1 + " " + s48 + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewStore(4 * entryCost)
		st := s.AddKeyLog(b)
		lines := uint64(bytes.Count(b, []byte("\n")) + 1)
		if st.Lines > lines || st.Secrets+st.Bad+st.Unknown+st.Ignored+st.TooLong != st.Lines {
			t.Fatalf("stats %+v for %d lines", st, lines)
		}
		if ss := s.Stats(); ss.Entries > 4 || ss.Added != st.Secrets {
			t.Fatalf("store %+v, parse %+v", ss, st)
		}
		// Chunked parsing agrees with whole parsing.
		p := LineParser{}
		for i := 0; i < len(b); i += 7 {
			p.Write(b[i:min(i+7, len(b))])
		}
		p.Flush()
		if p.Stats != st {
			t.Fatalf("chunked %+v, whole %+v", p.Stats, st)
		}
	})
}

// fuzzRandom is the ClientHello random of the fuzzed connection.
var fuzzRandom = bytes.Repeat([]byte{7}, 32)

// FuzzRecords feeds a connection whose ClientHello and ServerHello are
// fixed (suite chosen by the input) and whose secrets come from the input
// (random keys), then arbitrary record-layer bytes in both directions.
// Seeds carry records sealed with those keys so the fuzzer reaches the
// decrypted handshake (EncryptedExtensions, Finished, KeyUpdate).
func FuzzRecords(f *testing.F) {
	for i, id := range []uint16{0x1301, 0x1302, 0x1303, 0xc02f, 0xc030, 0xcca8} {
		f.Add(byte(i), bytes.Repeat([]byte{byte(i + 1)}, 48), fuzzSeedRecords(byte(i), bytes.Repeat([]byte{byte(i + 1)}, 48)), uint8(3))
		_ = id
	}
	f.Add(byte(0), make([]byte, 48), []byte{23, 3, 3, 0, 17, 1, 2, 3}, uint8(0))
	f.Fuzz(func(t *testing.T, which byte, key []byte, stream []byte, split uint8) {
		fl, col := fuzzFlow(which, key)
		// Blocks: one byte (bit 0: direction, the rest: length-1), then
		// the block's bytes.
		for len(stream) > 0 {
			fromClient := stream[0]&1 == 1
			n := min(len(stream)-1, int(stream[0]>>1)+1)
			blk := stream[1 : 1+n]
			stream = stream[1+n:]
			for s := int(split%16) + 1; len(blk) > 0; {
				m := min(s, len(blk))
				fl.Feed(fromClient, blk[:m])
				blk = blk[m:]
			}
		}
		fl.Finish()
		if fl.Stats().PlainBytes != uint64(len(col.out[0])+len(col.out[1])) {
			t.Fatalf("plain bytes %d", fl.Stats().PlainBytes)
		}
		if strings.Contains(fl.Reason().String(), "invalid") {
			t.Fatalf("reason %d", fl.Reason())
		}
	})
}

var fuzzSuites = []uint16{0x1301, 0x1302, 0x1303, 0xc02f, 0xc030, 0xcca8}

func fuzzFlow(which byte, key []byte) (*Flow, *collector) {
	id := fuzzSuites[int(which)%len(fuzzSuites)]
	tls13 := id>>8 == 0x13
	store := NewStore(0)
	sec := make([]byte, 48)
	copy(sec, key)
	add := func(l Label, n int) {
		ln := Line{Label: l, SecretLen: uint8(n)}
		copy(ln.ClientRandom[:], fuzzRandom)
		copy(ln.Secret[:], sec[:n])
		ln.Secret[0] ^= byte(l) // distinct secrets per label
		store.Add(&ln)
	}
	hl := 32
	if id == 0x1302 {
		hl = 48
	}
	add(LabelClientRandom, 48)
	for _, l := range []Label{LabelClientHandshake, LabelServerHandshake, LabelClientTraffic0, LabelServerTraffic0} {
		add(l, hl)
	}
	col := &collector{}
	fl := NewFlow(store, col, Config{MaxPending: 4096})
	ch := []byte{3, 3}
	ch = append(ch, fuzzRandom...)
	ch = append(ch, 0, 0, 2, byte(id>>8), byte(id), 1, 0, 0, 0)
	fl.Feed(true, hsRecord(hsClientHello, ch))
	fl.Feed(false, hsRecord(hsServerHello, serverHelloBody(0x0303, id, tls13)))
	if !tls13 {
		fl.Feed(true, []byte{20, 3, 3, 0, 1, 1})
		fl.Feed(false, []byte{20, 3, 3, 0, 1, 1})
	}
	return fl, col
}

// fuzzSeedRecords seals a server flight (EncryptedExtensions with ALPN,
// Finished, application data, KeyUpdate, application data) and a client
// record under the fuzz keys, each record prefixed by its direction byte
// in blocks as FuzzRecords reads them.
func fuzzSeedRecords(which byte, key []byte) []byte {
	fl, _ := fuzzFlow(which, key)
	fl.tryKeys()
	srv, cli := fl.dir[0].hc, fl.dir[1].hc
	var recs [][]byte
	seal := func(hc *halfConn, typ byte, pt []byte) []byte {
		return sealRecord(hc, typ, pt)
	}
	if fl.suite.tls13 {
		// EncryptedExtensions: one extension, ALPN ["h2"].
		ee := []byte{hsEncryptedExtensions, 0, 0, 11, 0, 9, 0, 16, 0, 5, 0, 3, 2, 'h', '2'}
		recs = append(recs, seal(&srv, 22, ee))
		recs = append(recs, seal(&srv, 22, []byte{hsFinished, 0, 0, 1, 0}))
		var sec Secrets
		fl.keys.Lookup(&fl.clientRandom, &sec)
		srv.set13(fl.suite, sec.ServerApp.bytes())
		recs = append(recs, seal(&srv, 23, []byte("HTTP/1.1 200 OK\r\n\r\n")))
		recs = append(recs, seal(&srv, 22, []byte{hsKeyUpdate, 0, 0, 1, 0}))
		srv.keyUpdate()
	}
	recs = append(recs, seal(&srv, 23, []byte("more")))
	recs = append(recs, seal(&cli, 22, []byte{hsFinished, 0, 0, 1, 0}))
	var out []byte
	for i, r := range recs {
		dir := byte(0)
		if i == len(recs)-1 {
			dir = 1
		}
		for len(r) > 0 {
			n := min(100, len(r))
			out = append(out, dir|byte(n-1)<<1)
			out = append(out, r[:n]...)
			r = r[n:]
		}
	}
	return out
}

// The seeds really reach past authentication: decrypting them gives
// plaintext and, for TLS 1.3, the ALPN from EncryptedExtensions.
func TestFuzzSeedsDecrypt(t *testing.T) {
	for i := range fuzzSuites {
		key := bytes.Repeat([]byte{byte(i + 1)}, 48)
		stream := fuzzSeedRecords(byte(i), key)
		fl, col := fuzzFlow(byte(i), key)
		for len(stream) > 0 {
			n := int(stream[0]>>1) + 1
			fl.Feed(stream[0]&1 == 1, stream[1:1+n])
			stream = stream[1+n:]
		}
		fl.Finish()
		if fl.Reason() != ReasonDecrypted || !bytes.HasSuffix(col.out[0], []byte("more")) {
			t.Fatalf("suite %#04x: reason %v stats %+v", fuzzSuites[i], fl.Reason(), fl.Stats())
		}
		if fl.suite.tls13 && (fl.ALPN() != "h2" || fl.Stats().KeyUpdates != 1) {
			t.Fatalf("suite %#04x: alpn %q stats %+v", fuzzSuites[i], fl.ALPN(), fl.Stats())
		}
	}
}
