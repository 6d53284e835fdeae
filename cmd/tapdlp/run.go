package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/pipeline"
)

func init() {
	register(command{"run", "capture from network interfaces (AF_PACKET) and write flow records", runLive})
}

// sizeFlag is a flag.Value for sizes such as 64MiB.
type sizeFlag struct{ v *int }

func (f sizeFlag) String() string {
	if f.v == nil || *f.v == 0 {
		return ""
	}
	return config.Size(*f.v).String()
}

func (f sizeFlag) Set(s string) error {
	n, err := config.ParseSize(s)
	if err != nil {
		return err
	}
	if n > 1<<40 {
		return fmt.Errorf("%q is too large", s)
	}
	*f.v = int(n)
	return nil
}

// fanoutFlag is a flag.Value for live.FanoutMode.
type fanoutFlag struct{ v *live.FanoutMode }

func (f fanoutFlag) String() string {
	if f.v == nil {
		return ""
	}
	return f.v.String()
}

func (f fanoutFlag) Set(s string) error {
	m, err := live.ParseFanoutMode(s)
	if err != nil {
		return err
	}
	*f.v = m
	return nil
}

func runLive(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	var lc live.Config
	ifaces := fs.String("i", "", "capture on `IFACES` (comma-separated; a passive tap's ports belong together)")
	out := fs.String("o", "", "write records to `FILE` instead of stdout")
	workers := fs.Int("workers", 0, "worker goroutines (0: from config, whose default is one per CPU)")
	fs.IntVar(&lc.Sockets, "sockets", 0, "AF_PACKET sockets per interface (0: one per worker)")
	fs.StringVar(&lc.Filter, "f", "", "capture filter in tcpdump syntax, e.g. 'not port 22'")
	fs.Var(fanoutFlag{&lc.Fanout}, "fanout", "fanout `MODE`: hash, cpu, qm or lb")
	group := fs.Uint("fanout-group", live.DefaultFanoutGroup, "fanout group `ID` of the first interface (the next ones use ID+1, …)")
	fs.BoolVar(&lc.NoDefrag, "no-defrag", false, "do not let the kernel reassemble IPv4 fragments before fanout")
	lc.RingSize = live.DefaultRingSize
	fs.Var(sizeFlag{&lc.RingSize}, "ring-size", "ring `SIZE` per socket")
	lc.BlockSize = live.DefaultBlockSize
	fs.Var(sizeFlag{&lc.BlockSize}, "block-size", "TPACKET_V3 block `SIZE` (a multiple of the page size)")
	lc.FrameSize = live.DefaultFrameSize
	fs.Var(sizeFlag{&lc.FrameSize}, "frame-size", "ring frame `SIZE` (divides the block size)")
	fs.DurationVar(&lc.BlockTimeout, "block-timeout", live.DefaultBlockTimeout, "hand partly filled blocks over after `D`")
	fs.IntVar(&lc.Snaplen, "snaplen", live.DefaultSnaplen, "bytes kept per frame")
	fs.BoolVar(&lc.NoPromiscuous, "no-promisc", false, "do not put the interfaces in promiscuous mode")
	fs.StringVar(&lc.User, "user", "", "switch to `USER` once the sockets are open")
	status := fs.Duration("status", time.Minute, "status line interval on stderr (0: none)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tapdlp run [-c FILE] -i IFACE[,IFACE...] [-f FILTER] [-o FILE]")
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return exitCode(stderr, err)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "tapdlp run: unexpected argument %q\n", rest[0])
		fs.Usage()
		return 2
	}
	for _, name := range strings.Split(*ifaces, ",") {
		if name = strings.TrimSpace(name); name != "" {
			lc.Interfaces = append(lc.Interfaces, name)
		}
	}
	if len(lc.Interfaces) == 0 {
		fmt.Fprintln(stderr, "tapdlp run: no interface (-i)")
		fs.Usage()
		return 2
	}
	if *group == 0 || *group > 0xffff {
		return exitCode(stderr, fmt.Errorf("-fanout-group %d: want 1..65535", *group))
	}
	lc.FanoutGroup = uint16(*group)
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return exitCode(stderr, err)
	}
	if *workers > 0 {
		cfg.Workers = *workers
	}
	if lc.Sockets == 0 {
		lc.Sockets = cfg.Workers
		if lc.Sockets <= 0 {
			lc.Sockets = runtime.GOMAXPROCS(0)
		}
	}
	if err := lc.Validate(); err != nil {
		return exitCode(stderr, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	// The sink first: a file output is opened with the start-up
	// privileges, before they are dropped.
	sink, err := openSink(*out, stdout)
	if err != nil {
		return exitCode(stderr, err)
	}
	c, err := live.Open(lc)
	if err != nil {
		sink.Close()
		return exitCode(stderr, err)
	}
	defer c.Close()
	// Open sockets keep working without privileges. Root without -user
	// keeps them: dropping capabilities but staying uid 0 would only
	// pretend to be safe.
	if lc.User != "" || os.Geteuid() != 0 {
		switch err := live.DropPrivileges(lc.User); {
		case errors.Is(err, live.ErrCapabilitiesKept):
			log.Warn("running with capabilities", "err", err)
		case err != nil:
			sink.Close()
			return exitCode(stderr, err)
		}
	} else {
		log.Warn("running as root: set -user to drop privileges once the sockets are open")
	}

	p, err := pipeline.New(cfg, pipeline.Options{Sink: sink, Log: log})
	if err != nil {
		sink.Close()
		return exitCode(stderr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP (systemctl reload) must not kill the sensor, which is its
	// default action; reloading is not implemented, so say so.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				log.Warn("SIGHUP: configuration reload is not supported; restart tapdlp to apply changes")
			case <-ctx.Done():
				return
			}
		}
	}()
	lopts := pipeline.LiveOptions{StatusEvery: *status}
	if *status > 0 {
		lopts.Status = stderr
	}
	log.Info("capturing", "interfaces", strings.Join(lc.Interfaces, ","), "sockets_per_interface", lc.Sockets,
		"fanout", lc.Fanout.String(), "fanout_group", lc.FanoutGroup, "filter", lc.Filter)
	sum, err := p.RunLive(ctx, c, lopts)
	if cerr := sink.Close(); err == nil {
		err = cerr
	}
	fmt.Fprintln(stderr, "tapdlp run:", sum)
	return exitCode(stderr, err)
}
