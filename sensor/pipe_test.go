package sensor

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
)

// A broken pipe and the cancellation it caused are not errors; whatever
// else failed still is, and an error that wraps a sink's sentinel and
// EPIPE together (the file sink's) goes as a whole.
func TestWithoutPipe(t *testing.T) {
	sentinel, other := errors.New("file sink"), errors.New("disk full")
	epipe := fmt.Errorf("%w: write /dev/stdout: %w", sentinel, syscall.EPIPE)
	tests := []struct {
		name string
		in   error
		want string // "" for nil
	}{
		{"nil", nil, ""},
		{"bare EPIPE", syscall.EPIPE, ""},
		{"sink error wrapping two", epipe, ""},
		{"cancelled", context.Canceled, ""},
		{"joined with cancel", errors.Join(context.Canceled, epipe), ""},
		{"joined with another", errors.Join(epipe, other), "disk full"},
		{"nested join", errors.Join(errors.Join(other, epipe), context.Canceled), "disk full"},
		{"two wrapped, not a pipe", fmt.Errorf("%w: %w", sentinel, other), "file sink: disk full"},
	}
	for _, tt := range tests {
		got := withoutPipe(tt.in)
		if (got == nil) != (tt.want == "") || got != nil && got.Error() != tt.want {
			t.Errorf("%s: withoutPipe = %v, want %q", tt.name, got, tt.want)
		}
	}
}
