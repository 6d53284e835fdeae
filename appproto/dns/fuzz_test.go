package dns

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// seedPayloads returns the DNS messages of all replayed captures.
func seedPayloads(t testing.TB) [][]byte {
	var out [][]byte
	for _, name := range dnsCaptures {
		for _, c := range messages(t, name) {
			out = append(out, c.payload)
		}
	}
	return out
}

// writeCorpus stores one seed per file in the native fuzzing format.
func writeCorpus(t *testing.T, target string, seeds [][]byte, extra string) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range seeds {
		sum := sha256.Sum256(s)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n%s", strconv.Quote(string(s)), extra)
		if err := os.WriteFile(filepath.Join(dir, hex.EncodeToString(sum[:8])), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUpdateFuzzCorpus regenerates testdata/fuzz from the captures (-update).
func TestUpdateFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate the seed corpus")
	}
	seeds := seedPayloads(t)
	writeCorpus(t, "FuzzDNS", seeds, "")
	var framed [][]byte
	for _, s := range seeds[:min(len(seeds), 8)] {
		framed = append(framed, append([]byte{byte(len(s) >> 8), byte(len(s))}, s...))
	}
	writeCorpus(t, "FuzzDNSTCP", framed, "uint8(7)\n")
}

// checkInvariants asserts what must hold for any input that parsed.
func checkInvariants(t *testing.T, m *Message, b []byte) {
	if m.NumAddrs() > MaxRRs || m.ChainLen() > MaxChain {
		t.Fatalf("bounds exceeded: addrs %d chain %d", m.NumAddrs(), m.ChainLen())
	}
	if len(m.QName()) > MaxNameLen {
		t.Fatalf("qname of %d bytes", len(m.QName()))
	}
	for _, a := range m.AppendAnswers(nil) {
		if !a.Addr.IsValid() || a.Name != string(m.QName()) {
			t.Fatalf("bad answer %+v", a)
		}
	}
	if LooksLikeDNS(b) && m.QDCount != 1 {
		t.Fatalf("LooksLikeDNS accepted qdcount %d", m.QDCount)
	}
}

func FuzzDNS(f *testing.F) {
	for _, s := range seedPayloads(f) {
		f.Add(s)
	}
	m := new(Message)
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := m.Parse(b); err != nil {
			if LooksLikeDNS(b) {
				t.Fatalf("LooksLikeDNS accepted a message Parse rejects: %v", err)
			}
			return
		}
		checkInvariants(t, m, b)
	})
}

func FuzzDNSTCP(f *testing.F) {
	for _, s := range seedPayloads(f)[:8] {
		f.Add(append([]byte{byte(len(s) >> 8), byte(len(s))}, s...), uint8(7))
	}
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		size := int(chunk%64) + 1
		// Reference: frame the whole stream at once.
		var whole TCPFramer
		var want [][]byte
		whole.Feed(stream)
		for msg, ok := whole.Next(); ok; msg, ok = whole.Next() {
			want = append(want, msg)
		}
		var f TCPFramer
		var m Message
		i := 0
		for off := 0; off < len(stream); off += size {
			f.Feed(stream[off:min(off+size, len(stream))])
			for msg, ok := f.Next(); ok; msg, ok = f.Next() {
				if i >= len(want) || string(msg) != string(want[i]) {
					t.Fatalf("chunked framing diverged at message %d", i)
				}
				i++
				if m.Parse(msg) == nil {
					checkInvariants(t, &m, msg)
				}
			}
		}
		if i != len(want) {
			t.Fatalf("chunked framing returned %d messages, whole %d", i, len(want))
		}
	})
}
