package pipeline

import (
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	tests := []struct {
		done, total int64
		elapsed     time.Duration
		want        []string
	}{
		{100 << 20, 400 << 20, 2 * time.Second, []string{"[=======>", " 25%", "100.0 MiB / 400.0 MiB", "50.0 MiB/s", "ETA 6s"}},
		{400 << 20, 400 << 20, 4 * time.Second, []string{"100%", "ETA 0s"}},
		{5 << 20, -1, time.Second, []string{"5.0 MiB read", "5.0 MiB/s"}}, // stdin: no total
	}
	for _, tt := range tests {
		got := progressLine(tt.done, tt.total, tt.elapsed)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("progressLine(%d, %d, %v) = %q, want %q in it", tt.done, tt.total, tt.elapsed, got, w)
			}
		}
	}
}
