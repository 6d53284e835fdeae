package sensor

import (
	"context"
	"errors"
	"strings"
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
// the cancellation it triggered. Only errors.Join lists are taken apart:
// an error that wraps several (fmt.Errorf("%w: write: %w", ErrFile, EPIPE))
// is one failure, dropped whole when it is a broken pipe.
func withoutPipe(err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok && isJoin(err, j.Unwrap()) {
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

// isJoin reports whether err is a list made by errors.Join: its message
// is its parts' messages, one per line.
func isJoin(err error, parts []error) bool {
	msgs := make([]string, 0, len(parts))
	for _, e := range parts {
		if e != nil {
			msgs = append(msgs, e.Error())
		}
	}
	return err.Error() == strings.Join(msgs, "\n")
}
