package tls

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tapdlp/tapdlp/internal/pcaptest"
)

// seedStreams returns the client byte streams of the TLS captures.
func seedStreams(t testing.TB) [][]byte {
	var out [][]byte
	for _, name := range []string{"arkime_tls-split-client-hello.pcap", "arkime_tls13.pcap", "ndpi_tls_2_reasms.pcapng", "ja4_tls-non-ascii-alpn.pcapng"} {
		for _, s := range clientStreams(t, name) {
			if b := pcaptest.Bytes(s.ClientChunks); len(b) > 0 {
				out = append(out, b[:min(len(b), 4096)])
			}
		}
	}
	return out
}

// TestUpdateFuzzCorpus regenerates testdata/fuzz/FuzzClientHello (-update).
func TestUpdateFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzClientHello")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seedStreams(t) {
		sum := sha256.Sum256(s)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nuint16(%d)\n", strconv.Quote(string(s)), 1+i*37)
		if err := os.WriteFile(filepath.Join(dir, hex.EncodeToString(sum[:8])), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fuzzMemo is FuzzClientHello's JA4 memo, shared by the inputs one fuzz
// process runs (one at a time).
var fuzzMemo JA4Memo

// FuzzClientHello feeds a stream in chunks of a fuzzed size and checks that
// the verdict and every extracted fact are independent of the chunking.
func FuzzClientHello(f *testing.F) {
	for _, s := range seedStreams(f) {
		f.Add(s, uint16(3))
	}
	f.Add(records(foxioHello().handshake(), 77), uint16(1))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint16) {
		size := int(chunk%2048) + 1
		var whole, parts Parser
		whole.Feed(stream)
		for off := 0; off < len(stream) && !parts.Feed(stream[off:min(off+size, len(stream))]); off += size {
		}
		if whole.Status() != parts.Status() {
			t.Fatalf("status %v whole, %v chunked", whole.Status(), parts.Status())
		}
		if whole.Status() != Done || whole.IsServer {
			return
		}
		h := &parts.Hello
		if h.JA4Raw(TransportTCP) != whole.Hello.JA4Raw(TransportTCP) || h.SNI() != whole.Hello.SNI() {
			t.Fatal("facts depend on chunking")
		}
		// The memo (kept across inputs, so hits and evictions happen)
		// spells what AppendJA4 does.
		for _, tr := range []byte{TransportTCP, TransportQUIC} {
			if got, want := fuzzMemo.JA4(h, tr), h.JA4(tr); got != want {
				t.Fatalf("memo %s, want %s", got, want)
			}
		}
		if len(h.JA4(TransportTCP)) != 36 || len(h.SNI()) > 253 || len(h.ALPN) > MaxALPN {
			t.Fatalf("bad output: %q %q", h.JA4(TransportTCP), h.SNI())
		}
		for _, c := range []byte(h.SNI()) {
			if c < '-' || c > 'z' {
				t.Fatalf("SNI byte %q passed validation", c)
			}
		}
	})
}
