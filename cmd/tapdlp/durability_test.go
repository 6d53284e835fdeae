package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syslogReceiver reads RFC 6587 octet-counted RFC 5424 messages and keeps
// the JSON records they carry, in arrival order.
type syslogReceiver struct {
	l    net.Listener
	mu   sync.Mutex
	msgs []string
}

func listenSyslog(t *testing.T, addr string) *syslogReceiver {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &syslogReceiver{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go r.read(c)
		}
	}()
	return r
}

func (r *syslogReceiver) read(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		lenStr, err := br.ReadString(' ')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(lenStr))
		if err != nil {
			return
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(br, buf); err != nil {
			return
		}
		msg := string(buf)
		if i := strings.Index(msg, "{"); i >= 0 {
			r.mu.Lock()
			r.msgs = append(r.msgs, msg[i:])
			r.mu.Unlock()
		}
	}
}

func (r *syslogReceiver) records() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// The durability test through the real pipeline: the SIEM's syslog
// receiver is down while one capture is replayed (records spool to disk),
// comes back, and a second replay with the same outputs first delivers
// the spooled records, then its own: every record exactly once, in order.
func TestSyslogOutageDuringReplay(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close() // the receiver is down
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tapdlp.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
outputs:
  state_dir: %s
  sinks:
    - {name: siem, type: syslog, types: [flow, alert],
       syslog: {network: tcp, address: "%s"},
       queue: {shutdown_timeout: 300ms, backoff: 20ms, max_backoff: 100ms}}
`, dir, addr)), 0o644)

	if code, _, errOut := run(t, "replay", "-q", "--outputs", "-c", cfg, demo); code != 0 {
		t.Fatalf("replay with the receiver down: exit %d %s", code, errOut)
	}
	want := demoRecordCount(t)
	recv := listenSyslog(t, addr)
	defer recv.l.Close()
	if code, _, errOut := run(t, "replay", "-q", "--outputs", "-c", cfg, "../../testdata/pcap/raw-ip.pcapng.gz"); code != 0 {
		t.Fatalf("second replay: exit %d %s", code, errOut)
	}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = recv.records(); len(got) >= want+2 {
			break
		}
	}
	if len(got) != want+2 {
		t.Fatalf("received %d records, want %d (demo, spooled while the receiver was down) + 2 (raw-ip)", len(got), want)
	}
	seen := map[string]bool{}
	for i, m := range got {
		var raw map[string]any
		if err := json.Unmarshal([]byte(m), &raw); err != nil {
			t.Fatalf("record %d is not JSON: %v", i, err)
		}
		key := fmt.Sprint(raw["type"], raw["flow_id"], raw["rule"], raw["state"])
		if seen[key] {
			t.Errorf("record %d delivered twice: %s", i, key)
		}
		seen[key] = true
		// The spooled demo records come first: the raw-ip flows are last.
		isRawIP := strings.Contains(m, `"10.9.0.5"`)
		if isRawIP != (i >= want) {
			t.Errorf("record %d out of order (raw-ip %v)", i, isRawIP)
		}
	}
}

func demoRecordCount(t *testing.T) int {
	code, out, _ := run(t, "replay", "-q", demo)
	if code != 0 {
		t.Fatal("replay demo")
	}
	return strings.Count(out, "\n")
}
