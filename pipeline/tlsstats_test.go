package pipeline

import (
	"bytes"
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/record"
)

// corruptSecrets flips the first hex digit of every secret of a key log:
// the lines stay well-formed, the keys are wrong.
func corruptSecrets(keylog []byte) []byte {
	var out []string
	for _, l := range strings.Split(string(keylog), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 {
			d := byte('0')
			if f[2][0] == '0' {
				d = '1'
			}
			f[2] = string(d) + f[2][1:]
			l = strings.Join(f, " ")
		}
		out = append(out, l)
	}
	return []byte(strings.Join(out, "\n"))
}

// The decryption outcome counters count each final record's outcome: a
// flow with its key is decrypted, one without is no_key, one with a wrong
// key is auth_failed; and the key store counts the lines it was fed.
func TestTLSOutcomeCounters(t *testing.T) {
	dir := t.TempDir()
	var files []string
	var keylog bytes.Buffer
	for i, c := range []struct {
		version uint16
		key     string // "good", "none", "wrong"
	}{
		{tls.VersionTLS13, "good"}, {tls.VersionTLS12, "good"},
		{tls.VersionTLS13, "none"}, {tls.VersionTLS12, "none"}, {tls.VersionTLS13, "none"},
		{tls.VersionTLS13, "wrong"},
	} {
		chunks, kl := realTLSExchange(t, c.version, "upload.example", "/v1/upload", `{"card":"4111 1111 1111 1111"}`)
		switch c.key {
		case "good":
			keylog.Write(kl)
		case "wrong":
			keylog.Write(corruptSecrets(kl))
		}
		f := filepath.Join(dir, "tls"+string(rune('a'+i))+".pcap")
		writeChunksPcap(t, f, "10.0.0.1:4000"+string(rune('0'+i)), "10.0.0.2:443", chunks)
		files = append(files, f)
	}
	secrets := bytes.Clone(keylog.Bytes())
	keylog.WriteString("CLIENT_RANDOM not-hex zz\n# a comment\n")
	kl := filepath.Join(dir, "keys.log")
	if err := os.WriteFile(kl, keylog.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	p, outText := replayPipeline(t, []string{kl}, files...)
	out := bytes.NewBufferString(outText)
	st := p.TLSStats()
	got := map[string]uint64{"decrypted": st.Decrypted()}
	for _, o := range st.NotDecrypted() {
		got[o.Reason] = o.Count
	}
	want := map[string]uint64{"decrypted": 2, "no_key": 3, "auth_failed": 1, "truncated": 0,
		"unsupported_suite": 0, "unsupported_version": 0, "malformed": 0}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %d flows, want %d (all: %v)\n%s", k, got[k], w, got, out.String())
		}
	}
	if len(got) != len(want) {
		t.Errorf("outcomes %v, want exactly the reasons of %v", got, want)
	}
	ks := p.Keys().Stats()
	lines := uint64(strings.Count(keylog.String(), "\n") - 1) // the comment is not a line
	if ks.Parse.Lines != lines || ks.Parse.Bad != 1 || ks.Parse.Secrets != lines-1 {
		t.Errorf("key store parse counts %+v, want %d lines, 1 malformed", ks.Parse, lines)
	}
	assertNoKeyMaterial(t, secrets, out.String())
}

// replayPipeline replays files with one worker and key logs, returning the
// pipeline (for its counters) and the records.
func replayPipeline(t *testing.T, keylogs []string, files ...string) (*Pipeline, string) {
	t.Helper()
	cfg, err := parseTestConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers = 1
	var out bytes.Buffer
	sink := record.NewWriterSink(&out)
	p, err := New(cfg, Options{Sink: sink, KeyLogs: keylogs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Replay(context.Background(), files); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	return p, out.String()
}
