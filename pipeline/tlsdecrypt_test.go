package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/internal/pcapgen"
	"github.com/tapdlp/tapdlp/internal/recordschema"
	"github.com/tapdlp/tapdlp/internal/tapconn"
	"github.com/tapdlp/tapdlp/record"
)

// The PII value the AI prompts carry (an SSN the detectors accept).
const tlsTestSSN = "536-22-8741"

// tlsChunk is one write on the wire of a recorded connection.
type tlsChunk struct {
	fromClient bool
	data       []byte
}

// tlsRecConn records what the client writes and reads, in order.
type tlsRecConn struct {
	net.Conn
	mu     *sync.Mutex
	chunks *[]tlsChunk
}

func (c tlsRecConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		*c.chunks = append(*c.chunks, tlsChunk{false, bytes.Clone(b[:n])})
		c.mu.Unlock()
	}
	return n, err
}

func (c tlsRecConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	*c.chunks = append(*c.chunks, tlsChunk{true, bytes.Clone(b)})
	c.mu.Unlock()
	return c.Conn.Write(b)
}

var (
	tlsCertOnce sync.Once
	tlsCert     tls.Certificate
)

func tlsTestCert(t testing.TB) tls.Certificate {
	tlsCertOnce.Do(func() {
		var err error
		if tlsCert, _, err = tapconn.SelfSigned("test"); err != nil {
			panic(err)
		}
	})
	return tlsCert
}

// realTLSExchange runs a crypto/tls client and server (version max) over
// an in-memory pipe; the client, which writes its key log, sends one
// HTTP/1.1 POST of body to host+path. It returns the wire chunks and the
// key log.
func realTLSExchange(t testing.TB, max uint16, host, path, body string) ([]tlsChunk, []byte) {
	t.Helper()
	cc, sc := net.Pipe()
	var mu sync.Mutex
	var chunks []tlsChunk
	var keylog bytes.Buffer
	srv := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{tlsTestCert(t)}, MaxVersion: max, NextProtos: []string{"http/1.1"}})
	done := make(chan error, 1)
	go func() {
		defer srv.Close()
		req, err := http.ReadRequest(bufio.NewReader(srv))
		if err != nil {
			done <- err
			return
		}
		b, _ := io.ReadAll(req.Body)
		resp := "received " + strconv.Itoa(len(b)) + " bytes"
		_, err = io.WriteString(srv, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "+strconv.Itoa(len(resp))+"\r\nConnection: close\r\n\r\n"+resp)
		done <- err
	}()
	cl := tls.Client(tlsRecConn{cc, &mu, &chunks}, &tls.Config{ServerName: host, InsecureSkipVerify: true, MaxVersion: max,
		NextProtos: []string{"http/1.1"}, KeyLogWriter: &keylog})
	req := "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := io.WriteString(cl, req); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(cl); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if st := cl.ConnectionState(); st.Version != max {
		t.Fatalf("negotiated version %#x, want %#x", st.Version, max)
	}
	mu.Lock()
	defer mu.Unlock()
	return chunks, keylog.Bytes()
}

// writeChunksPcap writes the chunks as one TCP connection to 443.
func writeChunksPcap(t testing.TB, path string, cli, srv string, chunks []tlsChunk) {
	t.Helper()
	cs := make([]tapconn.Chunk, len(chunks))
	for i, ch := range chunks {
		cs[i] = tapconn.Chunk{FromClient: ch.fromClient, Data: ch.data}
	}
	if err := tapconn.WriteConn(path, netip.MustParseAddrPort(cli), netip.MustParseAddrPort(srv), cs, 0); err != nil {
		t.Fatal(err)
	}
}

// replayWithKeys replays files with key logs and returns every output
// line (records and the log), each record checked against the schema.
func replayWithKeys(t *testing.T, cfgYAML string, keylogs []string, files ...string) (lines []string, logText string) {
	t.Helper()
	cfg, err := parseTestConfig(cfgYAML)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 1
	var buf, logBuf bytes.Buffer
	sink := record.NewWriterSink(&buf)
	p, err := New(cfg, Options{Sink: sink, KeyLogs: keylogs, Log: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Replay(context.Background(), files); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pr := range recordschema.ValidateLines(buf.Bytes()) {
		t.Errorf("schema: %s", pr)
	}
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines, logBuf.String()
}

// flowRecords returns the flow records of lines.
func flowRecords(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, `{"type":"flow"`) {
			out = append(out, l)
		}
	}
	return out
}

// assertNoKeyMaterial fails when any secret of the key log (in hex, either
// case, or raw) appears in the output.
func assertNoKeyMaterial(t *testing.T, keylog []byte, outputs ...string) {
	t.Helper()
	all := strings.Join(outputs, "\n")
	n := 0
	for _, line := range strings.Split(string(keylog), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n++
		for _, field := range f[1:] {
			raw, _ := hex.DecodeString(field)
			for _, s := range []string{strings.ToLower(field), strings.ToUpper(field), string(raw), field[:16]} {
				if strings.Contains(all, s) || strings.Contains(strings.ToLower(all), strings.ToLower(field[:16])) {
					t.Fatalf("key log material (%s…) appears in the output", f[0])
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("key log has no lines: the check did not run")
	}
}

func TestReplayDecryptsPcapngSecretsAndKeyLog(t *testing.T) {
	const dsb = "../capture/testdata/editcap_dsb.pcapng"
	keylog, err := os.ReadFile("../capture/testdata/editcap_dsb.keylog")
	if err != nil {
		t.Fatal(err)
	}
	// The same capture without its secrets block: strip the DSB by
	// re-writing the packets as classic pcap.
	plain := filepath.Join(t.TempDir(), "nodsb.pcap")
	pcapngToPcap(t, dsb, plain)
	klPath := filepath.Join(t.TempDir(), "keys.log")
	if err := os.WriteFile(klPath, keylog, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		file      string
		keylogs   []string
		decrypted bool
	}{
		{"pcapng secrets block, no --keylog", dsb, nil, true},
		{"classic pcap with --keylog", plain, []string{klPath}, true},
		{"classic pcap without keys", plain, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines, logText := replayWithKeys(t, "", tc.keylogs, tc.file)
			flows := flowRecords(lines)
			if len(flows) != 1 {
				t.Fatalf("%d flow records, want 1:\n%s", len(flows), strings.Join(lines, "\n"))
			}
			f := flows[0]
			found := strings.Contains(f, `"type":"credit_card"`)
			dec := strings.Contains(f, `"decrypted":true`)
			enc := strings.Contains(f, `"encrypted":true`)
			if found != tc.decrypted || dec != tc.decrypted || enc == tc.decrypted {
				t.Errorf("card found %v, decrypted %v, encrypted %v; want decrypted=%v:\n%s", found, dec, enc, tc.decrypted, f)
			}
			if tc.decrypted && !strings.Contains(f, `"uri":"/upload"`) {
				t.Errorf("plaintext HTTP not parsed:\n%s", f)
			}
			if !tc.decrypted && strings.Contains(f, "decrypt_reason") {
				t.Errorf("no keys configured, yet a decrypt_reason:\n%s", f)
			}
			assertNoKeyMaterial(t, keylog, strings.Join(lines, "\n"), logText)
		})
	}
}

// pcapngToPcap copies the packets of a pcapng file into a classic pcap
// (dropping its Decryption Secrets Blocks).
func pcapngToPcap(t *testing.T, in, out string) {
	t.Helper()
	src, err := capture.OpenFile(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	fh, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	w, err := pcapgen.NewWriter(fh, pcapgen.LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for {
		frame, _, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

const aiRule = `
rules:
  - id: pii-in-ai-chat
    severity: high
    when:
      ai.operation: [chat]
      sensitive.class: [PII]
`

func TestReplayDecryptsRealTLSWithAIFacts(t *testing.T) {
	chat := `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are helpful."},` +
		`{"role":"user","content":[{"type":"text","text":"My SSN is ` + tlsTestSSN + `, please fill the form."}]}],"stream":true}`
	embed := `{"model":"text-embedding-3-small","input":"SSN ` + tlsTestSSN + `"}`
	for _, v := range []struct {
		name string
		max  uint16
		ver  string
	}{{"TLS1.2", tls.VersionTLS12, `"version":"1.2"`}, {"TLS1.3", tls.VersionTLS13, `"version":"1.3"`}} {
		t.Run(v.name, func(t *testing.T) {
			dir := t.TempDir()
			chatChunks, kl1 := realTLSExchange(t, v.max, "api.openai.com", "/v1/chat/completions", chat)
			embChunks, kl2 := realTLSExchange(t, v.max, "api.openai.com", "/v1/embeddings", embed)
			chatPcap, embPcap := filepath.Join(dir, "chat.pcap"), filepath.Join(dir, "emb.pcap")
			writeChunksPcap(t, chatPcap, "10.0.0.5:51000", "203.0.113.80:443", chatChunks)
			writeChunksPcap(t, embPcap, "10.0.0.5:51001", "203.0.113.80:443", embChunks)
			keylog := append(append([]byte(nil), kl1...), kl2...)
			klPath := filepath.Join(dir, "keys.log")
			if err := os.WriteFile(klPath, keylog, 0o600); err != nil {
				t.Fatal(err)
			}

			lines, logText := replayWithKeys(t, aiRule, []string{klPath}, chatPcap, embPcap)
			flows := flowRecords(lines)
			if len(flows) != 2 {
				t.Fatalf("%d flow records, want 2:\n%s", len(flows), strings.Join(lines, "\n"))
			}
			var chatRec, embRec string
			for _, f := range flows {
				if strings.Contains(f, `"port":51000`) {
					chatRec = f
				} else {
					embRec = f
				}
			}
			for _, want := range []string{v.ver, `"decrypted":true`, `"uri":"/v1/chat/completions"`,
				`"ai":{"provider":"openai","operation":"chat","model":"gpt-4o-mini","stream":true,`,
				`"type":"us_ssn","class":"PII"`, `"pii-in-ai-chat"]}`} {
				if !strings.Contains(chatRec, want) {
					t.Errorf("chat record lacks %s:\n%s", want, chatRec)
				}
			}
			for _, want := range []string{`"decrypted":true`, `"operation":"embeddings"`, `"type":"us_ssn"`} {
				if !strings.Contains(embRec, want) {
					t.Errorf("embeddings record lacks %s:\n%s", want, embRec)
				}
			}
			if strings.Contains(embRec, "pii-in-ai-chat") {
				t.Errorf("the chat rule fired on the embeddings call:\n%s", embRec)
			}
			if strings.Contains(chatRec, "encrypted") || strings.Contains(chatRec, tlsTestSSN) {
				t.Errorf("decrypted record says encrypted or holds the value:\n%s", chatRec)
			}
			alerts := 0
			for _, l := range lines {
				if strings.Contains(l, `"rule":"pii-in-ai-chat"`) {
					alerts++
				}
			}
			if alerts != 1 {
				t.Errorf("pii-in-ai-chat fired %d times, want once", alerts)
			}
			assertNoKeyMaterial(t, keylog, strings.Join(lines, "\n"), logText)

			// Without keys: encrypted, nothing found, no AI facts.
			lines, _ = replayWithKeys(t, aiRule, nil, chatPcap)
			f := flowRecords(lines)[0]
			if !strings.Contains(f, `"encrypted":true`) || strings.Contains(f, `"sensitive"`) ||
				strings.Contains(f, `"ai"`) || strings.Contains(f, "decrypt") {
				t.Errorf("without keys:\n%s", f)
			}

			// A key log that lacks this connection's keys: no_key.
			other := filepath.Join(dir, "other.log")
			if err := os.WriteFile(other, kl2, 0o600); err != nil {
				t.Fatal(err)
			}
			lines, _ = replayWithKeys(t, aiRule, []string{other}, chatPcap)
			f = flowRecords(lines)[0]
			if !strings.Contains(f, `"decrypt_reason":"no_key"`) || !strings.Contains(f, `"encrypted":true`) ||
				strings.Contains(f, `"sensitive"`) {
				t.Errorf("with another connection's keys:\n%s", f)
			}
		})
	}
}

// Packets of a decrypted TLS flow — ciphertext records decrypted into the
// worker's scratch, the plaintext parsed as HTTP and scanned — must not
// allocate either.
func TestDecryptedPacketPathDoesNotAllocate(t *testing.T) {
	body := strings.Repeat("the quick brown fox jumps over the lazy dog 0123 ", 8000)
	chunks, keylog := realTLSExchange(t, tls.VersionTLS13, "upload.example", "/upload", body)
	kl := filepath.Join(t.TempDir(), "keys.log")
	if err := os.WriteFile(kl, keylog, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseTestConfig("inspection: {inspect_bytes: 4MiB}\n")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 1
	p, err := New(cfg, Options{Sink: record.NewWriterSink(nopWriter{}), KeyLogs: []string{kl}})
	if err != nil {
		t.Fatal(err)
	}
	p.out = newWriter(p.opts.Sink, p.stats, p.log)
	defer p.out.close()
	w := newWorker(0, p)
	d := newDispatcher(p, []*worker{w})
	conn := pcapgen.NewTCPConn(ap("10.0.0.1:40000"), ap("192.0.2.1:443"), 1, 2)
	var frames [][]byte
	segs := conn.Handshake()
	for _, ch := range chunks {
		segs = append(segs, conn.Send(ch.fromClient, ch.data)...)
	}
	for _, s := range segs {
		frames = append(frames, pcapgen.EthernetIP(conn.Packet(s)))
	}
	ts := int64(1e18)
	step := func(frame []byte) {
		ts += 1000
		feedFrame(t, d, w, frame, ts)
	}
	// The handshake, the request head and the start of the body: the flow,
	// its session, its decryptor and its parsers are set up.
	const warm = 40
	if len(frames) < warm+110 {
		t.Fatalf("only %d frames", len(frames))
	}
	for _, f := range frames[:warm] {
		step(f)
	}
	i := warm
	allocs := testing.AllocsPerRun(100, func() {
		step(frames[i])
		i++
	})
	if allocs != 0 {
		t.Errorf("%.2f allocations per packet of a decrypted flow, want 0", allocs)
	}
	for _, sess := range openSessions(w) {
		r := sess.app.Result()
		if r.Decrypt.String() != "decrypted" || r.HTTP == nil {
			t.Errorf("flow not decrypted (%v) or not parsed as HTTP: the test did not exercise decryption", r.Decrypt)
		}
		if got := sess.c.scan[0].Inspected(); got < 100*1000 {
			t.Errorf("the scanner saw %d bytes of plaintext", got)
		}
	}
}

// The cost of decryption: the same HTTP/1.1 upload replayed as TLS 1.3
// with its key log and as cleartext (one worker; b.SetBytes is the body).
//
//	go test ./pipeline -run XXX -bench ReplayUpload -benchtime 20x
func BenchmarkReplayUpload(b *testing.B) {
	body := strings.Repeat(`{"note":"the quick brown fox jumps over the lazy dog","n":12345},`, 64<<10) // 4 MiB
	chunks, keylog := realTLSExchange(b, tls.VersionTLS13, "upload.example", "/upload", body)
	dir := b.TempDir()
	tlsPcap, plainPcap, kl := filepath.Join(dir, "tls.pcap"), filepath.Join(dir, "plain.pcap"), filepath.Join(dir, "keys.log")
	writeChunksPcap(b, tlsPcap, "10.0.0.5:51000", "203.0.113.80:443", chunks)
	if err := os.WriteFile(kl, keylog, 0o600); err != nil {
		b.Fatal(err)
	}
	req := "POST /upload HTTP/1.1\r\nHost: upload.example\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
	resp := "received " + strconv.Itoa(len(body)) + " bytes"
	plain := []tlsChunk{{true, []byte(req)}, {false, []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
		strconv.Itoa(len(resp)) + "\r\nConnection: close\r\n\r\n" + resp)}}
	writeChunksPcap(b, plainPcap, "10.0.0.5:51000", "203.0.113.80:80", plain)
	for _, bc := range []struct {
		name    string
		file    string
		keylogs []string
	}{{"cleartext", plainPcap, nil}, {"tls13-decrypted", tlsPcap, []string{kl}}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg, err := parseTestConfig("inspection: {inspect_bytes: 8MiB}\nreassembly: {inspect_depth: 8MiB}\n")
			if err != nil {
				b.Fatal(err)
			}
			cfg.Workers = 1
			var out bytes.Buffer
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				out.Reset()
				sink := record.NewWriterSink(&out)
				p, err := New(cfg, Options{Sink: sink, KeyLogs: bc.keylogs, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Replay(context.Background(), []string{bc.file}); err != nil {
					b.Fatal(err)
				}
				if err := sink.Close(); err != nil {
					b.Fatal(err)
				}
			}
			// Both scan the same plaintext, whole.
			if !strings.Contains(out.String(), `"uri":"/upload"`) || !strings.Contains(out.String(), `"inspected":{"out":4259920,`) {
				b.Fatalf("the upload was not parsed:\n%s", out.String())
			}
		})
	}
}
