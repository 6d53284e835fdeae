//go:build race

package pipeline

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// exact allocation counts through a pool do not hold.
const raceEnabled = true
