package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// stateVersion changes whenever the state file layout changes.
const stateVersion = 1

// maxStateFile bounds what Load reads: 20000 keys with full rings are about
// 30 MB of JSON; anything far beyond that is not ours.
const maxStateFile = 256 << 20

// ErrStateFormat is wrapped by Load for a file that is not a volume state.
var ErrStateFormat = errors.New("rules: bad volume state file")

type stateFile struct {
	Version  int        `json:"version"`
	BucketNs int64      `json:"bucket_ns"`
	Keys     []stateKey `json:"keys"`
}

type stateKey struct {
	Kind     string   `json:"kind"`
	Src      string   `json:"src,omitempty"`
	Dst      string   `json:"dst,omitempty"`
	Last     int64    `json:"last"`
	Baseline float64  `json:"baseline"`
	Seen     uint64   `json:"seen"`
	Fine     []uint64 `json:"fine,omitempty"`
	Coarse   []uint64 `json:"coarse,omitempty"`
}

// Save writes every key's rings and baseline to path atomically (temp file
// in the same directory, fsync, rename), so a crash leaves the old file.
func (v *Volume) Save(path string) error {
	st := stateFile{Version: stateVersion, BucketNs: v.bucketNs}
	for i := range v.shards {
		s := &v.shards[i]
		s.mu.Lock()
		// Least recently active first, so Load into a smaller tracker keeps
		// the most recent keys.
		s.c.Each(func(ent *volEntry) {
			e, k := &ent.Value, ent.Key
			st.Keys = append(st.Keys, stateKey{
				Kind: k.kind.name(), Src: k.src, Dst: k.dst, Last: e.last,
				Baseline: e.baseline, Seen: e.seen,
				Fine: append([]uint64(nil), e.fine[:]...), Coarse: append([]uint64(nil), e.coarse[:]...),
			})
		})
		s.mu.Unlock()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".tmp*")
	if err != nil {
		return fmt.Errorf("rules: save volume state: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	enc := json.NewEncoder(tmp)
	if err := enc.Encode(&st); err != nil {
		tmp.Close()
		return fmt.Errorf("rules: save volume state %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("rules: save volume state %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("rules: save volume state %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rules: save volume state %s: %w", path, err)
	}
	return nil
}

// Load merges a state file written by Save into v. A missing file is not an
// error (first start). If the bucket width changed, baselines are rescaled
// and the rings dropped. Keys beyond MaxKeys are evicted as usual (counted).
func (v *Volume) Load(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rules: load volume state: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return fmt.Errorf("rules: load volume state %s: %w", path, err)
	}
	if len(data) > maxStateFile {
		return fmt.Errorf("%w: %s larger than %d bytes", ErrStateFormat, path, maxStateFile)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrStateFormat, path, err)
	}
	if st.Version != stateVersion || st.BucketNs <= 0 {
		return fmt.Errorf("%w: %s: version %d, bucket %d", ErrStateFormat, path, st.Version, st.BucketNs)
	}
	sameBucket := st.BucketNs == v.bucketNs
	scale := float64(v.bucketNs) / float64(st.BucketNs)
	for i, sk := range st.Keys {
		kind, ok := kindFromName(sk.Kind)
		if !ok || sk.Last < 0 || math.IsNaN(sk.Baseline) || math.IsInf(sk.Baseline, 0) || sk.Baseline < 0 ||
			sk.Fine != nil && len(sk.Fine) != fineBuckets || sk.Coarse != nil && len(sk.Coarse) != coarseBuckets {
			return fmt.Errorf("%w: %s: key %d is malformed", ErrStateFormat, path, i)
		}
		k := key{kind: kind, src: sk.Src, dst: sk.Dst}
		e := &volData{last: sk.Last, baseline: sk.Baseline, seen: sk.Seen}
		if sameBucket {
			copy(e.fine[:], sk.Fine)
			copy(e.coarse[:], sk.Coarse)
		} else {
			e.baseline *= scale
			e.last = sk.Last * st.BucketNs / v.bucketNs
		}
		v.insert(k, e)
	}
	return nil
}

// insert stores a loaded key as the most recently active one (replacing
// what the key held), evicting as usual.
func (v *Volume) insert(k key, e *volData) {
	s := v.shard(k)
	s.mu.Lock()
	s.c.Add(k, *e)
	s.mu.Unlock()
}
