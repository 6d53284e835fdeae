package sensor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/tapdlp/tapdlp/record"
)

// A reader that goes away (`tapdlp replay -o /dev/stdout | head`) ends the
// run like it ends any Unix filter: the first write that fails with EPIPE
// cancels the run, and the broken pipe is not reported as an error.

// brokenPipe wraps the sink records go to; its first EPIPE calls cancel.
type brokenPipe struct {
	record.Sink
	cancel context.CancelFunc
	hit    atomic.Bool
}

func (b *brokenPipe) Write(rec record.Encoded) error {
	if b.hit.Load() {
		return nil // the reader is gone: nothing to count as dropped
	}
	err := b.Sink.Write(rec)
	if err != nil && errors.Is(err, syscall.EPIPE) {
		b.hit.Store(true)
		b.cancel()
		return nil
	}
	return err
}

func (b *brokenPipe) Close() error {
	err := b.Sink.Close()
	if b.hit.Load() || errors.Is(err, syscall.EPIPE) {
		b.hit.Store(true)
		return withoutPipe(err)
	}
	return err
}

// withoutPipe removes from err what a broken pipe causes: EPIPE itself and
// the cancellation it triggered.
func withoutPipe(err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var keep []error
		for _, e := range j.Unwrap() {
			if e = withoutPipe(e); e != nil {
				keep = append(keep, e)
			}
		}
		return errors.Join(keep...)
	}
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// fileSink writes records straight into something that is not a regular
// file: a pipe, FIFO, character device or socket (/dev/stdout, /dev/null).
// It neither truncates, rotates nor renames, and closes the file it opened.
type fileSink struct {
	*record.WriterSink
	f *os.File
}

func (s fileSink) Close() error {
	return errors.Join(s.WriterSink.Close(), s.f.Close())
}

// openSpecial opens path for writing when it exists and is not a regular
// file; ok is false for regular files and new paths.
func openSpecial(path string) (record.Sink, bool, error) {
	st, err := os.Stat(path)
	if err != nil || st.Mode().IsRegular() {
		return nil, false, nil
	}
	if st.IsDir() {
		return nil, true, fmt.Errorf("output %s is a directory", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, true, err
	}
	return fileSink{record.NewWriterSink(f), f}, true, nil
}
