package sinks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// errSpoolFull is returned by append when the size cap is reached.
var errSpoolFull = errors.New("spool full")

// errSpoolClosed is returned by append after close.
var errSpoolClosed = errors.New("spool closed")

// firstSegID leaves room below the first segment so records that must go
// before everything spooled (a batch in flight at shutdown) can be prepended.
const firstSegID = uint64(1) << 32

const cursorFile = "cursor"

// spoolPos is a position in the spool: a segment id and a byte offset.
type spoolPos struct {
	seg uint64
	off int64
}

type segment struct {
	id   uint64
	size int64
}

// spool is a size-capped, ordered, on-disk FIFO of records in segment files
// under one directory. One goroutine appends, another reads and commits;
// both are background goroutines, never the caller of Sink.Write. The commit
// cursor is persisted so records survive a restart; it is written (rename)
// without fsync, so a crash of the machine may re-deliver, not lose, a batch.
type spool struct {
	mu        sync.Mutex
	dir       string
	maxBytes  int64
	segBytes  int64
	maxRecord int
	stats     *Stats

	segs   []segment // ascending id; the last one is the write segment when w != nil
	w      *os.File
	total  int64 // bytes in segs
	unread int64 // records after the read position
	uncom  int64 // records after the commit cursor

	read   spoolPos // next record to read
	rf     *os.File // open read segment
	rfID   uint64
	buf    []byte
	closed bool
}

func openSpool(dir string, maxBytes, segBytes int64, maxRecord int, stats *Stats) (*spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s := &spool{dir: dir, maxBytes: maxBytes, segBytes: segBytes, maxRecord: maxRecord, stats: stats}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".seg") || !e.Type().IsRegular() {
			if strings.HasSuffix(name, ".tmp") {
				_ = os.Remove(filepath.Join(dir, name)) // a prepend or cursor write cut short
			}
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 16, 64)
		if err != nil {
			continue
		}
		s.segs = append(s.segs, segment{id: id})
	}
	slices.SortFunc(s.segs, func(a, b segment) int { return cmpU64(a.id, b.id) })
	cur, ok := s.loadCursor()
	if !ok && len(s.segs) > 0 {
		cur = spoolPos{seg: s.segs[0].id, off: int64(segHeaderLen)}
	}
	kept := s.segs[:0]
	for _, sg := range s.segs {
		path := s.segPath(sg.id)
		if sg.id < cur.seg {
			_ = os.Remove(path)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("spool %s: %w", path, err)
		}
		start := segHeaderLen
		if sg.id == cur.seg && cur.off > int64(segHeaderLen) && cur.off <= int64(len(data)) {
			start = int(cur.off)
		}
		if len(data) >= segHeaderLen && string(data[:segHeaderLen]) == segMagicV1 {
			// Spooled by a version that wrote bare JSON: convert once. The
			// cursor moves to the new image first, so a crash in between
			// delivers some records twice, never loses one.
			data = migrateV1(data, start, maxRecord)
			if err := writeSync(path+".tmp", data); err != nil {
				return nil, err
			}
			if sg.id == cur.seg {
				cur.off = int64(segHeaderLen)
				if err := s.saveCursor(cur); err != nil {
					return nil, err
				}
			}
			if err := os.Rename(path+".tmp", path); err != nil {
				return nil, fmt.Errorf("spool %s: %w", path, err)
			}
			start = segHeaderLen
		}
		sc := scanSegment(data, start, maxRecord)
		if sc.records == 0 {
			if sc.status != recEnd {
				s.stats.SpoolCorrupt.Add(1)
			}
			_ = os.Remove(path)
			continue
		}
		if sc.status != recEnd {
			// A torn or corrupt tail (crash mid-append): cut it off so
			// the reader stops at the last good record.
			s.stats.SpoolCorrupt.Add(1)
			if err := os.Truncate(path, int64(sc.goodEnd)); err != nil {
				return nil, fmt.Errorf("spool %s: %w", path, err)
			}
			data = data[:sc.goodEnd]
		}
		sg.size = int64(len(data))
		s.total += sg.size
		s.unread += int64(sc.records)
		kept = append(kept, sg)
	}
	s.segs = kept
	s.uncom = s.unread
	if len(s.segs) > 0 {
		s.read = spoolPos{seg: s.segs[0].id, off: int64(segHeaderLen)}
		if s.segs[0].id == cur.seg && cur.off > int64(segHeaderLen) {
			s.read.off = cur.off
		}
	}
	s.stats.SpoolBytes.Store(s.total)
	return s, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *spool) segPath(id uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%016x.seg", id))
}

func (s *spool) loadCursor() (spoolPos, bool) {
	b, err := os.ReadFile(filepath.Join(s.dir, cursorFile))
	if err != nil || len(b) != 16 {
		return spoolPos{}, false
	}
	return spoolPos{seg: binary.LittleEndian.Uint64(b), off: int64(binary.LittleEndian.Uint64(b[8:]))}, true
}

func (s *spool) saveCursor(p spoolPos) error {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], p.seg)
	binary.LittleEndian.PutUint64(b[8:], uint64(p.off))
	tmp := filepath.Join(s.dir, cursorFile+".tmp")
	if err := os.WriteFile(tmp, b[:], 0o640); err != nil {
		return fmt.Errorf("spool cursor: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, cursorFile)); err != nil {
		return fmt.Errorf("spool cursor: %w", err)
	}
	return nil
}

// Unread reports how many spooled records have not been handed out by read.
func (s *spool) Unread() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unread
}

// appendOne appends one record with a single write(2): once it returns
// nil the record is in the kernel's page cache, so the process dying at
// any later instant (kill -9 included) cannot lose it.
func (s *spool) appendOne(rec []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	one := [1][]byte{rec}
	n, err := s.appendLocked(one[:])
	if err == nil && n != 1 {
		err = errSpoolFull
	}
	return err
}

// append adds records at the tail and returns how many it took; it stops
// with errSpoolFull at the size cap.
func (s *spool) append(recs [][]byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(recs)
}

func (s *spool) appendLocked(recs [][]byte) (int, error) {
	if s.closed {
		return 0, errSpoolClosed
	}
	buf := s.buf[:0]
	n := 0
	var err error
	for _, r := range recs {
		need := int64(recHeaderLen + len(r))
		if s.total+int64(len(buf))+need > s.maxBytes {
			err = errSpoolFull
			break
		}
		if s.w == nil || (s.segs[len(s.segs)-1].size+int64(len(buf))+need > s.segBytes && s.segs[len(s.segs)-1].size+int64(len(buf)) > int64(segHeaderLen)) {
			if ferr := s.flushLocked(buf); ferr != nil {
				return 0, ferr
			}
			buf = buf[:0]
			if ferr := s.rollLocked(); ferr != nil {
				return n, ferr
			}
		}
		buf = appendRecord(buf, r)
		n++
	}
	if ferr := s.flushLocked(buf); ferr != nil {
		return 0, ferr
	}
	s.buf = buf[:0]
	return n, err
}

// flushLocked writes framed records to the write segment in one call so a
// reader holding the lock never sees half a batch.
func (s *spool) flushLocked(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	if _, err := s.w.Write(buf); err != nil {
		return fmt.Errorf("spool write: %w", err)
	}
	last := &s.segs[len(s.segs)-1]
	last.size += int64(len(buf))
	s.total += int64(len(buf))
	cnt := int64(countRecords(buf))
	s.unread += cnt
	s.uncom += cnt
	s.stats.SpoolBytes.Store(s.total)
	return nil
}

func countRecords(buf []byte) int {
	c := 0
	for len(buf) >= recHeaderLen {
		l := int(binary.LittleEndian.Uint32(buf))
		buf = buf[recHeaderLen+l:]
		c++
	}
	return c
}

// rollLocked syncs and closes the write segment and starts a new one.
func (s *spool) rollLocked() error {
	if s.w != nil {
		err := s.w.Sync()
		if cerr := s.w.Close(); err == nil {
			err = cerr
		}
		s.w = nil
		if err != nil {
			return fmt.Errorf("spool segment: %w", err)
		}
	}
	id := firstSegID
	if len(s.segs) > 0 {
		id = s.segs[len(s.segs)-1].id + 1
	}
	f, err := os.OpenFile(s.segPath(id), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("spool segment: %w", err)
	}
	if _, err := f.Write([]byte(segMagic)); err != nil {
		_ = f.Close()
		return fmt.Errorf("spool segment: %w", err)
	}
	s.w = f
	s.segs = append(s.segs, segment{id: id, size: int64(segHeaderLen)})
	s.total += int64(segHeaderLen)
	if len(s.segs) == 1 {
		s.read = spoolPos{seg: id, off: int64(segHeaderLen)}
	}
	return nil
}

// readBatch hands out up to maxRecs records (about maxBytes) after the read
// position, in order, and the position just past them for commit. The
// records are copies the caller owns.
func (s *spool) readBatch(maxRecs int, maxBytes int) ([][]byte, spoolPos, error) {
	return s.readBatchEnds(maxRecs, maxBytes, nil)
}

// readBatchEnds is readBatch that also appends to *ends the position just
// past each record handed out, so a partly delivered batch can be
// committed up to the last record that was delivered.
func (s *spool) readBatchEnds(maxRecs int, maxBytes int, ends *[]spoolPos) ([][]byte, spoolPos, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	var size int
	for len(out) < maxRecs && size < maxBytes {
		idx := s.segIndex(s.read.seg)
		if idx < 0 {
			break
		}
		if s.segs[idx].id != s.read.seg {
			s.read = spoolPos{seg: s.segs[idx].id, off: int64(segHeaderLen)}
		}
		sg := s.segs[idx]
		if s.read.off >= sg.size {
			if idx == len(s.segs)-1 {
				break // caught up with the writer
			}
			s.read = spoolPos{seg: s.segs[idx+1].id, off: int64(segHeaderLen)}
			continue
		}
		if s.rf == nil || s.rfID != sg.id {
			if s.rf != nil {
				_ = s.rf.Close()
			}
			f, err := os.Open(s.segPath(sg.id))
			if err != nil {
				s.rf = nil
				return out, s.read, fmt.Errorf("spool read: %w", err)
			}
			s.rf, s.rfID = f, sg.id
		}
		want := min(sg.size-s.read.off, int64(max(maxBytes-size, 64<<10)))
		chunk := make([]byte, want)
		got, err := s.rf.ReadAt(chunk, s.read.off)
		if err != nil && !errors.Is(err, io.EOF) {
			return out, s.read, fmt.Errorf("spool read: %w", err)
		}
		chunk = chunk[:got]
		progressed := false
		for len(out) < maxRecs {
			p, n, st := decodeRecord(chunk, s.maxRecord)
			if st != recOK {
				if st == recTruncated && s.read.off+int64(len(chunk)) < sg.size {
					break // the chunk ended inside a record: read more next round
				}
				if st != recEnd {
					// Torn or corrupt: nothing after it in this segment can be
					// trusted; skip to the next one.
					s.stats.SpoolCorrupt.Add(1)
					s.read.off = sg.size
					progressed = true
				}
				break
			}
			out = append(out, p)
			size += n
			s.read.off += int64(n)
			if ends != nil {
				*ends = append(*ends, s.read)
			}
			chunk = chunk[n:]
			progressed = true
		}
		if !progressed {
			// A single record bigger than the chunk: read exactly it.
			if s.read.off+recHeaderLen <= sg.size {
				var h [recHeaderLen]byte
				if _, err := s.rf.ReadAt(h[:], s.read.off); err == nil {
					l := int64(binary.LittleEndian.Uint32(h[:]))
					if l > 0 && l <= int64(s.maxRecord) && s.read.off+recHeaderLen+l <= sg.size {
						maxBytes = size + int(recHeaderLen+l)
						continue
					}
				}
			}
			s.stats.SpoolCorrupt.Add(1)
			s.read.off = sg.size
		}
	}
	s.unread -= int64(len(out))
	if s.unread < 0 || len(out) == 0 && s.atEndLocked() {
		s.unread = 0
	}
	return out, s.read, nil
}

func (s *spool) atEndLocked() bool {
	return len(s.segs) == 0 || (s.read.seg == s.segs[len(s.segs)-1].id && s.read.off >= s.segs[len(s.segs)-1].size)
}

func (s *spool) segIndex(id uint64) int {
	for i, sg := range s.segs {
		if sg.id == id {
			return i
		}
	}
	if len(s.segs) > 0 && id < s.segs[0].id {
		return 0
	}
	return -1
}

// commit records that n records up to pos were delivered: fully consumed
// segments are deleted and the cursor is persisted.
func (s *spool) commit(pos spoolPos, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uncom -= int64(n)
	if s.uncom < 0 {
		s.uncom = 0
	}
	kept := s.segs[:0]
	last := len(s.segs) - 1
	for i, sg := range s.segs {
		active := i == last && s.w != nil
		if sg.id < pos.seg || (sg.id == pos.seg && pos.off >= sg.size && !active) {
			if s.rf != nil && s.rfID == sg.id {
				_ = s.rf.Close()
				s.rf = nil
			}
			_ = os.Remove(s.segPath(sg.id))
			s.total -= sg.size
			continue
		}
		kept = append(kept, sg)
	}
	s.segs = kept
	if s.uncom == 0 && s.unread == 0 && s.w != nil && len(s.segs) == 1 {
		// Everything delivered: drop the write segment too, so an idle
		// spool holds no bytes.
		_ = s.w.Close()
		s.w = nil
		if s.rf != nil {
			_ = s.rf.Close()
			s.rf = nil
		}
		_ = os.Remove(s.segPath(s.segs[0].id))
		s.total -= s.segs[0].size
		s.segs = s.segs[:0]
	}
	s.stats.SpoolBytes.Store(s.total)
	if len(s.segs) == 0 {
		err := os.Remove(filepath.Join(s.dir, cursorFile))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool cursor: %w", err)
		}
		return nil
	}
	return s.saveCursor(pos)
}

// prepend puts records before everything spooled. It is used once, at
// shutdown, for a batch taken from memory whose delivery failed. The cursor
// is moved first: a crash in between re-delivers, it does not lose.
func (s *spool) prepend(recs [][]byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf []byte
	buf = append(buf, segMagic...)
	n := 0
	for _, r := range recs {
		if s.total+int64(len(buf))+int64(recHeaderLen+len(r)) > s.maxBytes {
			break
		}
		buf = appendRecord(buf, r)
		n++
	}
	if n == 0 {
		if len(recs) > 0 {
			return 0, errSpoolFull
		}
		return 0, nil
	}
	id := firstSegID
	if len(s.segs) > 0 {
		id = s.segs[0].id - 1
	}
	if err := s.saveCursor(spoolPos{seg: id, off: int64(segHeaderLen)}); err != nil {
		return 0, err
	}
	tmp := s.segPath(id) + ".tmp"
	if err := writeSync(tmp, buf); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, s.segPath(id)); err != nil {
		return 0, fmt.Errorf("spool prepend: %w", err)
	}
	s.segs = slices.Insert(s.segs, 0, segment{id: id, size: int64(len(buf))})
	s.total += int64(len(buf))
	s.unread += int64(n)
	s.uncom += int64(n)
	s.read = spoolPos{seg: id, off: int64(segHeaderLen)}
	s.stats.SpoolBytes.Store(s.total)
	var err error
	if n < len(recs) {
		err = errSpoolFull
	}
	return n, err
}

func writeSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("spool write: %w", err)
	}
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool write: %w", err)
	}
	return nil
}

// close syncs the write segment and releases files; spooled records stay on
// disk for the next start.
func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.w != nil {
		err = s.w.Sync()
		if cerr := s.w.Close(); err == nil {
			err = cerr
		}
		s.w = nil
	}
	if s.rf != nil {
		_ = s.rf.Close()
		s.rf = nil
	}
	if err != nil {
		return fmt.Errorf("spool close: %w", err)
	}
	return nil
}
