package quic

import (
	"bufio"
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readHex loads a testdata .hex file: hex digits, '#' comment lines ignored.
func readHex(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var s strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); !strings.HasPrefix(line, "#") {
			s.WriteString(line)
		}
	}
	b, err := hex.DecodeString(s.String())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

var rfcDCID = mustHex("8394c8f03e515708")

// TestClientInitialKeys checks key derivation against RFC 9001 A.1 and
// RFC 9369 A.1.
func TestClientInitialKeys(t *testing.T) {
	tests := []struct {
		name        string
		version     uint32
		key, iv, hp string
	}{
		{"RFC 9001 A.1", Version1, "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"},
		{"RFC 9369 A.1", Version2, "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"},
	}
	for _, tc := range tests {
		k, err := ClientInitialKeys(tc.version, rfcDCID)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(k.Key[:]) != tc.key || hex.EncodeToString(k.IV[:]) != tc.iv || hex.EncodeToString(k.HP[:]) != tc.hp {
			t.Errorf("%s: key %x iv %x hp %x", tc.name, k.Key, k.IV, k.HP)
		}
	}
	if _, err := ClientInitialKeys(0xff00001d, rfcDCID); err != ErrUnsupportedVersion {
		t.Errorf("draft-29: err %v", err)
	}
}

// TestDecryptRFCInitial removes protection from the RFC sample packets and
// compares header and payload with the published plaintext.
func TestDecryptRFCInitial(t *testing.T) {
	frame := readHex(t, "rfc_a2_crypto_frame.hex")
	tests := []struct {
		name, file string
		version    uint32
		header     string
	}{
		{"RFC 9001 A.2", "rfc9001_a2_client_initial.hex", Version1, "c300000001088394c8f03e5157080000449e00000002"},
		{"RFC 9369 A.2", "rfc9369_a2_client_initial.hex", Version2, "d36b3343cf088394c8f03e5157080000449e00000002"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkt := readHex(t, tc.file)
			if len(pkt) != 1200 {
				t.Fatalf("sample is %d bytes", len(pkt))
			}
			h, err := parseLong(pkt)
			if err != nil || h.typ != typeInitial || h.version != tc.version {
				t.Fatalf("header %+v err %v", h, err)
			}
			k, _ := ClientInitialKeys(tc.version, h.dcid)
			o, err := newOpener(k)
			if err != nil {
				t.Fatal(err)
			}
			buf := append([]byte(nil), pkt...)
			payload, pn, err := o.open(buf, h, -1)
			if err != nil {
				t.Fatal(err)
			}
			if pn != 2 || !bytes.Equal(buf[:22], mustHex(tc.header)) {
				t.Errorf("pn %d header %x", pn, buf[:22])
			}
			if len(payload) != 1162 || !bytes.Equal(payload[:len(frame)], frame) || bytes.ContainsFunc(payload[len(frame):], func(r rune) bool { return r != 0 }) {
				t.Errorf("payload differs from the published CRYPTO frame + PADDING")
			}

			var c Conn
			if !c.Feed(pkt) || c.Status() != Done {
				t.Fatalf("Conn status %v, stats %+v", c.Status(), c.Stats)
			}
			if c.Hello.SNI() != "example.com" || c.Version != tc.version || c.JA4()[0] != 'q' {
				t.Errorf("SNI %q version %x JA4 %s", c.Hello.SNI(), c.Version, c.JA4())
			}
			if !bytes.Equal(pkt, readHex(t, tc.file)) {
				t.Error("Feed modified the caller's datagram")
			}
		})
	}
}

func TestTamperedInitialFails(t *testing.T) {
	pkt := readHex(t, "rfc9001_a2_client_initial.hex")
	pkt[600] ^= 1
	var c Conn
	if c.Feed(pkt) || c.Stats.DecryptFailed != 1 {
		t.Fatalf("status %v stats %+v", c.Status(), c.Stats)
	}
}

// Key derivation on a Conn's kept state allocates nothing, and agrees with
// the standard library's HKDF (crypto/hkdf) for DCIDs of every length.
func TestKeyDerivationWithoutAllocations(t *testing.T) {
	var k kdf
	dcid := append([]byte(nil), rfcDCID...)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := k.clientInitialKeys(Version1, dcid); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%.0f allocations per derivation, want 0", n)
	}
	for n := 0; n <= 20; n++ {
		id := make([]byte, n)
		for i := range id {
			id[i] = byte(7*i + n)
		}
		for _, v := range []uint32{Version1, Version2} {
			got, err := k.clientInitialKeys(v, id)
			if err != nil {
				t.Fatal(err)
			}
			if want := stdlibInitialKeys(t, v, id); got != want {
				t.Errorf("dcid %x version %x: %x, want %x", id, v, got, want)
			}
		}
	}
}

// stdlibInitialKeys is RFC 9001 5.2 over crypto/hkdf, the oracle.
func stdlibInitialKeys(t *testing.T, version uint32, dcid []byte) Keys {
	salt, keyL, ivL, hpL := saltV1, "quic key", "quic iv", "quic hp"
	if version == Version2 {
		salt, keyL, ivL, hpL = saltV2, "quicv2 key", "quicv2 iv", "quicv2 hp"
	}
	expand := func(secret []byte, label string, n int) []byte {
		full := "tls13 " + label
		info := append([]byte{byte(n >> 8), byte(n), byte(len(full))}, full...)
		info = append(info, 0)
		out, err := hkdf.Expand(sha256.New, secret, string(info), n)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	prk, err := hkdf.Extract(sha256.New, dcid, salt)
	if err != nil {
		t.Fatal(err)
	}
	client := expand(prk, "client in", sha256.Size)
	var k Keys
	copy(k.Key[:], expand(client, keyL, 16))
	copy(k.IV[:], expand(client, ivL, 12))
	copy(k.HP[:], expand(client, hpL, 16))
	return k
}

// Opening an Initial with the connection's keys allocates nothing: the
// header-protection mask and the nonce live in the opener (as locals they
// escaped through the cipher interfaces, two allocations per packet).
func TestOpenWithoutAllocations(t *testing.T) {
	pkt := readHex(t, "rfc9001_a2_client_initial.hex")
	var c Conn
	if !c.Feed(pkt) || c.Status() != Done {
		t.Fatalf("status %v", c.Status())
	}
	h, err := parseLong(pkt)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(pkt))
	if n := testing.AllocsPerRun(100, func() {
		copy(buf, pkt)
		if _, pn, err := c.open.open(buf, h, -1); err != nil || pn != 2 {
			t.Fatalf("pn %d, %v", pn, err)
		}
	}); n != 0 {
		t.Errorf("%.0f allocations per opened packet, want 0", n)
	}
}
