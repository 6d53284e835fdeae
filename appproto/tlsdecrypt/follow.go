package tlsdecrypt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// FollowConfig bounds a Follower. Zero values mean the defaults.
type FollowConfig struct {
	// Interval between polls of the file; default 250ms. Polling runs on
	// the wall clock on purpose: key logs arrive in real time, whatever
	// the packet clock says.
	Interval time.Duration
	// MaxReadPerPoll bounds the bytes read in one poll; default 4 MiB. A
	// larger backlog is read over the following polls.
	MaxReadPerPoll int64
}

// FollowStats counts a follower's work. Errors are counted, never logged
// with content.
type FollowStats struct {
	Polls      uint64
	BytesRead  uint64
	Reopens    uint64 // file replaced (rotation) or first opened
	Truncated  uint64 // file shrank: read again from the start
	OpenErrors uint64 // file missing or unreadable at a poll (it may appear later)
	ReadErrors uint64
	Parse      ParseStats
}

// Follower feeds a key log file that grows (SSLKEYLOGFILE of a running
// process) into a Store: each Poll reads what was appended since the last
// one. A partial last line waits for its newline. A file that is replaced
// is reopened, a file that shrinks is read again from the start.
type Follower struct {
	path  string
	store *Store
	cfg   FollowConfig

	mu     sync.Mutex // guards everything below; Poll and Stats may race
	f      *os.File
	off    int64
	parser LineParser
	told   ParseStats // parser counts already added to the store
	st     FollowStats
	buf    []byte
}

// NewFollower returns a follower of path feeding store. It opens nothing
// until the first Poll.
func NewFollower(path string, store *Store, cfg FollowConfig) *Follower {
	if cfg.Interval <= 0 {
		cfg.Interval = 250 * time.Millisecond
	}
	if cfg.MaxReadPerPoll <= 0 {
		cfg.MaxReadPerPoll = 4 << 20
	}
	fl := &Follower{path: path, store: store, cfg: cfg, buf: make([]byte, 64<<10)}
	fl.parser.Emit = store.Add
	return fl
}

// Stats returns a snapshot of the follower's counters.
func (fl *Follower) Stats() FollowStats {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	st := fl.st
	st.Parse = fl.parser.Stats
	return st
}

// Poll reads what was appended since the last poll. A missing file is not
// an error worth stopping for: it is counted and returned.
func (fl *Follower) Poll() error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	defer fl.report()
	fl.st.Polls++
	info, err := os.Stat(fl.path)
	if err != nil {
		fl.st.OpenErrors++
		fl.store.countReadError()
		return fmt.Errorf("tlsdecrypt: follow key log: %w", err)
	}
	if fl.f != nil {
		cur, err := fl.f.Stat()
		if err != nil || !os.SameFile(cur, info) {
			fl.closeLocked()
		}
	}
	if fl.f == nil {
		f, err := os.Open(fl.path)
		if err != nil {
			fl.st.OpenErrors++
			fl.store.countReadError()
			return fmt.Errorf("tlsdecrypt: follow key log: %w", err)
		}
		fl.f, fl.off = f, 0
		fl.st.Reopens++
		fl.resetPartial()
	}
	if info.Size() < fl.off {
		fl.st.Truncated++
		fl.off = 0
		fl.resetPartial()
	}
	budget := fl.cfg.MaxReadPerPoll
	for budget > 0 {
		n, err := fl.f.ReadAt(fl.buf[:min(int64(len(fl.buf)), budget)], fl.off)
		if n > 0 {
			fl.parser.Write(fl.buf[:n])
			clear(fl.buf[:n])
			fl.off += int64(n)
			budget -= int64(n)
			fl.st.BytesRead += uint64(n)
		}
		if errors.Is(err, io.EOF) || n == 0 {
			return nil
		}
		if err != nil {
			fl.st.ReadErrors++
			fl.store.countReadError()
			return fmt.Errorf("tlsdecrypt: follow key log %s: %w", fl.path, err)
		}
	}
	return nil
}

// report adds what the parser counted since the last poll to the store's
// totals.
func (fl *Follower) report() {
	fl.store.countParse(fl.parser.Stats.sub(fl.told))
	fl.told = fl.parser.Stats
}

// resetPartial drops a partial line: it belonged to the old file.
func (fl *Follower) resetPartial() {
	st := fl.parser.Stats
	fl.parser = LineParser{Emit: fl.store.Add, Stats: st}
}

func (fl *Follower) closeLocked() {
	if fl.f != nil {
		fl.f.Close()
		fl.f = nil
	}
}

// Run polls until ctx ends. Poll errors (a file not there yet) are
// counted in Stats and do not stop it.
func (fl *Follower) Run(ctx context.Context) error {
	t := time.NewTicker(fl.cfg.Interval)
	defer t.Stop()
	defer func() {
		fl.mu.Lock()
		fl.closeLocked()
		fl.mu.Unlock()
	}()
	for {
		_ = fl.Poll()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
