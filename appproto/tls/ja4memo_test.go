package tls

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

func parseHello(t testing.TB, hb helloBuilder) *ClientHello {
	t.Helper()
	h := new(ClientHello)
	if err := h.ParseHandshake(hb.handshake()); err != nil {
		t.Fatal(err)
	}
	return h
}

// memoHellos are hellos of every shape the memo must tell apart: the
// captures' clients, FoxIO's example, and variants of it that change one
// input of JA4 each (or, for extension order and GREASE values, none).
func memoHellos(t *testing.T) []*ClientHello {
	var hs []*ClientHello
	for _, s := range seedStreams(t) {
		var p Parser
		if p.Feed(s); p.Status() == Done && !p.IsServer {
			h := p.Hello
			hs = append(hs, &h)
		}
	}
	if len(hs) < 3 {
		t.Fatalf("%d hellos from the captures", len(hs))
	}
	base := foxioHello()
	hs = append(hs, parseHello(t, base))
	// Chrome shuffles its extensions and picks new GREASE values per
	// connection: the same JA4, so the same key.
	shuffled := base
	shuffled.exts = append([][]byte(nil), base.exts...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled.exts), func(i, j int) {
		shuffled.exts[i], shuffled.exts[j] = shuffled.exts[j], shuffled.exts[i]
	})
	shuffled.suites = append([]uint16{0x5a5a}, base.suites[1:]...)
	hs = append(hs, parseHello(t, shuffled))
	variants := []func(*helloBuilder){
		func(hb *helloBuilder) { hb.suites = hb.suites[:len(hb.suites)-1] },                              // one cipher fewer
		func(hb *helloBuilder) { hb.suites = append(hb.suites[:len(hb.suites):len(hb.suites)], 0x00ff) }, // one more
		func(hb *helloBuilder) { hb.exts = hb.exts[1:] },                                                 // drop GREASE ext: same JA4
		func(hb *helloBuilder) { hb.exts = append(hb.exts[:2:2], hb.exts[3:]...) },                       // no SNI
		func(hb *helloBuilder) { hb.exts = append(hb.exts[:4:4], hb.exts[5:]...) },                       // no ALPN
		func(hb *helloBuilder) { // another ALPN
			hb.exts = append(append(append([][]byte(nil), hb.exts[:4]...), alpnExt("http/1.1")), hb.exts[5:]...)
		},
		func(hb *helloBuilder) { // signature algorithms in another order
			hb.exts = append(append(append([][]byte(nil), hb.exts[:8]...),
				ext(ExtSignatureAlgorithms, u16list(2, 0x0804, 0x0403, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601))), hb.exts[9:]...)
		},
		func(hb *helloBuilder) { hb.version = 0x0301; hb.exts = append(hb.exts[:12:12], hb.exts[13:]...) }, // TLS 1.0, no supported_versions
	}
	for _, v := range variants {
		hb := base
		hb.suites = append([]uint16(nil), base.suites...)
		hb.exts = append([][]byte(nil), base.exts...)
		v(&hb)
		hs = append(hs, parseHello(t, hb))
	}
	return hs
}

// The memo returns what AppendJA4 computes, on a miss and on a hit, for
// both transports.
func TestJA4Memo(t *testing.T) {
	hs := memoHellos(t)
	var evicted atomic.Uint64
	var m JA4Memo
	m.Init(&evicted)
	seen := map[string]bool{}
	for round := 0; round < 3; round++ {
		for i, h := range hs {
			for _, tr := range []byte{TransportTCP, TransportQUIC} {
				want := h.JA4(tr)
				if got := m.JA4(h, tr); got != want {
					t.Errorf("round %d hello %d %c: memo %s, want %s", round, i, tr, got, want)
				}
				seen[want] = true
			}
		}
	}
	// The shuffled hello and the one without a GREASE extension spell
	// FoxIO's fingerprint; every other variant one of its own.
	nv := 10
	base := hs[len(hs)-nv].JA4(TransportTCP)
	for i, h := range hs[len(hs)-nv:] {
		if same := h.JA4(TransportTCP) == base; same != (i == 0 || i == 1 || i == 4) {
			t.Errorf("variant %d: %s, base %s", i, h.JA4(TransportTCP), base)
		}
	}
	if len(seen) < 2*(nv-2) {
		t.Errorf("%d distinct fingerprints", len(seen))
	}
	var z JA4Memo // a zero memo seeds itself
	if got, want := z.JA4(hs[0], TransportTCP), hs[0].JA4(TransportTCP); got != want {
		t.Errorf("zero memo: %s, want %s", got, want)
	}
}

// More fingerprints than slots: each still comes out right, replaced
// entries are counted, and a hit allocates nothing.
func TestJA4MemoEvictions(t *testing.T) {
	var evicted atomic.Uint64
	var m JA4Memo
	m.Init(&evicted)
	const n = 4 * ja4MemoSlots
	hs := make([]*ClientHello, n)
	for i := range hs {
		hb := foxioHello()
		hb.suites = append(hb.suites[:len(hb.suites):len(hb.suites)], uint16(0x0100+i))
		hs[i] = parseHello(t, hb)
	}
	for round := 0; round < 2; round++ {
		for i, h := range hs {
			if got, want := m.JA4(h, TransportTCP), h.JA4(TransportTCP); got != want {
				t.Fatalf("hello %d: memo %s, want %s", i, got, want)
			}
		}
	}
	if e := evicted.Load(); e < n || e >= 2*n {
		t.Errorf("%d evictions for %d lookups of %d fingerprints in %d slots", e, 2*n, n, ja4MemoSlots)
	}
	h := hs[0]
	m.JA4(h, TransportTCP)
	if a := testing.AllocsPerRun(100, func() { m.JA4(h, TransportTCP) }); a != 0 {
		t.Errorf("%.0f allocations per remembered fingerprint, want 0", a)
	}
}

// A hello whose lists are longer than a key may be is computed, not kept.
func TestJA4MemoLongHello(t *testing.T) {
	hb := foxioHello()
	for i := 0; i < 300; i++ {
		hb.suites = append(hb.suites, uint16(0x0200+i))
	}
	h := parseHello(t, hb)
	var m JA4Memo
	for range 2 {
		if got, want := m.JA4(h, TransportTCP), h.JA4(TransportTCP); got != want {
			t.Fatalf("memo %s, want %s", got, want)
		}
	}
	for i := range m.slots {
		if m.slots[i].key != nil {
			t.Fatalf("slot %d keeps a %d-byte key", i, len(m.slots[i].key))
		}
	}
}
