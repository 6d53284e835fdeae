package pipeline

import (
	"fmt"
	"time"
)

// startProgress draws a progress bar (bytes read of total, rate, ETA) on
// Options.Progress every 250 ms until the returned stop function is called.
// The CLI passes a writer only when stderr is a terminal.
func (p *Pipeline) startProgress(d *dispatcher, total int64, start time.Time) (stop func()) {
	w := p.opts.Progress
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprint(w, "\r\033[K"+progressLine(d.bytesDone.Load(), total, time.Since(start)))
			}
		}
	}()
	return func() { close(done); <-finished }
}

func progressLine(done, total int64, elapsed time.Duration) string {
	rate := float64(done) / elapsed.Seconds()
	if total <= 0 {
		return fmt.Sprintf("%s read  %s/s", human(float64(done)), human(rate))
	}
	frac := float64(done) / float64(total)
	if frac > 1 {
		frac = 1
	}
	const width = 30
	filled := int(frac * width)
	bar := make([]byte, width)
	for i := range bar {
		switch {
		case i < filled:
			bar[i] = '='
		case i == filled:
			bar[i] = '>'
		default:
			bar[i] = ' '
		}
	}
	eta := "--"
	if rate > 0 {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("[%s] %3.0f%% %s / %s  %s/s  ETA %s", bar, frac*100, human(float64(done)), human(float64(total)), human(rate), eta)
}

func human(b float64) string {
	const unit = 1024
	switch {
	case b >= unit*unit*unit:
		return fmt.Sprintf("%.1f GiB", b/(unit*unit*unit))
	case b >= unit*unit:
		return fmt.Sprintf("%.1f MiB", b/(unit*unit))
	case b >= unit:
		return fmt.Sprintf("%.1f KiB", b/unit)
	}
	return fmt.Sprintf("%.0f B", b)
}
