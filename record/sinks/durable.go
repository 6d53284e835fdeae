package sinks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tapdlp/tapdlp/record"
)

// ErrDropped is returned by Write when a record was dropped (and counted)
// instead of queued; the reason is in the sink's Stats.
var ErrDropped = errors.New("record dropped")

// transport delivers records to one network destination. It is used by a
// single goroutine at a time.
type transport interface {
	// send delivers recs (entries made by frame) in order and returns how many leading records were
	// delivered; with a non-nil error the rest are retried later. It must
	// return once ctx is done.
	send(ctx context.Context, recs [][]byte) (int, error)
	close() error
}

// queueOptions bound a durable sink. Zero values mean the defaults below.
type queueOptions struct {
	MemRecords      int           // memory queue capacity in records (default 65536)
	MemBytes        int64         // memory queue capacity in bytes (default 64 MiB)
	BatchRecords    int           // records per send (default 512)
	BatchBytes      int           // bytes per send (default 1 MiB)
	Backoff         time.Duration // first retry delay (default 100ms), doubled up to MaxBackoff
	MaxBackoff      time.Duration // default 30s
	ShutdownTimeout time.Duration // how long Close tries to deliver before spooling (default 5s)
	SpoolDir        string        // "" disables the spool (records drop when memory is full)
	SpoolBytes      int64         // spool size cap (default 1 GiB)
	SegmentBytes    int64         // spool segment size (default 16 MiB)
	MaxRecord       int           // largest record accepted (default 4 MiB)
}

func (o *queueOptions) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def64 := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MemRecords, 65536)
	def64(&o.MemBytes, 64<<20)
	def(&o.BatchRecords, 512)
	def(&o.BatchBytes, 1<<20)
	defD(&o.Backoff, 100*time.Millisecond)
	defD(&o.MaxBackoff, 30*time.Second)
	defD(&o.ShutdownTimeout, 5*time.Second)
	def64(&o.SpoolBytes, 1<<30)
	def64(&o.SegmentBytes, 16<<20)
	def(&o.MaxRecord, 4<<20)
	o.SegmentBytes = min(o.SegmentBytes, o.SpoolBytes)
}

// durable puts a write-ahead disk spool (or, without one, a bounded memory
// queue) in front of a transport.
//
// With a spool, Write appends the record to the spool before it returns
// (write-ahead): a record is on disk before any send of it is attempted, so
// the process dying at any instant, kill -9 included, loses nothing that
// Write accepted. The sender reads batches back from the spool and commits
// each one (persisting the read cursor) once the transport delivered it;
// records delivered but not yet committed when the process dies are
// delivered again at the next start: at-least-once, with at most the one
// batch in flight duplicated. The memory queue then only catches records
// the spool failed to write (a disk error), so a broken disk does not stop
// delivery; those, and only those, are not crash-safe.
//
// Without a spool, records wait in the memory queue and are dropped
// (counted) when it is full or when Close cannot deliver them in time.
// Order of delivery: the in-flight batch, then the spool, then memory.
type durable struct {
	name  string
	t     transport
	stats *Stats
	opt   queueOptions
	sp    *spool // nil: no spool

	mu     sync.Mutex
	q      [][]byte
	qBytes int64
	closed bool

	wake      chan struct{} // sender
	runCtx    context.Context
	cancel    context.CancelFunc
	senderOut chan struct{}
	closeOnce sync.Once
	closeErr  error

	// Owned by the sender goroutine; read by Close after it exits.
	pending      [][]byte
	pendingSpool bool
	ends         []spoolPos // spool position after each pending record
}

func newDurable(name string, t transport, opt queueOptions, stats *Stats) (*durable, error) {
	opt.setDefaults()
	d := &durable{
		name: name, t: t, stats: stats, opt: opt,
		wake:      make(chan struct{}, 1),
		senderOut: make(chan struct{}),
	}
	if opt.SpoolDir != "" {
		sp, err := openSpool(opt.SpoolDir, opt.SpoolBytes, opt.SegmentBytes, opt.MaxRecord+frameHeader+255, stats)
		if err != nil {
			return nil, fmt.Errorf("sink %s: %w", name, err)
		}
		d.sp = sp
	}
	d.runCtx, d.cancel = context.WithCancel(context.Background())
	go d.sender()
	return d, nil
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Write appends rec, framed with its kind and key, to the spool
// (write-ahead; see durable), or copies it into the memory queue when there
// is no spool or the spool could not be written. It never waits for the
// network.
func (d *durable) Write(enc record.Encoded) error {
	if len(enc.JSON) > d.opt.MaxRecord || len(enc.JSON) == 0 {
		d.stats.Drop(DropTooLarge, 1)
		return fmt.Errorf("sink %s: %d-byte record: %w", d.name, len(enc.JSON), ErrDropped)
	}
	rec := frame(enc)
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		d.stats.Drop(DropClosed, 1)
		return fmt.Errorf("sink %s: %w", d.name, record.ErrClosed)
	}
	reason := DropQueueFull
	if d.sp != nil {
		err := d.sp.appendOne(rec)
		if err == nil {
			d.stats.Spooled.Add(1)
			notify(d.wake)
			return nil
		}
		switch {
		case errors.Is(err, errSpoolFull):
			d.stats.Drop(DropSpoolFull, 1)
			return fmt.Errorf("sink %s: %w: %w", d.name, err, ErrDropped)
		case errors.Is(err, errSpoolClosed):
			d.stats.Drop(DropClosed, 1)
			return fmt.Errorf("sink %s: %w", d.name, record.ErrClosed)
		}
		// A disk error: deliver from memory rather than not at all.
		reason = DropSpoolError
	}
	c := rec // frame made a copy the queue may keep
	d.mu.Lock()
	if len(d.q) >= d.opt.MemRecords || d.qBytes+int64(len(c)) > d.opt.MemBytes {
		d.mu.Unlock()
		d.stats.Drop(reason, 1)
		return fmt.Errorf("sink %s: queue full: %w", d.name, ErrDropped)
	}
	d.q = append(d.q, c)
	d.qBytes += int64(len(c))
	n := len(d.q)
	d.mu.Unlock()
	d.stats.QueueLen.Store(int64(n))
	notify(d.wake)
	return nil
}

// takeLocked removes up to maxRecs/maxBytes records from the queue head.
func (d *durable) takeLocked(maxRecs, maxBytes int) [][]byte {
	k, size := 0, 0
	for k < len(d.q) && k < maxRecs && (k == 0 || size+len(d.q[k]) <= maxBytes) {
		size += len(d.q[k])
		k++
	}
	batch := d.q[:k:k]
	d.q = d.q[k:]
	d.qBytes -= int64(size)
	d.stats.QueueLen.Store(int64(len(d.q)))
	return batch
}

// spoolRecords appends to the spool, counting what did not fit.
func (d *durable) spoolRecords(recs [][]byte) {
	n, err := d.sp.append(recs)
	d.stats.Spooled.Add(uint64(n))
	if rest := len(recs) - n; rest > 0 {
		if errors.Is(err, errSpoolFull) {
			d.stats.Drop(DropSpoolFull, uint64(rest))
		} else {
			d.stats.Drop(DropSpoolError, uint64(rest))
		}
	}
}

// next picks the next batch: spool first, then memory. It returns false
// when the sink is closed and everything was delivered, or on shutdown.
func (d *durable) next() (batch [][]byte, fromSpool, ok bool) {
	for {
		if d.sp != nil && d.sp.Unread() > 0 {
			d.ends = d.ends[:0]
			b, _, err := d.sp.readBatchEnds(d.opt.BatchRecords, d.opt.BatchBytes, &d.ends)
			if err == nil && len(b) > 0 {
				return b, true, true
			}
		}
		d.mu.Lock()
		if len(d.q) > 0 {
			b := d.takeLocked(d.opt.BatchRecords, d.opt.BatchBytes)
			d.mu.Unlock()
			return b, false, true
		}
		closed := d.closed
		d.mu.Unlock()
		if closed && (d.sp == nil || d.sp.Unread() == 0) {
			return nil, false, false
		}
		select {
		case <-d.wake:
		case <-d.runCtx.Done():
			return nil, false, false
		case <-time.After(time.Second):
			// A spool read error: look again.
		}
	}
}

func (d *durable) sender() {
	defer close(d.senderOut)
	backoff := d.opt.Backoff
	for {
		if len(d.pending) == 0 {
			b, fromSpool, ok := d.next()
			if !ok {
				return
			}
			d.pending, d.pendingSpool = b, fromSpool
		}
		n, err := d.t.send(d.runCtx, d.pending)
		d.stats.Written.Add(uint64(n))
		d.pending = d.pending[n:]
		if d.pendingSpool && n > 0 {
			// Commit what was delivered, even from a failed batch, so a
			// crash re-delivers as little as possible.
			_ = d.sp.commit(d.ends[n-1], n)
			d.ends = d.ends[n:]
		}
		if err == nil && len(d.pending) == 0 {
			d.pending = nil
			backoff = d.opt.Backoff
			continue
		}
		d.stats.Failed.Add(uint64(len(d.pending)))
		// Full jitter keeps many sensors from reconnecting in step.
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, d.opt.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-d.runCtx.Done():
			t.Stop()
			return
		}
	}
}

// Close stops accepting records and tries for ShutdownTimeout to deliver
// what is queued. Spooled records not delivered by then stay in the spool
// for the next start; memory records (no spool, or a spool write error)
// are spooled if possible, otherwise counted as dropped.
func (d *durable) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		notify(d.wake)
		t := time.NewTimer(d.opt.ShutdownTimeout)
		select {
		case <-d.senderOut:
		case <-t.C:
			d.cancel()
			<-d.senderOut
		}
		t.Stop()
		d.cancel()
		var errs []error
		d.mu.Lock()
		rest := d.q
		d.q, d.qBytes = nil, 0
		d.mu.Unlock()
		d.stats.QueueLen.Store(0)
		if d.sp != nil {
			// An undelivered spool batch is still in the spool (not
			// committed); only a batch taken from memory must be saved.
			if len(d.pending) > 0 && !d.pendingSpool {
				n, err := d.sp.prepend(d.pending)
				d.stats.Spooled.Add(uint64(n))
				if n < len(d.pending) {
					d.stats.Drop(DropSpoolFull, uint64(len(d.pending)-n))
					errs = append(errs, err)
				}
			}
			if len(rest) > 0 {
				d.spoolRecords(rest)
			}
			if err := d.sp.close(); err != nil {
				errs = append(errs, err)
			}
		} else if lost := len(d.pending) + len(rest); lost > 0 {
			d.stats.Drop(DropQueueFull, uint64(lost))
			errs = append(errs, fmt.Errorf("%d records undelivered at shutdown: %w", lost, ErrDropped))
		}
		if err := d.t.close(); err != nil {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			d.closeErr = fmt.Errorf("sink %s: close: %w", d.name, err)
		}
	})
	return d.closeErr
}
