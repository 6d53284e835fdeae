package tlsdecrypt

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteSeedCorpus writes the committed seed corpus under
// testdata/fuzz when TAPDLP_WRITE_CORPUS=1 (run it after changing the
// seeds): key logs of every shape and records sealed with the fuzz keys.
func TestWriteSeedCorpus(t *testing.T) {
	if os.Getenv("TAPDLP_WRITE_CORPUS") != "1" {
		t.Skip("set TAPDLP_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	write := func(target, name, body string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logs := map[string]string{
		"tls12":      "CLIENT_RANDOM " + rnd1 + " " + s48 + "\n",
		"tls13-crlf": "# SSL/TLS secrets log file\r\nCLIENT_HANDSHAKE_TRAFFIC_SECRET " + rnd1 + " " + s32 + "\r\nSERVER_HANDSHAKE_TRAFFIC_SECRET " + rnd1 + " " + s32 + "\r\nCLIENT_TRAFFIC_SECRET_0 " + rnd1 + " " + s32 + "\r\nSERVER_TRAFFIC_SECRET_0 " + rnd1 + " " + s32 + "\r\nEXPORTER_SECRET " + rnd1 + " " + s32 + "\r\n",
		"early-384":  "CLIENT_EARLY_TRAFFIC_SECRET " + rnd2 + " " + s48 + "\nEARLY_EXPORTER_SECRET " + rnd2 + " " + s48,
		"bad-lines":  "RSA 0011223344556677 " + s48 + "\nCLIENT_RANDOM zz " + s48 + "\n\tCLIENT_RANDOM " + rnd1 + "\n",
		"long-line":  "CLIENT_RANDOM " + rnd1 + " " + string(bytes.Repeat([]byte("ab"), 700)) + "\n" + "CLIENT_RANDOM " + rnd2 + " " + s48 + "\n",
	}
	for name, l := range logs {
		write("FuzzKeyLog", name, fmt.Sprintf("[]byte(%q)\n", l))
	}
	for i, id := range fuzzSuites {
		key := bytes.Repeat([]byte{byte(i + 1)}, 48)
		write("FuzzRecords", fmt.Sprintf("suite-%04x", id), fmt.Sprintf("byte(%d)\n[]byte(%q)\n[]byte(%q)\nuint8(%d)\n", i, key, fuzzSeedRecords(byte(i), key), 3))
	}
}
