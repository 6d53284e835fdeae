package tlsdecrypt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	rnd1 = "1111111111111111111111111111111111111111111111111111111111111111"
	rnd2 = "2222222222222222222222222222222222222222222222222222222222222222"
	s48  = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	s32  = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestParseKeyLog(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want ParseStats
	}{
		{"tls12", "CLIENT_RANDOM " + rnd1 + " " + s48 + "\n", ParseStats{Lines: 1, Secrets: 1}},
		{"tls13 all", "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + rnd1 + " " + s32 + "\nSERVER_HANDSHAKE_TRAFFIC_SECRET " + rnd1 + " " + s32 +
			"\nCLIENT_TRAFFIC_SECRET_0 " + rnd1 + " " + s32 + "\nSERVER_TRAFFIC_SECRET_0 " + rnd1 + " " + s32 + "\nEXPORTER_SECRET " + rnd1 + " " + s32 +
			"\nCLIENT_EARLY_TRAFFIC_SECRET " + rnd1 + " " + s32 + "\n", ParseStats{Lines: 6, Secrets: 5, Ignored: 1}},
		{"crlf comments blanks", "# a comment\r\n\r\n   \r\nCLIENT_RANDOM " + rnd1 + " " + s48 + "\r\n", ParseStats{Lines: 1, Secrets: 1, Comments: 1}},
		{"no final newline", "CLIENT_RANDOM " + rnd1 + " " + s48, ParseStats{Lines: 1, Secrets: 1}},
		{"tabs and upper hex", "CLIENT_RANDOM\t" + strings.ToUpper(rnd1) + "\t" + strings.ToUpper(s48) + "\n", ParseStats{Lines: 1, Secrets: 1}},
		{"short random", "CLIENT_RANDOM 1111 " + s48 + "\n", ParseStats{Lines: 1, Bad: 1}},
		{"bad hex", "CLIENT_RANDOM " + rnd1 + " zz" + s48[2:] + "\n", ParseStats{Lines: 1, Bad: 1}},
		{"master of 32 bytes", "CLIENT_RANDOM " + rnd1 + " " + s32 + "\n", ParseStats{Lines: 1, Bad: 1}},
		{"tls13 odd length", "CLIENT_TRAFFIC_SECRET_0 " + rnd1 + " " + s32[:40] + "\n", ParseStats{Lines: 1, Bad: 1}},
		{"two fields", "CLIENT_RANDOM " + rnd1 + "\n", ParseStats{Lines: 1, Bad: 1}},
		{"four fields", "CLIENT_RANDOM " + rnd1 + " " + s48 + " x\n", ParseStats{Lines: 1, Bad: 1}},
		{"rsa line tolerated", "RSA 0011223344556677 " + s48 + "\n", ParseStats{Lines: 1, Bad: 1}},
		{"unknown label", "SOMETHING_NEW " + rnd1 + " " + s32 + "\n", ParseStats{Lines: 1, Unknown: 1}},
		{"too long", "CLIENT_RANDOM " + rnd1 + " " + strings.Repeat("a", 5000) + "\nCLIENT_RANDOM " + rnd2 + " " + s48 + "\n", ParseStats{Lines: 2, Secrets: 1, TooLong: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, step := range []int{0, 1, 13} {
				var got []Line
				p := LineParser{Emit: func(l *Line) { got = append(got, *l) }}
				in := []byte(tt.in)
				for len(in) > 0 {
					n := len(in)
					if step > 0 {
						n = min(step, n)
					}
					p.Write(in[:n])
					in = in[n:]
				}
				p.Flush()
				if p.Stats != tt.want {
					t.Fatalf("step %d: stats %+v, want %+v", step, p.Stats, tt.want)
				}
				if uint64(len(got)) != tt.want.Secrets {
					t.Fatalf("emitted %d", len(got))
				}
			}
		})
	}
}

// The RSA line has a 8-byte first field: it is malformed for the format
// this package reads but must not echo anything. Errors carry no input.
func TestErrorsCarryNoKeyMaterial(t *testing.T) {
	var l Line
	_, err := ParseLine([]byte("CLIENT_RANDOM "+rnd1+" "+s48[:90]), &l)
	if err == nil || strings.Contains(err.Error(), "aaaa") || strings.Contains(err.Error(), "1111") {
		t.Fatalf("error %v", err)
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big.log")
	os.WriteFile(big, []byte(strings.Repeat("CLIENT_RANDOM "+rnd1+" "+s48+"\n", 100)), 0o600)
	_, err = NewStore(0).LoadFile(big, 1000)
	if err == nil || strings.Contains(err.Error(), "aaaa") {
		t.Fatalf("error %v", err)
	}
	st, err := NewStore(0).LoadFile(big, 0)
	if err != nil || st.Secrets != 100 {
		t.Fatalf("load: %v %+v", err, st)
	}
	_, err = NewStore(0).LoadFile(filepath.Join(dir, "missing"), 0)
	if err == nil {
		t.Fatal("missing file loaded")
	}
}

func randomHex(i int) string { return fmt.Sprintf("%064x", i) }

func TestStoreLRU(t *testing.T) {
	s := NewStore(10 * entryCost)
	for i := range 15 {
		s.AddKeyLog([]byte("CLIENT_RANDOM " + randomHex(i) + " " + s48 + "\n"))
		if i == 9 {
			// Touch entry 0: it survives the next evictions.
			var r [32]byte
			unhex(r[:], []byte(randomHex(0)))
			if !s.Lookup(&r, &Secrets{}) {
				t.Fatal("entry 0 missing")
			}
		}
	}
	st := s.Stats()
	if st.Entries != 10 || st.Evicted != 5 || st.Bytes > 10*entryCost {
		t.Fatalf("stats %+v", st)
	}
	for i, want := range map[int]bool{0: true, 1: false, 5: false, 6: true, 14: true} {
		var r [32]byte
		unhex(r[:], []byte(randomHex(i)))
		var sec Secrets
		if got := s.Lookup(&r, &sec); got != want {
			t.Errorf("entry %d present %v, want %v", i, got, want)
		}
		if want && sec.Master.n != 48 {
			t.Errorf("entry %d: master %d bytes", i, sec.Master.n)
		}
	}
	// Lines for one random merge; a changed value is counted.
	g := s.Generation()
	s.AddKeyLog([]byte("CLIENT_TRAFFIC_SECRET_0 " + randomHex(14) + " " + s32 + "\nCLIENT_RANDOM " + randomHex(14) + " " + strings.Repeat("c", 96) + "\n"))
	if s.Stats().Conflicts != 1 || s.Generation() == g {
		t.Fatalf("stats %+v", s.Stats())
	}
}

func TestStoreConcurrent(t *testing.T) {
	s := NewStore(100 * entryCost)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sec Secrets
			for i := range 500 {
				s.AddKeyLog([]byte("CLIENT_RANDOM " + randomHex(w*1000+i) + " " + s48 + "\n"))
				var r [32]byte
				unhex(r[:], []byte(randomHex(w*1000+i/2)))
				s.Lookup(&r, &sec)
			}
		}()
	}
	wg.Wait()
	if st := s.Stats(); st.Entries != 100 || st.Evicted != 1900 || st.Added != 2000 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFollowerGrowingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sslkeys.log")
	s := NewStore(0)
	fl := NewFollower(path, s, FollowConfig{Interval: 5 * time.Millisecond, MaxReadPerPoll: 100})
	if err := fl.Poll(); err == nil || fl.Stats().OpenErrors != 1 {
		t.Fatal("missing file should be counted")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	line := func(i int) string { return "CLIENT_RANDOM " + randomHex(i) + " " + s48 + "\n" }
	has := func(i int) bool {
		var r [32]byte
		unhex(r[:], []byte(randomHex(i)))
		return s.Lookup(&r, &Secrets{})
	}
	// Half a line: nothing yet; the rest: the key is there.
	f.WriteString(line(1)[:50])
	fl.Poll()
	if has(1) {
		t.Fatal("partial line stored")
	}
	f.WriteString(line(1)[50:] + line(2))
	for range 10 { // MaxReadPerPoll 100: several polls
		fl.Poll()
	}
	if !has(1) || !has(2) {
		t.Fatalf("lines not read: %+v", fl.Stats())
	}
	// Run in the background while the file keeps growing.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { fl.Run(ctx); close(done) }()
	for i := 3; i < 20; i++ {
		f.WriteString(line(i))
	}
	deadline := time.Now().Add(5 * time.Second)
	for !has(19) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !has(19) {
		t.Fatal("follower did not pick up appended lines")
	}
	// Truncation (a new log) and rotation (a new file at the path).
	f.Truncate(0)
	f.Seek(0, 0)
	f.WriteString(line(30))
	for !has(30) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	os.Rename(path, path+".1")
	os.WriteFile(path, []byte(line(40)), 0o600)
	for !has(40) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	f.Close()
	st := fl.Stats()
	if !has(30) || !has(40) || st.Truncated == 0 || st.Reopens < 2 || st.Parse.Secrets != 21 || st.Parse.Bad != 0 {
		t.Fatalf("stats %+v", st)
	}
	// The store's totals (what /metrics serves) hold what the follower
	// parsed, each line once however many polls it took.
	if ss := s.Stats(); ss.Parse != st.Parse || ss.ReadErrors != st.OpenErrors+st.ReadErrors || ss.ReadErrors == 0 {
		t.Fatalf("store counts %+v, follower %+v", ss, st)
	}
}

// Every way keys enter a store adds to its parse totals: a file read
// whole, a secrets block, a follower; a bad line is counted, not stored.
func TestStoreCountsParsedLines(t *testing.T) {
	s := NewStore(0)
	good := "CLIENT_RANDOM " + randomHex(1) + " " + s48 + "\n"
	path := filepath.Join(t.TempDir(), "k.log")
	if err := os.WriteFile(path, []byte(good+"CLIENT_RANDOM zz zz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadFile(path, 0); err != nil {
		t.Fatal(err)
	}
	s.AddKeyLog([]byte("SERVER_TRAFFIC_SECRET_0 " + randomHex(2) + " " + s48 + "\nEXPORTER_SECRET " + randomHex(2) + " " + s48 + "\n"))
	if _, err := s.LoadFile(filepath.Join(t.TempDir(), "missing"), 0); err == nil {
		t.Fatal("missing file loaded")
	}
	st := s.Stats()
	want := ParseStats{Lines: 4, Secrets: 2, Bad: 1, Ignored: 1}
	if st.Parse != want || st.Entries != 2 || st.Added != 2 {
		t.Fatalf("stats %+v, want parse %+v and 2 entries", st, want)
	}
}
