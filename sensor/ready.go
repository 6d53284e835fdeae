package sensor

import (
	"errors"
	"fmt"
	"sync"

	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/record/sinks"
)

// readiness reports ready while the capture's sockets can be read and every
// sink either delivers or spools: a sink whose spool-full drops grew since
// the previous check makes the sensor not ready (records are being lost).
// kernel reads the capture's socket counters (nil: no capture); router and
// names are the configured sinks (nil router: -o, nothing to watch).
func readiness(kernel func() (live.Stats, error), router *sinks.Router, names []string) func() error {
	var mu sync.Mutex
	last := make(map[string]uint64, len(names))
	return func() error {
		if kernel == nil {
			return errors.New("capture not open")
		}
		if _, err := kernel(); err != nil {
			return fmt.Errorf("capture: %w", err)
		}
		if router == nil {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		var losing []string
		for _, n := range names {
			st := router.Stats(n)
			if st == nil {
				continue
			}
			v := st.Dropped(sinks.DropSpoolFull)
			if v > last[n] {
				losing = append(losing, n)
			}
			last[n] = v
		}
		if len(losing) > 0 {
			return fmt.Errorf("sink %v dropping records: spool full", losing)
		}
		return nil
	}
}
