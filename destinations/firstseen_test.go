package destinations

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestFirstSeenPersistsAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "firstseen.state")
	addr := netip.MustParseAddr("203.0.113.5")
	fs, err := NewFirstSeen(FirstSeenConfig{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		domain string
		addr   netip.Addr
		want   bool
	}{
		{"openai.com", netip.Addr{}, true},
		{"openai.com", netip.Addr{}, false},
		{"example.org", netip.Addr{}, true},
		{"", addr, true},
		{"", addr, false},
		{"", netip.MustParseAddr("::ffff:203.0.113.5"), false},
		{"", netip.Addr{}, false}, // nothing to key on
	}
	for i, s := range steps {
		if got := fs.Seen(s.domain, s.addr, int64(i)); got != s.want {
			t.Errorf("step %d Seen(%q, %v) = %v, want %v", i, s.domain, s.addr, got, s.want)
		}
	}
	if err := fs.Save(); err != nil {
		t.Fatal(err)
	}
	// Restart.
	fs2, err := NewFirstSeen(FirstSeenConfig{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if fs2.Stats().Loaded != 3 {
		t.Errorf("loaded %d, want 3", fs2.Stats().Loaded)
	}
	if fs2.Seen("openai.com", netip.Addr{}, 100) || fs2.Seen("", addr, 100) {
		t.Error("known destination reported new after restart")
	}
	if !fs2.Seen("anthropic.com", netip.Addr{}, 101) {
		t.Error("new destination not reported after restart")
	}
	// No temporary files left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("directory has %d entries, want 1", len(ents))
	}
}

func TestFirstSeenBoundAndOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fs")
	fs, err := NewFirstSeen(FirstSeenConfig{StatePath: path, MaxEntries: 16})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		fs.Seen(fmt.Sprintf("d%d.example", i), netip.Addr{}, int64(i))
	}
	st := fs.Stats()
	if st.Size > 16 || st.Evictions != uint64(100-st.Size) || st.New != 100 {
		t.Fatalf("stats = %+v", st)
	}
	if err := fs.Save(); err != nil {
		t.Fatal(err)
	}
	fs2, err := NewFirstSeen(FirstSeenConfig{StatePath: path, MaxEntries: 16})
	if err != nil {
		t.Fatal(err)
	}
	if fs2.Seen("d99.example", netip.Addr{}, 200) {
		t.Error("most recent key lost")
	}
	if !fs2.Seen("d0.example", netip.Addr{}, 201) {
		t.Error("evicted key still known")
	}
}

func TestFirstSeenCorruptState(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ content, want string }{
		{"d\topenai.com\n", "want 3 tab-separated fields"},
		{"d\topenai.com\tx\n", "bad time"},
		{"x\topenai.com\t1\n", "unknown kind"},
		{"a\tnot-an-ip\t1\n", "bad address"},
		{"d\tbad name\t1\n", "bad domain"},
	}
	for i, tt := range tests {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, []byte(firstSeenHeader+"\n"+tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := NewFirstSeen(FirstSeenConfig{StatePath: p})
		if err == nil || !strings.Contains(err.Error(), p+":2: "+tt.want) {
			t.Errorf("%q: err = %v, want %s:2: %s", tt.content, err, p, tt.want)
		}
	}
}

func TestFirstSeenConcurrent(t *testing.T) {
	fs, err := NewFirstSeen(FirstSeenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var firsts atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if fs.Seen(fmt.Sprintf("d%d.example", i), netip.Addr{}, int64(i)) {
					firsts.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if firsts.Load() != 500 {
		t.Errorf("%d first-seen answers for 500 domains", firsts.Load())
	}
}
