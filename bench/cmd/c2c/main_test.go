package main

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// scalingLine is the pattern bench/scaling.py and bench/nearwatch.py read
// c2c's output with (re.search(r'pingpong (\d+) ns\s+stream (-?[0-9.]+)')).
var scalingLine = regexp.MustCompile(`pingpong (\d+) ns\s+stream (-?[0-9.]+)`)

// The line the scripts parse must carry the ping-pong latency and the
// handoff cost (stream minus alone, both sides), also when the handoff
// comes out negative on a noisy host.
func TestResultLineParsedByScripts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		r        result
		pingPong int
		handoff  float64
	}{
		{"far", result{pingPong: 251.4, stream: streamCost{write: 9.8, read: 2.3}, alone: streamCost{write: 4.2, read: 0.7}}, 251, 7.2},
		{"near", result{pingPong: 55, stream: streamCost{write: 4.8, read: 1.0}, alone: streamCost{write: 4.4, read: 0.5}}, 55, 0.9},
		{"negative handoff", result{pingPong: 63, stream: streamCost{write: 4.0, read: 0.5}, alone: streamCost{write: 4.4, read: 0.5}}, 63, -0.4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := tc.r.String()
			m := scalingLine.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("%q: not in the form the scripts parse", line)
			}
			if pp, _ := strconv.Atoi(m[1]); pp != tc.pingPong {
				t.Errorf("%q: ping-pong %d, want %d", line, pp, tc.pingPong)
			}
			if h, _ := strconv.ParseFloat(m[2], 64); math.Abs(h-tc.handoff) > 0.05 {
				t.Errorf("%q: handoff %.2f, want %.2f", line, h, tc.handoff)
			}
			if strings.Contains(line, "\n") {
				t.Errorf("%q: more than one line", line)
			}
		})
	}
}

// A measurement between two cores this process may run on gives finite,
// positive costs; one on a core that does not exist fails at once (and
// does not leave a helper spinning).
func TestMeasure(t *testing.T) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Skip("no CPU affinity here:", err)
	}
	var cores []int
	for c := 0; c < 1024 && len(cores) < 2; c++ {
		if set.IsSet(c) {
			cores = append(cores, c)
		}
	}
	if len(cores) < 2 {
		t.Skip("fewer than two cores to measure between")
	}
	r, err := measure(cores[0], cores[1], 2000)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]float64{"ping-pong": r.pingPong, "write": r.stream.write, "read": r.stream.read,
		"write alone": r.alone.write, "read alone": r.alone.read} {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s: %v, want a positive cost", name, v)
		}
	}
	if _, err := measure(cores[0], 1023, 10); err == nil {
		t.Error("measuring against core 1023 did not fail")
	}
	if _, err := measure(1023, cores[0], 10); err == nil {
		t.Error("measuring from core 1023 did not fail")
	}
}
