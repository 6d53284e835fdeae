package destinations

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
)

// FirstSeenConfig configures the first-seen tracker. Zero values mean the
// default.
type FirstSeenConfig struct {
	// StatePath is where the set is persisted between runs; empty means
	// nothing is persisted.
	StatePath string `yaml:"state_path" json:"state_path"`
	// MaxEntries bounds the set; the least recently seen keys are evicted
	// (and would be reported as first seen again). Default 100000.
	MaxEntries int `yaml:"max_entries" json:"max_entries"`
}

// FirstSeen tells whether a destination (registrable domain, or address when
// there is no name) is seen for the first time since the sensor started,
// remembering across restarts through a state file. Safe for concurrent use.
type FirstSeen struct {
	path    string
	set     *lru[fsKey, int64] // value: last seen, packet time ns
	loaded  int
	newKeys atomic.Uint64
}

// fsKey is a domain or, when domain is empty, an address.
type fsKey struct {
	domain string
	addr   netip.Addr
}

const firstSeenHeader = "# tapdlp first-seen v1: kind<TAB>key<TAB>last_seen_unix_ns"

// NewFirstSeen builds the tracker and loads its state file if it exists. A
// missing file is not an error; a corrupt one is (with file:line), so an
// operator notices rather than every destination becoming new.
func NewFirstSeen(cfg FirstSeenConfig) (*FirstSeen, error) {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 100000
	}
	f := &FirstSeen{path: cfg.StatePath, set: newLRU[fsKey, int64](cfg.MaxEntries, 16, func(k fsKey) uint64 {
		if k.domain != "" {
			return stringHash(k.domain)
		}
		return addrHash(k.addr)
	})}
	if f.path == "" {
		return f, nil
	}
	data, err := os.ReadFile(f.path)
	if os.IsNotExist(err) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("first-seen state: %w", err)
	}
	if err := f.load(data); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *FirstSeen) load(data []byte) error {
	type rec struct {
		k fsKey
		t int64
	}
	var recs []rec
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if s == "" || s[0] == '#' {
			continue
		}
		parts := strings.Split(s, "\t")
		if len(parts) != 3 {
			return fmt.Errorf("%s:%d: want 3 tab-separated fields", f.path, line)
		}
		t, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			return fmt.Errorf("%s:%d: bad time: %w", f.path, line, err)
		}
		var k fsKey
		switch parts[0] {
		case "d":
			n, err := Normalize(parts[1])
			if err != nil {
				return fmt.Errorf("%s:%d: bad domain: %w", f.path, line, err)
			}
			k.domain = n
		case "a":
			a, err := netip.ParseAddr(parts[1])
			if err != nil {
				return fmt.Errorf("%s:%d: bad address: %w", f.path, line, err)
			}
			k.addr = a
		default:
			return fmt.Errorf("%s:%d: unknown kind %q", f.path, line, parts[0])
		}
		recs = append(recs, rec{k, t})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	// Oldest first, so the LRU order after loading matches the saved one.
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].t < recs[j].t })
	for _, r := range recs {
		f.set.put(r.k, r.t)
	}
	f.loaded = len(recs)
	return nil
}

// Seen records a flow to domain (registrable domain; may be empty) or, when
// domain is empty, to addr, at packet time now, and reports whether it is
// the first since the sensor started (or since it was evicted).
func (f *FirstSeen) Seen(domain string, addr netip.Addr, now int64) bool {
	k := fsKey{domain: domain}
	if domain == "" {
		if !addr.IsValid() {
			return false
		}
		k.addr = addr.Unmap()
	}
	if f.set.update(k, now) {
		return false // the common case: a known key, no allocation
	}
	k.domain = strings.Clone(k.domain)
	if f.set.put(k, now) {
		f.newKeys.Add(1)
		return true
	}
	return false // another worker added it between get and put
}

// Save writes the set atomically (temporary file in the same directory,
// fsync, rename). Call it periodically and at shutdown.
func (f *FirstSeen) Save() error {
	if f.path == "" {
		return nil
	}
	type rec struct {
		k fsKey
		t int64
	}
	var recs []rec
	f.set.each(func(k fsKey, t int64) { recs = append(recs, rec{k, t}) })
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].t < recs[j].t })
	var b bytes.Buffer
	b.WriteString(firstSeenHeader + "\n")
	for _, r := range recs {
		if r.k.domain != "" {
			b.WriteString("d\t" + r.k.domain)
		} else {
			b.WriteString("a\t" + r.k.addr.String())
		}
		b.WriteString("\t" + strconv.FormatInt(r.t, 10) + "\n")
	}
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, ".firstseen-*")
	if err != nil {
		return fmt.Errorf("first-seen save: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("first-seen save: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("first-seen save: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("first-seen save: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("first-seen save: %w", err)
	}
	return nil
}

// FirstSeenStats is a snapshot of the tracker counters.
type FirstSeenStats struct {
	Size int `json:"size" metric:"tapdlp_destinations_first_seen_entries" help:"Destinations held by the first-seen tracker."`
	// entries read from the state file at start
	Loaded int `json:"loaded" metric:"tapdlp_destinations_first_seen_loaded" help:"First-seen entries read from the state file at start."`
	// first-seen answers given
	New uint64 `json:"new" metric:"tapdlp_destinations_first_seen_new_total" help:"Destinations seen for the first time."`
	// keys dropped by the size bound
	Evictions uint64 `json:"evictions" metric:"tapdlp_destinations_first_seen_evictions_total" help:"First-seen entries dropped by the size bound."`
}

// Stats returns the counters.
func (f *FirstSeen) Stats() FirstSeenStats {
	return FirstSeenStats{Size: f.set.len(), Loaded: f.loaded, New: f.newKeys.Load(), Evictions: f.set.evictions()}
}
