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

// durable puts a bounded memory queue and a disk spool in front of a
// transport. Order of delivery is: the sender's in-flight batch, then the
// spool, then the memory queue; everything in the spool is older than
// everything in memory, which is what keeps records in order.
type durable struct {
	name  string
	t     transport
	stats *Stats
	opt   queueOptions
	sp    *spool // nil: no spool

	mu           sync.Mutex
	q            [][]byte
	qBytes       int64
	closed       bool
	spilling     bool // destination down: move memory to the spool
	pendingSpill int  // records taken by the spiller not yet in the spool

	wake      chan struct{} // sender
	spillWake chan struct{}
	spillStop chan struct{}
	runCtx    context.Context
	cancel    context.CancelFunc
	senderOut chan struct{}
	spillOut  chan struct{}
	closeOnce sync.Once
	closeErr  error

	// Owned by the sender goroutine; read by Close after it exits.
	pending      [][]byte
	pendingSpool bool
}

func newDurable(name string, t transport, opt queueOptions, stats *Stats) (*durable, error) {
	opt.setDefaults()
	d := &durable{
		name: name, t: t, stats: stats, opt: opt,
		wake:      make(chan struct{}, 1),
		spillWake: make(chan struct{}, 1),
		spillStop: make(chan struct{}),
		senderOut: make(chan struct{}),
		spillOut:  make(chan struct{}),
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
	if d.sp != nil {
		go d.spiller()
	} else {
		close(d.spillOut)
	}
	return d, nil
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Write copies rec into the memory queue. It never waits for the network
// or the disk.
func (d *durable) Write(rec record.Encoded) error {
	if len(rec.JSON) > d.opt.MaxRecord || len(rec.JSON) == 0 {
		d.stats.Drop(DropTooLarge, 1)
		return fmt.Errorf("sink %s: %d-byte record: %w", d.name, len(rec.JSON), ErrDropped)
	}
	c := frame(rec)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		d.stats.Drop(DropClosed, 1)
		return fmt.Errorf("sink %s: %w", d.name, record.ErrClosed)
	}
	if len(d.q) >= d.opt.MemRecords || d.qBytes+int64(len(c)) > d.opt.MemBytes {
		d.mu.Unlock()
		d.stats.Drop(DropQueueFull, 1)
		return fmt.Errorf("sink %s: queue full: %w", d.name, ErrDropped)
	}
	d.q = append(d.q, c)
	d.qBytes += int64(len(c))
	n := len(d.q)
	spill := d.spilling || n > d.opt.MemRecords/2 || d.qBytes > d.opt.MemBytes/2
	d.mu.Unlock()
	d.stats.QueueLen.Store(int64(n))
	notify(d.wake)
	if spill && d.sp != nil {
		notify(d.spillWake)
	}
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

func (d *durable) spiller() {
	defer close(d.spillOut)
	for {
		select {
		case <-d.spillWake:
		case <-d.spillStop:
			return
		}
		for {
			d.mu.Lock()
			over := len(d.q) > d.opt.MemRecords/2 || d.qBytes > d.opt.MemBytes/2
			if len(d.q) == 0 || !(d.spilling || over) {
				d.mu.Unlock()
				break
			}
			chunk := d.takeLocked(4096, 4<<20)
			d.pendingSpill += len(chunk)
			d.mu.Unlock()
			d.spoolRecords(chunk)
			d.mu.Lock()
			d.pendingSpill -= len(chunk)
			d.mu.Unlock()
			notify(d.wake)
		}
	}
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
// when the sink is closed and everything was delivered.
func (d *durable) next() (batch [][]byte, pos spoolPos, fromSpool, ok bool) {
	for {
		d.mu.Lock()
		spooled := d.sp != nil && (d.pendingSpill > 0 || d.sp.Unread() > 0)
		if !spooled {
			// Spool drained: back to direct delivery until the next failure.
			d.spilling = false
			if len(d.q) > 0 {
				b := d.takeLocked(d.opt.BatchRecords, d.opt.BatchBytes)
				d.mu.Unlock()
				return b, spoolPos{}, false, true
			}
			if d.closed {
				d.mu.Unlock()
				return nil, spoolPos{}, false, false
			}
		}
		d.mu.Unlock()
		if spooled {
			b, p, err := d.sp.readBatch(d.opt.BatchRecords, d.opt.BatchBytes)
			if err == nil && len(b) > 0 {
				return b, p, true, true
			}
		}
		select {
		case <-d.wake:
		case <-d.runCtx.Done():
			return nil, spoolPos{}, false, false
		case <-time.After(time.Second):
			// A spool read error or a spiller still writing: look again.
		}
	}
}

func (d *durable) sender() {
	defer close(d.senderOut)
	backoff := d.opt.Backoff
	var pos spoolPos
	var total int
	for {
		if len(d.pending) == 0 {
			b, p, fromSpool, ok := d.next()
			if !ok {
				return
			}
			d.pending, pos, d.pendingSpool, total = b, p, fromSpool, len(b)
		}
		n, err := d.t.send(d.runCtx, d.pending)
		d.stats.Written.Add(uint64(n))
		d.pending = d.pending[n:]
		if err == nil && len(d.pending) == 0 {
			if d.pendingSpool {
				_ = d.sp.commit(pos, total)
			}
			d.pending = nil
			backoff = d.opt.Backoff
			continue
		}
		d.stats.Failed.Add(uint64(len(d.pending)))
		if d.sp != nil {
			d.mu.Lock()
			d.spilling = true
			d.mu.Unlock()
			notify(d.spillWake)
		}
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

// Close stops accepting records, tries for ShutdownTimeout to deliver what
// is queued, then spools the rest (in order) and closes the transport.
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
		close(d.spillStop)
		<-d.spillOut
		var errs []error
		d.mu.Lock()
		rest := d.q
		d.q, d.qBytes = nil, 0
		d.mu.Unlock()
		d.stats.QueueLen.Store(0)
		if d.sp != nil {
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
