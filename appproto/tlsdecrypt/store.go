package tlsdecrypt

import (
	"container/list"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"
)

// secret is one traffic secret; n == 0 means absent.
type secret struct {
	b [MaxSecretLen]byte
	n uint8
}

func (s *secret) bytes() []byte { return s.b[:s.n] }

// Secrets are the secrets known for one client random. They are key
// material: never log or format them.
type Secrets struct {
	Master      secret // TLS 1.2 master secret (CLIENT_RANDOM)
	ClientEarly secret
	ClientHS    secret
	ServerHS    secret
	ClientApp   secret
	ServerApp   secret
}

func (s *Secrets) slot(l Label) *secret {
	switch l {
	case LabelClientRandom:
		return &s.Master
	case LabelClientEarly:
		return &s.ClientEarly
	case LabelClientHandshake:
		return &s.ClientHS
	case LabelServerHandshake:
		return &s.ServerHS
	case LabelClientTraffic0:
		return &s.ClientApp
	case LabelServerTraffic0:
		return &s.ServerApp
	}
	return nil
}

// has13 reports whether the TLS 1.3 secrets needed past the handshake
// are all present.
func (s *Secrets) has13() bool {
	return s.ClientHS.n > 0 && s.ServerHS.n > 0 && s.ClientApp.n > 0 && s.ServerApp.n > 0
}

// KeySource is what a Flow needs from a key store: a lookup by client
// random and a generation number that changes whenever keys are added, so
// a flow waiting for its key retries only when something new arrived.
type KeySource interface {
	// Lookup copies the secrets for random into dst and reports whether
	// any were known.
	Lookup(random *[32]byte, dst *Secrets) bool
	// Generation changes whenever secrets are added.
	Generation() uint64
}

// StoreStats are the store's counters.
type StoreStats struct {
	Entries   int    // client randoms held
	Bytes     int    // accounted bytes held
	Added     uint64 // secrets added (lines)
	Evicted   uint64 // entries evicted to stay under MaxBytes
	Hits      uint64 // lookups that found an entry
	Misses    uint64 // lookups that found nothing
	Conflicts uint64 // a secret replaced by a different value for the same random and label
	// Parse sums what the key log parsers feeding the store saw: files
	// read whole, followed files and pcapng secrets blocks.
	Parse ParseStats
	// ReadErrors counts followed key log files that could not be opened
	// or read at a poll (a file not there yet counts at every poll).
	ReadErrors uint64
}

// DefaultStoreBytes is the store's bound when MaxBytes is 0.
const DefaultStoreBytes = 16 << 20

// entryCost is the accounted size of one entry: the entry, its list
// element and a map slot, rounded up.
const entryCost = int(unsafe.Sizeof(storeEntry{})) + 64 + 48

type storeEntry struct {
	random  [32]byte
	secrets Secrets
}

// Store holds key log secrets by client random, bounded in bytes with
// least-recently-used eviction. It is safe for concurrent use: workers
// look keys up while followers and loaders add them. Lookups are rare
// (once per TLS flow, or when the generation changed while a flow waits),
// so one mutex is enough.
type Store struct {
	maxEntries int

	mu  sync.Mutex
	m   map[[32]byte]*list.Element
	lru list.List // front: most recently used; values are *storeEntry
	st  StoreStats
	gen atomic.Uint64
}

// NewStore returns a store bounded to maxBytes (0 means DefaultStoreBytes).
func NewStore(maxBytes int) *Store {
	if maxBytes <= 0 {
		maxBytes = DefaultStoreBytes
	}
	s := &Store{maxEntries: max(1, maxBytes/entryCost), m: make(map[[32]byte]*list.Element)}
	s.lru.Init()
	return s
}

// Generation implements KeySource.
func (s *Store) Generation() uint64 { return s.gen.Load() }

// Lookup implements KeySource.
func (s *Store) Lookup(random *[32]byte, dst *Secrets) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[*random]
	if !ok {
		s.st.Misses++
		return false
	}
	s.st.Hits++
	s.lru.MoveToFront(e)
	*dst = e.Value.(*storeEntry).secrets
	return true
}

// Add stores one parsed line. Lines with labels the store does not keep
// (exporter secrets, unknown labels) are ignored.
func (s *Store) Add(l *Line) {
	if l.SecretLen == 0 {
		return
	}
	var tmp Secrets
	if tmp.slot(l.Label) == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ent *storeEntry
	if e, ok := s.m[l.ClientRandom]; ok {
		s.lru.MoveToFront(e)
		ent = e.Value.(*storeEntry)
	} else {
		for s.lru.Len() >= s.maxEntries {
			old := s.lru.Back()
			oe := old.Value.(*storeEntry)
			delete(s.m, oe.random)
			s.lru.Remove(old)
			*oe = storeEntry{} // wipe
			s.st.Evicted++
		}
		ent = &storeEntry{random: l.ClientRandom}
		s.m[l.ClientRandom] = s.lru.PushFront(ent)
	}
	slot := ent.secrets.slot(l.Label)
	if slot.n != 0 && (slot.n != l.SecretLen || slot.b != l.Secret) {
		s.st.Conflicts++
	}
	slot.b = l.Secret
	slot.n = l.SecretLen
	s.st.Added++
	s.gen.Add(1)
}

// Stats returns a snapshot of the counters.
func (s *Store) Stats() StoreStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Entries = s.lru.Len()
	st.Bytes = st.Entries * entryCost
	return st
}

// AddKeyLog parses key log text (a whole file, or the payload of a pcapng
// Decryption Secrets Block of type TLS) and stores its secrets. b is not
// retained.
func (s *Store) AddKeyLog(b []byte) ParseStats {
	p := LineParser{Emit: s.Add}
	p.Write(b)
	p.Flush()
	s.countParse(p.Stats)
	return p.Stats
}

// countParse adds a parser's counts (or the growth of a follower's).
func (s *Store) countParse(ps ParseStats) {
	s.mu.Lock()
	s.st.Parse.Add(ps)
	s.mu.Unlock()
}

// countReadError counts a followed file that could not be opened or read.
func (s *Store) countReadError() {
	s.mu.Lock()
	s.st.ReadErrors++
	s.mu.Unlock()
}

// ErrTooLarge: a key log file is larger than the configured bound.
var ErrTooLarge = errors.New("tlsdecrypt: key log file too large")

// LoadFile reads a whole key log file of at most maxBytes (0 means
// DefaultMaxFileBytes) into the store. Errors name the path and the cause,
// never file content.
func (s *Store) LoadFile(path string, maxBytes int64) (ParseStats, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFileBytes
	}
	f, err := os.Open(path)
	if err != nil {
		return ParseStats{}, fmt.Errorf("tlsdecrypt: key log: %w", err)
	}
	defer f.Close()
	p := LineParser{Emit: s.Add}
	defer func() { s.countParse(p.Stats) }()
	n, err := io.Copy(&p, io.LimitReader(f, maxBytes+1))
	if err != nil {
		return p.Stats, fmt.Errorf("tlsdecrypt: key log %s: read: %w", path, err)
	}
	if n > maxBytes {
		return p.Stats, fmt.Errorf("tlsdecrypt: key log %s: %w (limit %d bytes)", path, ErrTooLarge, maxBytes)
	}
	p.Flush()
	return p.Stats, nil
}
