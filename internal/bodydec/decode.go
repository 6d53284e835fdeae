package bodydec

import (
	"errors"
	"io"
	"iter"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"

	"github.com/tapdlp/tapdlp/internal/decompress"
)

// The Go decoders pull from an io.Reader and turn a short read into a
// sticky error, but the parser is pushed bytes as they arrive. Each stage
// therefore runs its decoder in a coroutine (iter.Pull): when the decoder
// asks for input that has not arrived, the coroutine yields and the parser
// returns; the next chunk resumes it. A coroutine switch costs no
// allocation; the coroutine itself is allocated once per coded message.

// zstdMaxWindow is RFC 8878's limit for HTTP (8 MiB): a hostile frame header
// cannot make the decoder allocate more.
const zstdMaxWindow = decompress.MaxZstdWindowHTTP

// Decoder pools. Decoders are large (flate 40 KiB, brotli and zstd up to
// their window) while only a few of a sensor's flows are inside a coded body
// at any moment, so flows share them instead of each keeping its own;
// every decoder is Reset before use.
var (
	gzipPool   sync.Pool // *gzip.Reader
	flatePool  sync.Pool // io.ReadCloser implementing flate.Resetter
	brotliPool sync.Pool // *brotli.Reader
	zstdPool   sync.Pool // *zstd.Decoder
	snappyPool sync.Pool // *snappy.Reader
	// stagePool holds stages (each with its 16 KiB output buffer) for the
	// same reason: a Parser only needs one while inside a coded body.
	stagePool sync.Pool // *stage
)

var errStopped = errors.New("bodydec: decoding stopped")

// outChunk is the decoded bytes a stage hands on per resume.
const outChunk = 16 << 10

// stage undoes one coding, fed by push and drained by finish.
type stage struct {
	coding Coding
	in     []byte // input not yet taken by the decoder
	eof    bool   // no more input will come
	halted bool   // yield returned false: unwind
	taken  int64  // input bytes handed to the decoder
	yield  func([]byte) bool
	next   func() ([]byte, bool)
	stop   func()
	done   bool  // the coroutine returned
	err    error // why it returned, nil at a clean end of stream
	out    [outChunk]byte

	pre  [2]byte // bytes peeked by the zlib sniff, served before in
	npre int

	gz  *gzip.Reader
	fl  io.ReadCloser
	br  *brotli.Reader
	zd  *zstd.Decoder
	sn  *snappy.Reader
	zip zipReader
}

// Read serves the decoder from the pending input, yielding for more.
func (s *stage) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if s.npre > 0 {
		n := copy(p, s.pre[:s.npre])
		copy(s.pre[:], s.pre[n:s.npre])
		s.npre -= n
		return n, nil
	}
	for len(s.in) == 0 {
		if err := s.wait(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.in)
	s.in = s.in[n:]
	s.taken += int64(n)
	return n, nil
}

// ReadByte lets flate read exactly what it needs instead of wrapping the
// stage in a bufio.Reader that would read ahead past the message.
func (s *stage) ReadByte() (byte, error) {
	if s.npre > 0 {
		c := s.pre[0]
		s.pre[0] = s.pre[1]
		s.npre--
		return c, nil
	}
	for len(s.in) == 0 {
		if err := s.wait(); err != nil {
			return 0, err
		}
	}
	c := s.in[0]
	s.in = s.in[1:]
	s.taken++
	return c, nil
}

// wait suspends the coroutine until push brings input or finish ends it.
func (s *stage) wait() error {
	if s.halted {
		return errStopped
	}
	if s.eof {
		return io.EOF
	}
	if !s.yield(nil) {
		s.halted = true
		return errStopped
	}
	return nil
}

// run is the coroutine body: open the decoder, then read until it ends.
func (s *stage) run(yield func([]byte) bool) {
	s.yield = yield
	defer func() {
		// A third-party decoder must not take the sensor down on hostile
		// input: a panic is a decode error like any other.
		if r := recover(); r != nil {
			s.err = errDecoderPanic
		}
	}()
	r, err := s.open()
	if err != nil {
		s.err = err
		return
	}
	for {
		n, err := r.Read(s.out[:])
		if n > 0 && !yield(s.out[:n]) {
			return
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			s.err = err
			return
		}
	}
}

var errDecoderPanic = errors.New("bodydec: decoder panicked")

// flate readies the stage's pooled raw-deflate reader on the stage's input.
func (s *stage) flate() (io.Reader, error) {
	if s.fl == nil {
		s.fl, _ = flatePool.Get().(io.ReadCloser)
	}
	if s.fl == nil {
		s.fl = flate.NewReader(s)
	} else if err := s.fl.(flate.Resetter).Reset(s, nil); err != nil {
		return nil, err
	}
	return s.fl, nil
}

func (s *stage) open() (io.Reader, error) {
	switch s.coding {
	case CodingGzip:
		if s.gz == nil {
			s.gz, _ = gzipPool.Get().(*gzip.Reader)
		}
		if s.gz == nil {
			s.gz = new(gzip.Reader)
		}
		if err := s.gz.Reset(s); err != nil {
			return nil, err
		}
		return s.gz, nil
	case CodingDeflate:
		// "deflate" should be zlib-wrapped, but servers also send raw
		// deflate: a valid zlib header decides.
		var h [2]byte
		if _, err := io.ReadFull(s, h[:]); err != nil {
			return nil, err
		}
		if h[0]&0x0f == 8 && h[0]>>4 <= 7 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
			if h[1]&0x20 != 0 {
				return nil, errors.New("bodydec: zlib preset dictionary")
			}
		} else {
			s.pre, s.npre = h, 2
		}
		return s.flate()
	case CodingRawDeflate:
		return s.flate()
	case CodingZip:
		s.zip = zipReader{s: s}
		return &s.zip, nil
	case CodingSnappy:
		if s.sn == nil {
			s.sn, _ = snappyPool.Get().(*snappy.Reader)
		}
		if s.sn == nil {
			s.sn = snappy.NewReader(s)
		} else {
			s.sn.Reset(s)
		}
		return s.sn, nil
	case CodingBrotli:
		if s.br == nil {
			s.br, _ = brotliPool.Get().(*brotli.Reader)
		}
		if s.br == nil {
			s.br = brotli.NewReader(s)
		} else if err := s.br.Reset(s); err != nil {
			return nil, err
		}
		return s.br, nil
	case CodingZstd:
		if s.zd == nil {
			s.zd, _ = zstdPool.Get().(*zstd.Decoder)
		}
		if s.zd == nil {
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(zstdMaxWindow),
				zstd.WithDecoderMaxMemory(64<<20))
			if err != nil {
				return nil, err
			}
			s.zd = d
		}
		if err := s.zd.Reset(s); err != nil {
			return nil, err
		}
		return s.zd, nil
	}
	return nil, errors.New("bodydec: unsupported coding")
}

// start begins decoding a new message with coding c.
func (s *stage) start(c Coding) {
	s.coding = c
	s.in, s.eof, s.halted, s.taken = nil, false, false, 0
	s.done, s.err, s.npre = false, nil, 0
	s.next, s.stop = iter.Pull(s.run)
}

// resume runs the decoder until it needs input or ends; out is the decoded
// chunk, nil when it needs input (ok) or has ended (!ok).
func (s *stage) resume() (out []byte, ok bool) {
	if s.done {
		return nil, false
	}
	out, ok = s.next()
	if !ok {
		s.done = true
		s.in = nil
	}
	return out, ok
}

// release ends the coroutine and returns the decoders to their pools.
func (s *stage) release() {
	if s.stop != nil {
		s.stop()
		s.next, s.stop = nil, nil
	}
	s.in, s.yield = nil, nil
	if s.gz != nil {
		gzipPool.Put(s.gz)
		s.gz = nil
	}
	if s.fl != nil {
		flatePool.Put(s.fl)
		s.fl = nil
	}
	if s.br != nil {
		brotliPool.Put(s.br)
		s.br = nil
	}
	if s.zd != nil {
		zstdPool.Put(s.zd)
		s.zd = nil
	}
	if s.sn != nil {
		snappyPool.Put(s.sn)
		s.sn = nil
	}
}

// Decoder chains up to MaxCodings stages, outermost coding first, and hands
// decoded bytes to a Sink, which enforces caps and ratio limits. The zero
// value is ready; End must be called when a coded body is abandoned, because
// a stage in progress holds a coroutine and pooled decoders.
type Decoder struct {
	stages   [MaxCodings]*stage
	n        int
	active   bool
	failed   bool // stopped: cap, bomb or error; the rest of the body is skipped
	consumed int64
}

// Sink receives the last stage's output. Decoded returns false to stop
// decoding (a cap or ratio was reached): the Decoder is then Failed.
type Sink interface {
	Decoded(b []byte) (more bool)
}

func (d *Decoder) Begin(codings []Coding) {
	d.End()
	d.active, d.failed, d.consumed = true, false, 0
	// Codings are listed in the order they were applied: undo the last first.
	codings = codings[:min(len(codings), MaxCodings)]
	for i := len(codings) - 1; i >= 0; i-- {
		s, _ := stagePool.Get().(*stage)
		if s == nil {
			s = new(stage)
		}
		s.start(codings[i])
		d.stages[d.n] = s
		d.n++
	}
}

// Push feeds coded bytes; it returns an error when a stage failed. b is not
// retained.
func (d *Decoder) Push(b []byte, sink Sink) error {
	if !d.active || d.failed {
		return nil
	}
	return d.feed(0, b, false, sink)
}

// feed hands b (or the end of input) to stage i and forwards its output.
// The stage never keeps b: it has consumed all of it when feed returns.
func (d *Decoder) feed(i int, b []byte, eof bool, sink Sink) error {
	s := d.stages[i]
	if s.done {
		if i+1 < d.n && !d.failed {
			return d.feed(i+1, nil, true, sink)
		}
		return nil
	}
	s.in, s.eof = b, eof
	defer func() { s.in = nil }()
	for {
		out, ok := s.resume()
		if !ok {
			if s.err != nil && s.err != errStopped {
				d.failed = true
				return s.err
			}
			if i+1 < d.n && !d.failed {
				// This stage's stream ended: the next one sees its end.
				return d.feed(i+1, nil, true, sink)
			}
			return nil
		}
		if out == nil {
			if eof {
				continue // the decoder gets io.EOF on its next read
			}
			return nil
		}
		if i+1 < d.n {
			if err := d.feed(i+1, out, false, sink); err != nil || d.failed {
				return err
			}
			continue
		}
		if !sink.Decoded(out) {
			d.failed = true
			return nil
		}
	}
}

// Finish signals the end of the coded body and drains every stage.
func (d *Decoder) Finish(sink Sink) error {
	if !d.active || d.failed {
		return nil
	}
	err := d.feed(0, nil, true, sink)
	if err == nil && !d.failed {
		for i := 0; i < d.n; i++ {
			if s := d.stages[i]; s.err != nil || !s.done {
				return io.ErrUnexpectedEOF
			}
		}
	}
	return err
}

// CompressedIn returns the coded bytes the outermost decoder has taken.
func (d *Decoder) CompressedIn() int64 {
	if d.n == 0 {
		return 0
	}
	return d.stages[0].taken
}

// End stops every stage and returns stages and decoders to their pools.
func (d *Decoder) End() {
	for i := 0; i < d.n; i++ {
		d.stages[i].release()
		stagePool.Put(d.stages[i])
		d.stages[i] = nil
	}
	d.n, d.active = 0, false
}

// Active reports whether a coded body is being decoded (Begin was called and
// End was not).
func (d *Decoder) Active() bool { return d.active }

// Failed reports whether decoding stopped early: a stage failed or the Sink
// refused more output. The rest of the body should be skipped.
func (d *Decoder) Failed() bool { return d.failed }

// Ended reports whether the outermost coded stream has ended (a gzip or
// deflate stream's final block was read): more input would be ignored.
func (d *Decoder) Ended() bool { return d.n > 0 && d.stages[0].done }
