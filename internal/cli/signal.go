package cli

import (
	"context"
	"os"
	"syscall"
)

// Signal returns the signal, among sigs, that cancelled a context made by
// signal.NotifyContext, or 0 when none did (the context is live, or ended
// otherwise). A replay cut short exits 128+signal, as a shell reports a
// filter killed by it. NotifyContext records the signal only as the text
// of its cancellation cause ("<name> signal received"); TestSignal pins
// that format.
func Signal(ctx context.Context, sigs ...os.Signal) syscall.Signal {
	cause := context.Cause(ctx)
	if cause == nil {
		return 0
	}
	for _, s := range sigs {
		if n, ok := s.(syscall.Signal); ok && cause.Error() == s.String()+" signal received" {
			return n
		}
	}
	return 0
}
