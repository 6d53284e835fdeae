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
	"github.com/tapdlp/tapdlp/metrics"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/sinks"
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
	// The configuration supplies the defaults the flags override, so it is
	// loaded before the flags are defined.
	cfg, err := config.Load(configPathFromArgs(args))
	if err != nil {
		return exitCode(stderr, err)
	}
	cc := cfg.Capture
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFlag(fs)
	lc := live.Config{
		Sockets: cc.SocketsPerInterface, FanoutGroup: cc.FanoutGroup, NoDefrag: !cc.Defrag,
		RingSize: int(cc.RingSize), BlockSize: int(cc.BlockSize), FrameSize: int(cc.FrameSize),
		BlockTimeout: cc.BlockTimeout.D(), Snaplen: cc.Snaplen, NoPromiscuous: !cc.Promiscuous,
		Filter: cc.BPFFilter, User: cc.User,
	}
	if lc.Fanout, err = live.ParseFanoutMode(cc.Fanout); err != nil {
		return exitCode(stderr, fmt.Errorf("%s: capture.fanout: %w", cfg.Where("capture.fanout"), err))
	}
	ifaces := fs.String("i", strings.Join(cc.Interfaces, ","), "capture on `IFACES` (comma-separated; a passive tap's ports belong together)")
	out := fs.String("o", "", "write records to `FILE` instead of the configured outputs")
	workers := fs.Int("workers", 0, "worker goroutines (0: from config, whose default is one per CPU)")
	metricsAddr := fs.String("metrics", cfg.Metrics.Listen, "serve /metrics, /healthz and /readyz on `ADDR` (\"\": off)")
	fs.IntVar(&lc.Sockets, "sockets", lc.Sockets, "AF_PACKET sockets per interface (0: one per worker)")
	fs.StringVar(&lc.Filter, "f", lc.Filter, "capture filter in tcpdump syntax, e.g. 'not port 22'")
	fs.Var(fanoutFlag{&lc.Fanout}, "fanout", "fanout `MODE`: hash, cpu, qm or lb")
	group := fs.Uint("fanout-group", uint(lc.FanoutGroup), "fanout group `ID` of the first interface (the next ones use ID+1, …)")
	fs.BoolVar(&lc.NoDefrag, "no-defrag", lc.NoDefrag, "do not let the kernel reassemble IPv4 fragments before fanout")
	fs.Var(sizeFlag{&lc.RingSize}, "ring-size", "ring `SIZE` per socket")
	fs.Var(sizeFlag{&lc.BlockSize}, "block-size", "TPACKET_V3 block `SIZE` (a multiple of the page size)")
	fs.Var(sizeFlag{&lc.FrameSize}, "frame-size", "ring frame `SIZE` (divides the block size)")
	fs.Var((*config.Duration)(&lc.BlockTimeout), "block-timeout", "hand partly filled blocks over after `D`")
	fs.IntVar(&lc.Snaplen, "snaplen", lc.Snaplen, "bytes kept per frame")
	fs.BoolVar(&lc.NoPromiscuous, "no-promisc", lc.NoPromiscuous, "do not put the interfaces in promiscuous mode")
	fs.StringVar(&lc.User, "user", lc.User, "switch to `USER` once the sockets are open")
	status := new(time.Duration)
	*status = cc.StatusInterval.D()
	fs.Var((*config.Duration)(status), "status", "status line interval on stderr (0: none)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tapdlp run [-c FILE] [-i IFACE[,IFACE...]] [-f FILTER] [-o FILE]")
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
	lc.Interfaces = nil
	for _, name := range strings.Split(*ifaces, ",") {
		if name = strings.TrimSpace(name); name != "" {
			lc.Interfaces = append(lc.Interfaces, name)
		}
	}
	if len(lc.Interfaces) == 0 {
		fmt.Fprintln(stderr, "tapdlp run: no interface (-i, or capture.interfaces in the configuration)")
		fs.Usage()
		return 2
	}
	if *group == 0 || *group > 0xffff {
		return exitCode(stderr, fmt.Errorf("-fanout-group %d: want 1..65535", *group))
	}
	lc.FanoutGroup = uint16(*group)
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
	log := cfg.Logger(stderr)

	// The sinks first: files and spools are opened with the start-up
	// privileges, before they are dropped.
	var sink record.Sink
	var router *sinks.Router
	if *out != "" {
		if sink, err = openSink(*out, stdout); err != nil {
			return exitCode(stderr, err)
		}
	} else {
		if router, err = sinks.Build(cfg.Outputs); err != nil {
			return exitCode(stderr, err)
		}
		sink = router
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

	lopts := pipeline.LiveOptions{StatusEvery: *status, Counters: new(pipeline.LiveStats)}
	if *status > 0 {
		lopts.Status = stderr
	}
	lat := new(latencyProxy)
	p, err := pipeline.New(cfg, pipeline.Options{Sink: sink, Log: log, Latency: lat})
	if err != nil {
		sink.Close()
		return exitCode(stderr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *metricsAddr != "" {
		reg := metrics.New(metricsSources(p, c, lopts.Counters, router))
		lat.to.Store(reg.Latency())
		ready := readiness(c, router)
		go func() {
			if err := metrics.Serve(ctx, *metricsAddr, reg.Handler(ready)); err != nil {
				log.Error("metrics endpoint", "err", err)
			}
		}()
	}
	go reloadOnHUP(ctx, log, configPathFromArgs(args), p, router)

	log.Info("capturing", "interfaces", strings.Join(lc.Interfaces, ","), "sockets_per_interface", lc.Sockets,
		"fanout", lc.Fanout.String(), "fanout_group", lc.FanoutGroup, "filter", lc.Filter, "metrics", *metricsAddr)
	sum, err := p.RunLive(ctx, c, lopts)
	if cerr := sink.Close(); err == nil {
		err = cerr
	}
	fmt.Fprintln(stderr, "tapdlp run:", sum)
	return exitCode(stderr, err)
}

// configPathFromArgs finds -c/--config among the arguments before the flag
// set that needs the configuration's values as defaults is built.
func configPathFromArgs(args []string) string {
	for i, a := range args {
		for _, name := range []string{"-c", "--c", "-config", "--config"} {
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, name+"="); ok {
				return v
			}
		}
		if a == "--" {
			break
		}
	}
	return ""
}

// reloadOnHUP re-reads the configuration on SIGHUP and applies what can
// change while packets flow (catalog, IOC lists, rules, detectors), and
// reopens file outputs for external logrotate. A bad file keeps the old
// configuration and logs why, with file:line.
func reloadOnHUP(ctx context.Context, log *slog.Logger, path string, p *pipeline.Pipeline, router *sinks.Router) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		if router != nil {
			if err := router.Reopen(); err != nil {
				log.Error("SIGHUP: reopening outputs", "err", err)
			}
		}
		cfg, err := config.Load(path)
		if err == nil {
			err = p.Reload(cfg)
		}
		if err != nil {
			log.Error("SIGHUP: configuration not reloaded; the previous one stays in force", "err", err)
			continue
		}
		log.Info("SIGHUP: configuration reloaded", "file", cfg.File)
	}
}
