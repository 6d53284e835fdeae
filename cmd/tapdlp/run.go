package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/sensor"
)

// runFlags defines `run`'s flags on the configuration they override, so a
// flag and its configuration key are one value. The defaults shown by -h
// are cfg's.
func runFlags(cfg *config.Config, out *string, stderr io.Writer) (*flag.FlagSet, *string) {
	cc := &cfg.Capture
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs)
	fs.Var(listFlag(&cc.Interfaces), "i", "capture on `IFACES` (comma-separated; a passive tap's ports belong together)")
	fs.StringVar(out, "o", "", "write records to `FILE` instead of the configured outputs")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "worker goroutines (0: one per CPU)")
	fs.StringVar(&cfg.Metrics.Listen, "metrics", cfg.Metrics.Listen, "serve /metrics, /healthz and /readyz on `ADDR` (\"\": off)")
	fs.IntVar(&cc.SocketsPerInterface, "sockets", cc.SocketsPerInterface, "AF_PACKET sockets per interface (0: one per worker)")
	fs.StringVar(&cc.BPFFilter, "f", cc.BPFFilter, "capture filter in tcpdump syntax, e.g. 'not port 22'")
	fs.Var(fanoutFlag(&cc.Fanout), "fanout", "fanout `MODE`: hash, cpu, qm or lb")
	fs.Var(groupFlag(&cc.FanoutGroup), "fanout-group", "fanout group `ID` of the first interface (the next ones use ID+1, …)")
	fs.Var(notFlag{&cc.Defrag}, "no-defrag", "do not let the kernel reassemble IPv4 fragments before fanout")
	fs.Var(sizeFlag(&cc.RingSize), "ring-size", "ring `SIZE` per socket")
	fs.Var(sizeFlag(&cc.BlockSize), "block-size", "TPACKET_V3 block `SIZE` (a multiple of the page size)")
	fs.Var(sizeFlag(&cc.FrameSize), "frame-size", "ring frame `SIZE` (divides the block size)")
	fs.Var(durationFlag(&cc.BlockTimeout), "block-timeout", "hand partly filled blocks over after `D`")
	fs.IntVar(&cc.Snaplen, "snaplen", cc.Snaplen, "bytes kept per frame")
	fs.Var(notFlag{&cc.Promiscuous}, "no-promisc", "do not put the interfaces in promiscuous mode")
	fs.StringVar(&cc.User, "user", cc.User, "switch to `USER` once the sockets are open")
	fs.Var(durationFlag(&cc.StatusInterval), "status", "status line every `D` on stderr (0: none)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tapdlp run [-c FILE] [-i IFACE[,IFACE...]] [-f FILTER] [-o FILE]")
		fs.PrintDefaults()
	}
	return fs, path
}

func runLive(args []string, stdout, stderr io.Writer) int {
	sc, code := parseRun(args, stdout, stderr)
	if code >= 0 {
		return code
	}
	return runSensor(sc, stderr)
}

// parseRun parses `run`'s arguments against the embedded defaults, then
// applies the flags given on top of the configuration file they name. A
// non-negative code means: exit with it.
func parseRun(args []string, stdout, stderr io.Writer) (sensor.Config, int) {
	defaults, err := config.Load("")
	if err != nil {
		return sensor.Config{}, exitCode(stderr, err)
	}
	var out string
	fs, path := runFlags(defaults, &out, stderr)
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return sensor.Config{}, exitCode(stderr, err)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "tapdlp run: unexpected argument %q\n", rest[0])
		fs.Usage()
		return sensor.Config{}, 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return sensor.Config{}, exitCode(stderr, err)
	}
	onCfg, _ := runFlags(cfg, new(string), io.Discard) // -o is already in out
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "o" {
			err = errors.Join(err, onCfg.Set(f.Name, f.Value.String()))
		}
	})
	if err != nil {
		return sensor.Config{}, exitCode(stderr, err)
	}
	if len(cfg.Capture.Interfaces) == 0 {
		fmt.Fprintln(stderr, "tapdlp run: no interface (-i, or capture.interfaces in the configuration)")
		fs.Usage()
		return sensor.Config{}, 2
	}
	v, c, _ := buildVersion()
	return sensor.Config{Config: cfg, Path: *path, Output: out, Stdout: stdout, Stderr: stderr,
		Build: sensor.BuildInfo{Version: v, Commit: c}}, -1
}

// value is a flag.Value of type T: parse reads it (the configuration's
// grammar for sizes and durations), show prints it (default fmt.Sprint).
type value[T any] struct {
	p     *T
	parse func(string) (T, error)
	show  func(T) string
}

func (v value[T]) String() string {
	switch {
	case v.p == nil:
		return ""
	case v.show != nil:
		return v.show(*v.p)
	}
	return fmt.Sprint(*v.p)
}

func (v value[T]) Set(s string) (err error) {
	*v.p, err = v.parse(s)
	return err
}

func sizeFlag(p *config.Size) value[config.Size] {
	return value[config.Size]{p: p, parse: func(s string) (config.Size, error) {
		n, err := config.ParseSize(s)
		if err == nil && n > 1<<40 {
			err = fmt.Errorf("%q is too large", s)
		}
		return n, err
	}}
}

func durationFlag(p *config.Duration) value[config.Duration] {
	return value[config.Duration]{p: p, parse: config.ParseDuration}
}

// listFlag is a comma-separated list; setting it replaces the list.
func listFlag(p *[]string) value[[]string] {
	return value[[]string]{p: p, show: func(l []string) string { return strings.Join(l, ",") },
		parse: func(s string) (l []string, _ error) {
			for _, name := range strings.Split(s, ",") {
				if name = strings.TrimSpace(name); name != "" {
					l = append(l, name)
				}
			}
			return l, nil
		}}
}

// fanoutFlag is a fanout mode, checked when given.
func fanoutFlag(p *string) value[string] {
	return value[string]{p: p, parse: func(s string) (string, error) {
		_, err := live.ParseFanoutMode(s)
		return s, err
	}}
}

// groupFlag is a fanout group id, 1..65535.
func groupFlag(p *uint16) value[uint16] {
	return value[uint16]{p: p, parse: func(s string) (uint16, error) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 || n > 0xffff {
			return 0, fmt.Errorf("-fanout-group %s: want 1..65535", s)
		}
		return uint16(n), nil
	}}
}

// notFlag is a -no-X boolean flag that clears the setting X.
type notFlag struct{ v *bool }

func (f notFlag) IsBoolFlag() bool { return true }

func (f notFlag) String() string { return strconv.FormatBool(f.v != nil && !*f.v) }

func (f notFlag) Set(s string) error {
	b, err := strconv.ParseBool(s)
	*f.v = !b
	return err
}
