package tlsdecrypt

import (
	"bytes"
	"crypto/tls"
	"sync"
	"testing"
)

var (
	sampleMu   sync.Mutex
	sampleRecs = map[string]*recorder{}
)

// sample returns a recorded real exchange (cached per name).
func sample(t *testing.T, tc exchangeCase) *recorder {
	sampleMu.Lock()
	defer sampleMu.Unlock()
	if r, ok := sampleRecs[tc.name]; ok {
		return r
	}
	if tc.requests == nil {
		tc.requests = []string{bodyOf(500), bodyOf(20000)}
	}
	r, _ := runExchange(t, tc)
	sampleRecs[tc.name] = r
	return r
}

var (
	sample13 = exchangeCase{name: "s13", max: tls.VersionTLS13, suite13: tls.TLS_AES_128_GCM_SHA256, wantID: 0x1301}
	sample12 = exchangeCase{name: "s12", max: tls.VersionTLS12, suite12: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, wantID: 0xc02b}
)

func TestLateKey(t *testing.T) {
	budgeted := 0
	for _, tc := range []exchangeCase{sample13, sample12} {
		rec := sample(t, tc)
		want, _ := decryptChunks(storeOf(rec), rec.chunks, 0)
		wantPlain := want.Stats().PlainBytes

		// The key arrives after the whole flow was seen: Poll decrypts the buffer.
		store := NewStore(0)
		col := &collector{}
		f := NewFlow(store, col, Config{})
		for _, c := range rec.chunks {
			f.Feed(c.fromClient, c.data)
		}
		if f.Reason() != ReasonNoKey || f.Stats().PendingBytes == 0 || f.Stats().PlainBytes != 0 {
			t.Fatalf("%s before key: reason %v stats %+v", tc.name, f.Reason(), f.Stats())
		}
		store.AddKeyLog(rec.keylog.Bytes())
		f.Poll()
		f.Finish()
		if f.Reason() != ReasonDecrypted || f.Stats().PlainBytes != wantPlain {
			t.Fatalf("%s after key: reason %v stats %+v, want %d plain bytes", tc.name, f.Reason(), f.Stats(), wantPlain)
		}
		if !bytes.Contains(col.out[1], []byte(testCard)) {
			t.Fatalf("%s: test card not in decrypted request", tc.name)
		}

		// The key arrives mid-flow: the next Feed notices the new generation.
		store = NewStore(0)
		col = &collector{}
		f = NewFlow(store, col, Config{})
		for i, c := range rec.chunks {
			if i == len(rec.chunks)/2 {
				store.AddKeyLog(rec.keylog.Bytes())
			}
			f.Feed(c.fromClient, c.data)
		}
		f.Finish()
		if f.Reason() != ReasonDecrypted || f.Stats().PlainBytes != wantPlain {
			t.Fatalf("%s mid-flow key: reason %v stats %+v", tc.name, f.Reason(), f.Stats())
		}

		// Never: counted at Finish.
		f = NewFlow(NewStore(0), col, Config{})
		for _, c := range rec.chunks {
			f.Feed(c.fromClient, c.data)
		}
		f.Finish()
		if f.Reason() != ReasonNoKey || f.Stats().NoKeyBytes == 0 || f.Stats().NoKeyBytes != f.Stats().PendingBytes {
			t.Fatalf("%s no key: reason %v stats %+v", tc.name, f.Reason(), f.Stats())
		}

		// Pending overflow: the start decrypts, the flow is truncated.
		store = NewStore(0)
		col = &collector{}
		f = NewFlow(store, col, Config{MaxPending: 8 << 10})
		for _, c := range rec.chunks {
			f.Feed(c.fromClient, c.data)
		}
		store.AddKeyLog(rec.keylog.Bytes())
		f.Finish()
		if f.Reason() != ReasonTruncated || f.Stats().PendingDropped == 0 || f.Stats().Decrypted == 0 {
			t.Fatalf("%s overflow: reason %v stats %+v", tc.name, f.Reason(), f.Stats())
		}

		// A shared budget bounds the waiting bytes of all flows together:
		// the first flow fills most of it, the second overflows it and ends
		// truncated; once both are finished nothing stays reserved.
		first := NewFlow(NewStore(0), &collector{}, Config{})
		for _, c := range rec.chunks {
			first.Feed(c.fromClient, c.data)
		}
		need := int64(first.Stats().PendingBytes)
		first.Finish()
		if need == 0 {
			continue // nothing waits for a key in this exchange
		}
		budget := NewPendingBudget(need + need/2)
		store = NewStore(0)
		a := NewFlow(store, &collector{}, Config{Budget: budget})
		b := NewFlow(store, &collector{}, Config{Budget: budget})
		for _, c := range rec.chunks {
			a.Feed(c.fromClient, c.data)
		}
		for _, c := range rec.chunks {
			b.Feed(c.fromClient, c.data)
		}
		if budget.Used() > need+need/2 || budget.Dropped() == 0 {
			t.Fatalf("%s budget: used %d of %d, dropped %d", tc.name, budget.Used(), need+need/2, budget.Dropped())
		}
		store.AddKeyLog(rec.keylog.Bytes())
		a.Finish()
		b.Finish()
		if a.Reason() != ReasonDecrypted || b.Reason() != ReasonTruncated {
			t.Errorf("%s budget: reasons %v and %v, want decrypted and truncated", tc.name, a.Reason(), b.Reason())
		}
		if budget.Used() != 0 {
			t.Errorf("%s budget: %d bytes still reserved after both flows finished", tc.name, budget.Used())
		}
		budgeted++
	}
	if budgeted == 0 {
		t.Error("no exchange exercised the shared budget")
	}
}

func storeOf(rec *recorder) *Store {
	s := NewStore(0)
	s.AddKeyLog(rec.keylog.Bytes())
	return s
}

// corrupt returns chunks with one byte of the n-th encrypted client record
// flipped.
func corrupt(chunks []chunk, fromClient bool, nth int) []chunk {
	var out []chunk
	for _, c := range chunks {
		out = append(out, chunk{c.fromClient, bytes.Clone(c.data)})
	}
	// Walk records of the chosen direction across chunks.
	seen := 0
	var hdr []byte
	need := -1
	for i := range out {
		if out[i].fromClient != fromClient {
			continue
		}
		for j := 0; j < len(out[i].data); {
			if need < 0 {
				hdr = append(hdr, out[i].data[j])
				j++
				if len(hdr) == 5 {
					need = int(hdr[3])<<8 | int(hdr[4])
					if hdr[0] == 23 {
						seen++
					}
				}
				continue
			}
			n := min(need, len(out[i].data)-j)
			if hdr[0] == 23 && seen == nth && n > 0 {
				out[i].data[j] ^= 0x40
				return out
			}
			j += n
			need -= n
			if need == 0 {
				need, hdr = -1, hdr[:0]
			}
		}
	}
	return out
}

func TestAuthFailure(t *testing.T) {
	for _, tc := range []exchangeCase{sample13, sample12} {
		rec := sample(t, tc)
		store := storeOf(rec)
		for _, nth := range []int{1, 2, 3} {
			f, col := decryptChunks(store, corrupt(rec.chunks, true, nth), 0)
			if f.Reason() != ReasonAuthFailed || f.Stats().AuthFailures != 1 {
				t.Fatalf("%s record %d: reason %v stats %+v", tc.name, nth, f.Reason(), f.Stats())
			}
			if len(col.out[0]) == 0 {
				t.Fatalf("%s %d: the server direction should still decrypt: %+v", tc.name, nth, f.Stats())
			}
		}
		// A key log for another connection: no key, nothing decrypted.
		other := sample(t, exchangeCase{name: tc.name + "-other", max: tc.max, suite12: tc.suite12, suite13: tc.suite13, wantID: tc.wantID})
		f, _ := decryptChunks(storeOf(other), rec.chunks, 0)
		if f.Reason() != ReasonNoKey || f.Stats().Decrypted != 0 {
			t.Fatalf("%s other key log: reason %v", tc.name, f.Reason())
		}
	}
}

// A wrong secret for the right random is an authentication failure.
func TestWrongSecret(t *testing.T) {
	rec := sample(t, sample13)
	store := NewStore(0)
	p := LineParser{Emit: func(l *Line) {
		if l.Label == LabelServerHandshake {
			l.Secret[0] ^= 1
		}
		store.Add(l)
	}}
	p.Write(rec.keylog.Bytes())
	f, col := decryptChunks(store, rec.chunks, 0)
	if f.Reason() != ReasonAuthFailed || len(col.out[0]) != 0 {
		t.Fatalf("reason %v stats %+v", f.Reason(), f.Stats())
	}
}

func TestGapTruncates(t *testing.T) {
	rec := sample(t, sample13)
	col := &collector{}
	f := NewFlow(storeOf(rec), col, Config{})
	for i, c := range rec.chunks {
		if i == len(rec.chunks)-3 {
			f.Gap(true)
		}
		f.Feed(c.fromClient, c.data)
	}
	f.Finish()
	if f.Reason() != ReasonTruncated {
		t.Fatalf("reason %v", f.Reason())
	}
}

// hello builds a handshake record with one message.
func hsRecord(typ byte, body []byte) []byte {
	msg := append([]byte{typ, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{22, 3, 3, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

func serverHelloBody(version, suiteID uint16, tls13 bool) []byte {
	b := []byte{byte(version >> 8), byte(version)}
	b = append(b, make([]byte, 32)...)
	b = append(b, 0, byte(suiteID>>8), byte(suiteID), 0)
	if tls13 {
		b = append(b, 0, 6, 0, 43, 0, 2, 3, 4)
	}
	return b
}

func clientHelloBody() []byte {
	b := []byte{3, 3}
	b = append(b, bytes.Repeat([]byte{7}, 32)...)
	b = append(b, 0, 0, 2, 0x13, 1, 1, 0, 0, 0)
	return b
}

func TestUnsupported(t *testing.T) {
	for _, tt := range []struct {
		name string
		sh   []byte
		want Reason
	}{
		{"cbc suite tls12", serverHelloBody(0x0303, 0xc013, false), ReasonUnsupportedSuite},
		{"ccm suite tls13", serverHelloBody(0x0303, 0x1304, true), ReasonUnsupportedSuite},
		{"tls 1.1", serverHelloBody(0x0302, 0xc013, false), ReasonUnsupportedVersion},
		{"short server hello", []byte{3, 3, 1}, ReasonMalformed},
	} {
		f := NewFlow(NewStore(0), &collector{}, Config{})
		f.Feed(true, hsRecord(1, clientHelloBody()))
		f.Feed(false, hsRecord(2, tt.sh))
		f.Feed(false, []byte{23, 3, 3, 0, 20})
		f.Feed(false, make([]byte, 20))
		f.Finish()
		if f.Reason() != tt.want || f.Stats().PendingBytes != 0 {
			t.Errorf("%s: reason %v, want %v (stats %+v)", tt.name, f.Reason(), tt.want, f.Stats())
		}
	}
	// Not TLS at all.
	f := NewFlow(NewStore(0), &collector{}, Config{})
	f.Feed(true, []byte("GET / HTTP/1.1\r\n\r\n"))
	if f.Reason() != ReasonMalformed {
		t.Errorf("plain HTTP: reason %v", f.Reason())
	}
}

func TestSteadyStateAllocs(t *testing.T) {
	for _, tc := range []exchangeCase{sample13, sample12} {
		rec := sample(t, tc)
		store := storeOf(rec)
		col := &discard{}
		f := NewFlow(store, col, Config{Scratch: &Scratch{}})
		// Handshake and the first requests: buffers and ciphers are built.
		for _, c := range rec.chunks {
			f.Feed(c.fromClient, c.data)
		}
		// Steady state: more records of the same direction.
		s := f.suite
		var hc halfConn
		if s.tls13 {
			var sec Secrets
			store.Lookup(&f.clientRandom, &sec)
			hc.set13(s, sec.ServerApp.bytes())
		} else {
			var cl halfConn
			var sec Secrets
			store.Lookup(&f.clientRandom, &sec)
			keys12(s, sec.Master.bytes(), &f.clientRandom, &f.serverRandom, &cl, &hc)
		}
		hc.seq = f.dir[0].hc.seq
		recs := make([][]byte, 200)
		for i := range recs {
			recs[i] = sealRecord(&hc, 23, bytes.Repeat([]byte{'a'}, 4000))
		}
		i := 0
		allocs := testing.AllocsPerRun(100, func() {
			r := recs[i]
			i++
			f.Feed(false, r[:100])
			f.Feed(false, r[100:])
		})
		if allocs != 0 || f.Reason() != ReasonDecrypted {
			t.Fatalf("%s: %v allocations per record (reason %v)", tc.name, allocs, f.Reason())
		}
	}
}

type discard struct{ n int }

func (d *discard) Plaintext(_ bool, b []byte) { d.n += len(b) }

// sealRecord encrypts an application data record (test helper, the inverse
// of open).
func sealRecord(hc *halfConn, typ byte, pt []byte) []byte {
	if hc.s.tls13 {
		return hc.seal13(append(bytes.Clone(pt), typ))
	}
	hdr := []byte{typ, 3, 3, 0, 0}
	var body []byte
	ad := hc.ad12(typ, 0x0303, len(pt))
	if hc.s.kind == aesGCM {
		explicit := make([]byte, 8)
		explicit[7] = byte(hc.seq)
		explicit[6] = byte(hc.seq >> 8)
		copy(hc.nonce[:4], hc.iv[:4])
		copy(hc.nonce[4:], explicit)
		body = append(explicit, hc.aead.Seal(nil, hc.nonce[:], pt, ad)...)
	} else {
		hc.nonce = hc.iv
		xorSeq(&hc.nonce, hc.seq)
		body = hc.aead.Seal(nil, hc.nonce[:], pt, ad)
	}
	hc.seq++
	hdr[3], hdr[4] = byte(len(body)>>8), byte(len(body))
	return append(hdr, body...)
}

// Every suite decrypts without allocating once its flow is set up.
func TestSteadyStateAllocsAllSuites(t *testing.T) {
	for i, id := range fuzzSuites {
		fl, _ := fuzzFlow(byte(i), bytes.Repeat([]byte{byte(i + 1)}, 48))
		fl.h = &discard{}
		fl.cfg.Scratch = &Scratch{}
		fl.tryKeys()
		hc := fl.dir[0].hc
		recs := make([][]byte, 60)
		for j := range recs {
			recs[j] = sealRecord(&hc, 23, bytes.Repeat([]byte{'b'}, 3000))
		}
		fl.Feed(false, recs[0]) // first record: buffers are built
		j := 1
		allocs := testing.AllocsPerRun(50, func() {
			fl.Feed(false, recs[j][:7])
			fl.Feed(false, recs[j][7:])
			j++
		})
		if allocs != 0 || fl.Reason() != ReasonDecrypted {
			t.Fatalf("suite %#04x: %v allocations per record, reason %v", id, allocs, fl.Reason())
		}
	}
}
