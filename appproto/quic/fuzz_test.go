package quic

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the seed corpus under testdata/fuzz")

// seedDatagrams are client datagrams from the QUIC captures.
func seedDatagrams(t testing.TB) [][]byte {
	var out [][]byte
	for _, name := range []string{"ja4_quic-tls-handshake.pcapng", "ndpi_quic-v2.pcapng", "sv_quic-frag-unordered.pcap", "arkime_quicietf.pcap"} {
		for _, f := range udpFlows(t, name) {
			out = append(out, f.datagrams[:min(len(f.datagrams), 2)]...)
		}
	}
	return out
}

// TestUpdateFuzzCorpus regenerates testdata/fuzz/FuzzQUICInitial (-update).
func TestUpdateFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzQUICInitial")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	frames := cryptoFrame(0, testHello())
	for _, d := range seedDatagrams(t) {
		sum := sha256.Sum256(d)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n[]byte(%s)\n", strconv.Quote(string(d)), strconv.Quote(string(frames)))
		if err := os.WriteFile(filepath.Join(dir, hex.EncodeToString(sum[:8])), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzQUICInitial feeds a raw datagram (exercising header parsing and
// decryption failure paths) and, because random bytes never authenticate,
// also a valid Initial built around fuzzed plaintext frames (exercising the
// frame walk, CRYPTO reassembly and the ClientHello parser).
func FuzzQUICInitial(f *testing.F) {
	frames := cryptoFrame(0, testHello())
	for _, d := range seedDatagrams(f) {
		f.Add(d, frames)
	}
	f.Add(readHex(f, "rfc9001_a2_client_initial.hex"), []byte{0x02, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, datagram, plain []byte) {
		var c Conn
		c.Feed(datagram)
		c.Feed(datagram)
		checkConn(t, &c)
		if len(plain) > 1100 {
			plain = plain[:1100]
		}
		c.Reset()
		c.Feed(protect(t, Version1, testDCID, 0, plain))
		c.Feed(protect(t, Version1, testDCID, 1, plain))
		checkConn(t, &c)
	})
}

func checkConn(t *testing.T, c *Conn) {
	if len(c.crypto) > DefaultMaxCrypto || len(c.ranges) > maxRanges || c.Stats.Initials > DefaultMaxPackets {
		t.Fatalf("bounds exceeded: crypto %d ranges %d initials %d", len(c.crypto), len(c.ranges), c.Stats.Initials)
	}
	if c.Status() == Done && len(c.JA4()) != 36 {
		t.Fatalf("done without a JA4: %q", c.JA4())
	}
	if c.Status() != Done && c.JA4() != "" {
		t.Fatal("JA4 before done")
	}
}
