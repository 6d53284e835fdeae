package tlsdecrypt

import (
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

// crypto/tls never starts a KeyUpdate on its own, but it answers one that
// asks for an update (update_requested) with its own KeyUpdate. The proxy
// below sits between a Go client and a Go server, holds the client's
// traffic secret from the key log, injects a KeyUpdate(update_requested)
// in the client's direction and re-encrypts the client's following records
// under the updated key. The server accepting those records proves the
// injected update right; the server's answer is crypto/tls's own KeyUpdate.

// seal13 builds one TLS 1.3 record carrying inner (content plus type).
func (hc *halfConn) seal13(inner []byte) []byte {
	hdr := []byte{23, 3, 3, 0, 0}
	binary.BigEndian.PutUint16(hdr[3:], uint16(len(inner)+hc.aead.Overhead()))
	hc.nonce = hc.iv
	xorSeq(&hc.nonce, hc.seq)
	hc.seq++
	return hc.aead.Seal(hdr, hc.nonce[:], inner, hdr)
}

func readRecord(r io.Reader) ([]byte, error) {
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	rec := make([]byte, 5+int(binary.BigEndian.Uint16(hdr[3:])))
	copy(rec, hdr)
	_, err := io.ReadFull(r, rec[5:])
	return rec, err
}

// keyUpdateProxy listens on loopback and forwards to target, injecting a
// client KeyUpdate before the client's first application record.
func keyUpdateProxy(t *testing.T, target string, rec *recorder) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			cc, err := ln.Accept()
			if err != nil {
				return
			}
			sc, err := net.Dial("tcp", target)
			if err != nil {
				cc.Close()
				return
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); io.Copy(cc, sc); cc.Close() }()
			proxyClient(t, cc, sc, rec)
			sc.Close()
			wg.Wait()
		}
	}()
	return ln
}

func proxyClient(t *testing.T, cc, sc net.Conn, rec *recorder) {
	var dec, encOld, encNew halfConn
	enc := 0
	for {
		r, err := readRecord(cc)
		if err != nil {
			return
		}
		if r[0] == 23 {
			enc++
		}
		if r[0] != 23 || enc == 1 { // cleartext, or the client's Finished
			sc.Write(r)
			continue
		}
		if enc == 2 {
			var sec Secrets
			p := LineParser{Emit: func(l *Line) {
				if l.Label == LabelClientTraffic0 {
					sec.ClientApp = secret{b: l.Secret, n: l.SecretLen}
				}
			}}
			rec.mu.Lock()
			p.Write(rec.keylog.Bytes())
			rec.mu.Unlock()
			s := suiteByID(tls.TLS_AES_128_GCM_SHA256, true)
			if err := dec.set13(s, sec.ClientApp.bytes()); err != nil {
				t.Error(err)
				return
			}
			encOld, encNew = dec, dec
			if err := encNew.keyUpdate(); err != nil {
				t.Error(err)
				return
			}
			// KeyUpdate, length 1, update_requested; inner type handshake.
			sc.Write(encOld.seal13([]byte{hsKeyUpdate, 0, 0, 1, 1, 22}))
		}
		pt, err := dec.open(make([]byte, 0, len(r)), r[0], 0x0303, r[5:])
		if err != nil {
			t.Errorf("proxy: %v", err)
			return
		}
		sc.Write(encNew.seal13(pt))
	}
}

func TestKeyUpdateRealServer(t *testing.T) {
	tc := exchangeCase{name: "tls13-keyupdate", max: tls.VersionTLS13, suite13: tls.TLS_AES_128_GCM_SHA256, wantID: 0x1301,
		requests: []string{bodyOf(200), bodyOf(30000), bodyOf(500)}}
	tc.proxy = keyUpdateProxy
	rec, seen := runExchange(t, tc)
	if len(seen) != 3 {
		t.Fatalf("server saw %d requests", len(seen))
	}
	store := NewStore(0)
	store.AddKeyLog(rec.keylog.Bytes())
	for _, split := range []int{0, 3} {
		f, col := decryptChunks(store, rec.chunks, split)
		checkPlaintext(t, tc, f, col, seen)
		// One update each way: the injected one and the server's answer.
		if f.Stats().KeyUpdates != 2 {
			t.Fatalf("key updates %d, want 2", f.Stats().KeyUpdates)
		}
	}
}
