package pcaplog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Config bounds the store and the files. Zero values are not defaults:
// the caller (the configuration, alerts.pcap_*) sets each.
type Config struct {
	Dir        string // created mode 0700 if missing
	Streams    int    // one per worker
	FlowBytes  int64  // frame bytes kept per flow before its alert
	AfterBytes int64  // frame bytes written per flow after its first alert
	Memory     int64  // per Stream: the arena holding kept frames, bookkeeping included
	FileSize   int64  // a file is rotated before it grows past this
	MaxFiles   int    // the oldest files are deleted beyond this many …
	MaxBytes   int64  // … or beyond this many bytes in all
	// Block makes a Stream wait for the writer when its queue is full
	// instead of dropping (replay: the files must not depend on the disk's
	// speed). Live capture drops, counted: a worker never waits on a disk.
	Block bool
	Log   *slog.Logger
}

// Log owns the directory, the writer goroutine and the Streams.
type Log struct {
	cfg     Config
	q       chan item
	streams []*Stream
	c       counters // the writer's
	done    chan struct{}
	log     *slog.Logger

	mu    sync.Mutex
	live  int // Streams not closed
	ended bool

	// writer goroutine only
	open     []openFile // per stream
	files    []kept     // files in the directory, oldest first
	total    int64
	err      error
	failures int // files that failed, for the log's rate limit

	beforeWrite func() // tests: runs before each queued buffer is handled
}

type item struct {
	stream  int32
	seq     uint32
	link    uint16
	packets int32
	buf     []byte
	close   bool
}

type openFile struct {
	f      *os.File
	seq    uint32
	failed bool // seq's file could not be created or written: its items are dropped
	idx    int  // index in files
}

type kept struct {
	name string
	size int64
	seq  uint32
}

// Open creates the directory if needed, takes stock of the pcaps already
// in it (deleting beyond the limits) and starts the writer. New files are
// numbered after the newest one there, so nothing is overwritten.
func Open(cfg Config) (*Log, error) {
	if cfg.Dir == "" || cfg.Streams <= 0 {
		return nil, errors.New("pcaplog: no directory or no streams")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("alerts.pcap_dir: %w", err)
	}
	ents, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("alerts.pcap_dir: %w", err)
	}
	l := &Log{cfg: cfg, log: cfg.Log, done: make(chan struct{}),
		q:    make(chan item, cfg.Streams*(buffersPerStream+1)),
		open: make([]openFile, cfg.Streams)}
	var maxSeq uint32
	for _, e := range ents {
		seq, ok := parseName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		l.files = append(l.files, kept{name: e.Name(), size: info.Size(), seq: seq})
		l.total += info.Size()
		maxSeq = max(maxSeq, seq)
	}
	slices.SortFunc(l.files, func(a, b kept) int {
		if a.seq != b.seq {
			return int(a.seq) - int(b.seq)
		}
		return strings.Compare(a.name, b.name)
	})
	for i := range l.open {
		l.open[i].idx = -1
	}
	l.retain()
	for i := range cfg.Streams {
		s := &Stream{l: l, id: int32(i), c: new(counters), afterBytes: cfg.AfterBytes, fileSize: cfg.FileSize,
			seq: maxSeq, free: make(chan []byte, buffersPerStream)}
		s.st.init(cfg.Memory, cfg.FlowBytes, s.c)
		l.streams = append(l.streams, s)
	}
	l.live = cfg.Streams
	go l.run()
	return l, nil
}

// parseName reads the sequence number of a file this package named.
func parseName(name string) (uint32, bool) {
	rest, ok := strings.CutPrefix(name, "alerts-")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".pcap")
	if !ok {
		return 0, false
	}
	seq, w, ok := strings.Cut(rest, "-w")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(seq, 10, 32)
	if _, werr := strconv.ParseUint(w, 10, 31); err != nil || werr != nil {
		return 0, false
	}
	return uint32(n), true
}

// Stream returns worker i's Stream.
func (l *Log) Stream(i int) *Stream { return l.streams[i] }

// closed is called by each Stream's Close; the last one ends the writer.
func (l *Log) closed() {
	l.mu.Lock()
	l.live--
	last := l.live == 0 && !l.ended
	if last {
		l.ended = true
	}
	l.mu.Unlock()
	if last {
		close(l.q)
	}
}

// Wait returns once every Stream is closed and the writer has written and
// closed every file, with the first file error, if any (errors are also
// counted and logged).
func (l *Log) Wait() error {
	<-l.done
	return l.err
}

func (l *Log) run() {
	defer close(l.done)
	for it := range l.q {
		if l.beforeWrite != nil {
			l.beforeWrite()
		}
		o := &l.open[it.stream]
		if it.close {
			l.closeFile(o)
			continue
		}
		if o.seq != it.seq || (o.f == nil && !o.failed) {
			if o.f != nil {
				l.closeFile(o)
				l.c.Rotated.Add(1)
			}
			l.openFile(o, it)
		}
		if o.f == nil {
			l.c.WriteErrors.Add(uint64(it.packets))
		} else if _, err := o.f.Write(it.buf); err != nil {
			l.c.WriteErrors.Add(uint64(it.packets))
			l.fail(o, it, err)
		} else {
			n := int64(len(it.buf))
			l.c.Packets.Add(uint64(it.packets))
			l.c.Bytes.Add(uint64(n))
			l.files[o.idx].size += n
			l.total += n
			l.retain()
		}
		s := l.streams[it.stream]
		s.free <- it.buf[:0]
	}
	for i := range l.open {
		l.closeFile(&l.open[i])
	}
}

func (l *Log) openFile(o *openFile, it item) {
	o.seq, o.failed, o.idx = it.seq, false, -1
	name := fileName(it.seq, it.stream)
	f, err := os.OpenFile(filepath.Join(l.cfg.Dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		l.fail(o, it, err)
		return
	}
	var h [fileHeaderLen]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b23c4d) // nanosecond timestamps
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], Snaplen)
	binary.LittleEndian.PutUint32(h[20:], uint32(fileLink(it.link)))
	if _, err := f.Write(h[:]); err != nil {
		f.Close()
		l.fail(o, it, err)
		return
	}
	o.f = f
	l.files = append(l.files, kept{name: name, size: fileHeaderLen, seq: it.seq})
	o.idx = len(l.files) - 1
	l.total += fileHeaderLen
}

// fileLink is the LINKTYPE_ a file is written with: the DLT numbers some
// libpcap builds used for raw IP become LINKTYPE_RAW.
func fileLink(l uint16) uint16 {
	if l == 12 || l == 14 {
		return 101
	}
	return l
}

// fail drops the file's items from now on and makes its Stream start a new
// file: the offsets promised in this one can no longer be kept. The caller
// counts the packets.
func (l *Log) fail(o *openFile, it item, err error) {
	if o.f != nil {
		o.f.Close()
		o.f = nil
	}
	o.failed = true
	l.streams[it.stream].broken.Store(true)
	if l.err == nil {
		l.err = fmt.Errorf("alert pcap %s: %w", fileName(it.seq, it.stream), err)
	}
	l.failures++
	if l.failures <= 10 || l.failures%1000 == 0 { // rate-limited
		l.log.Error("alert pcap write failed; packets dropped", "file", fileName(it.seq, it.stream), "err", err, "failures", l.failures)
	}
}

func (l *Log) closeFile(o *openFile) {
	if o.f != nil {
		if err := o.f.Close(); err != nil && l.err == nil {
			l.err = fmt.Errorf("alert pcap: %w", err)
		}
		o.f = nil
	}
	o.idx = -1
	l.retain()
}

// retain deletes the oldest closed files while there are more than
// MaxFiles or more than MaxBytes in all. Files still being written stay.
func (l *Log) retain() {
	over := func() bool {
		return (l.cfg.MaxFiles > 0 && len(l.files) > l.cfg.MaxFiles) || (l.cfg.MaxBytes > 0 && l.total > l.cfg.MaxBytes)
	}
	for i := 0; i < len(l.files) && over(); {
		if l.isOpen(i) {
			i++
			continue
		}
		k := l.files[i]
		if err := os.Remove(filepath.Join(l.cfg.Dir, k.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Warn("alert pcap: deleting an old file", "file", k.name, "err", err)
			i++
			continue
		}
		l.c.Deleted.Add(1)
		l.total -= k.size
		l.files = slices.Delete(l.files, i, i+1)
		for j := range l.open {
			if l.open[j].idx > i {
				l.open[j].idx--
			}
		}
	}
}

func (l *Log) isOpen(i int) bool {
	for j := range l.open {
		if l.open[j].f != nil && l.open[j].idx == i {
			return true
		}
	}
	return false
}
