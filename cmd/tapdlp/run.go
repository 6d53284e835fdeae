package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/internal/cli"
	"github.com/tapdlp/tapdlp/sensor"
)

var runCmd = &cli.Command{
	Name: "run", Interruptible: true,
	Summary: "capture from network interfaces (AF_PACKET) and write flow records",
	Usage:   "[-c FILE] [-i IFACE[,IFACE...]] [-f FILTER] [-o FILE]",
	Setup: func(fs *flag.FlagSet) func(*cli.Env) error {
		// The flags are defined on the embedded defaults, so -h shows them;
		// runConfig applies those given on top of the file -c names.
		defaults, err := config.Load("")
		if err != nil {
			return func(*cli.Env) error { return err }
		}
		runFlags(fs, defaults, new(string))
		return func(e *cli.Env) error {
			sc, err := runConfig(e)
			if err != nil {
				return err
			}
			return runSensor(e, sc)
		}
	},
}

// runFlags defines `run`'s flags on the configuration they override, so a
// flag and its configuration key are one value. The defaults shown by -h
// are cfg's.
func runFlags(fs *flag.FlagSet, cfg *config.Config, out *string) {
	cc := &cfg.Capture
	fs.Var(cli.List(&cc.Interfaces), "i", "capture on `IFACES` (comma-separated; a passive tap's ports belong together)")
	fs.StringVar(out, "o", "", "write records to `FILE` instead of the configured outputs")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "worker goroutines (0: one per CPU)")
	fs.StringVar(&cfg.Metrics.Listen, "metrics", cfg.Metrics.Listen, "serve /metrics, /healthz and /readyz on `ADDR` (\"\": off)")
	fs.IntVar(&cc.SocketsPerInterface, "sockets", cc.SocketsPerInterface, "AF_PACKET sockets per interface (0: one per worker)")
	fs.StringVar(&cc.BPFFilter, "f", cc.BPFFilter, "capture filter in tcpdump syntax, e.g. 'not port 22'")
	fs.Var(fanoutFlag(&cc.Fanout), "fanout", "fanout `MODE`: hash, cpu, qm or lb")
	fs.Var(groupFlag(&cc.FanoutGroup), "fanout-group", "fanout group `ID` of the first interface (the next ones use ID+1, …)")
	fs.Var(cli.Not{V: &cc.Defrag}, "no-defrag", "do not let the kernel reassemble IPv4 fragments before fanout")
	fs.Var(sizeFlag(&cc.RingSize), "ring-size", "ring `SIZE` per socket")
	fs.Var(sizeFlag(&cc.BlockSize), "block-size", "TPACKET_V3 block `SIZE` (a multiple of the page size)")
	fs.Var(sizeFlag(&cc.FrameSize), "frame-size", "ring frame `SIZE` (divides the block size)")
	fs.Var(durationFlag(&cc.BlockTimeout), "block-timeout", "hand partly filled blocks over after `D`")
	fs.IntVar(&cc.Snaplen, "snaplen", cc.Snaplen, "bytes kept per frame")
	fs.Var(cli.Not{V: &cc.Promiscuous}, "no-promisc", "do not put the interfaces in promiscuous mode")
	fs.StringVar(&cc.User, "user", cc.User, "switch to `USER` once the sockets are open")
	fs.Var(durationFlag(&cc.StatusInterval), "status", "status line every `D` on stderr (0: none)")
}

// runConfig loads the file -c names and applies on top of it the flags
// given on the command line, whatever their position relative to -c.
func runConfig(e *cli.Env) (sensor.Config, error) {
	if len(e.Args) > 0 {
		return sensor.Config{}, cli.Usagef("unexpected argument %q", e.Args[0])
	}
	cfg, err := config.Load(e.Config)
	if err != nil {
		return sensor.Config{}, err
	}
	var out string
	onCfg := flag.NewFlagSet("run", flag.ContinueOnError)
	onCfg.SetOutput(io.Discard)
	runFlags(onCfg, cfg, &out)
	e.Flags.Visit(func(f *flag.Flag) {
		if onCfg.Lookup(f.Name) != nil {
			err = errors.Join(err, onCfg.Set(f.Name, f.Value.String()))
		}
	})
	if err != nil {
		return sensor.Config{}, err
	}
	if len(cfg.Capture.Interfaces) == 0 {
		return sensor.Config{}, cli.Usagef("no interface (-i, or capture.interfaces in the configuration)")
	}
	v, c, _ := buildVersion()
	return sensor.Config{Config: cfg, Path: e.Config, Output: out, Stdout: e.Stdout, Stderr: e.Stderr,
		Build: sensor.BuildInfo{Version: v, Commit: c}}, nil
}

func sizeFlag(p *config.Size) cli.Value[config.Size] {
	return cli.Value[config.Size]{P: p, Parse: func(s string) (config.Size, error) {
		n, err := config.ParseSize(s)
		if err == nil && n > 1<<40 {
			err = fmt.Errorf("%q is too large", s)
		}
		return n, err
	}}
}

func durationFlag(p *config.Duration) cli.Value[config.Duration] {
	return cli.Value[config.Duration]{P: p, Parse: config.ParseDuration}
}

// fanoutFlag is a fanout mode, checked when given.
func fanoutFlag(p *string) cli.Value[string] {
	return cli.Value[string]{P: p, Parse: func(s string) (string, error) {
		_, err := live.ParseFanoutMode(s)
		return s, err
	}}
}

// groupFlag is a fanout group id, 1..65535.
func groupFlag(p *uint16) cli.Value[uint16] {
	return cli.Value[uint16]{P: p, Parse: func(s string) (uint16, error) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 || n > 0xffff {
			return 0, fmt.Errorf("-fanout-group %s: want 1..65535", s)
		}
		return uint16(n), nil
	}}
}
