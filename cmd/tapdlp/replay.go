package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/sinks"
	"github.com/tapdlp/tapdlp/report"
)

func init() {
	register(command{"replay", "read pcap/pcapng files (gzip/zstd too, - for stdin) and write flow records", runReplay})
}

func runReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	out := fs.String("o", "", "write records to `FILE` instead of stdout")
	workers := fs.Int("workers", 0, "worker goroutines (0: from config, whose default is one per CPU)")
	quiet := fs.Bool("q", false, "no summary or progress on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `FILE` (go tool pprof)")
	memProfile := fs.String("memprofile", "", "write a heap profile to `FILE` at exit")
	useOutputs := fs.Bool("outputs", false, "write to the configured outputs (file, syslog, kafka sinks) instead of stdout or -o")
	reportPath := fs.String("report", "", "also render the records as an HTML report to `FILE`")
	bpf := fs.String("f", "", "only frames matching this tcpdump-syntax `FILTER` (e.g. 'not port 22')")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tapdlp replay [-c FILE] [-o FILE] CAPTURE... (- reads stdin)")
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return exitCode(stderr, err)
	}
	if len(files) == 0 {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return exitCode(stderr, err)
	}
	if *workers > 0 {
		cfg.Workers = *workers
	}
	var sink record.Sink
	var router *sinks.Router
	if *useOutputs {
		if router, err = sinks.Build(cfg.Outputs); err != nil {
			return exitCode(stderr, err)
		}
		sink = router
	} else if sink, err = openSink(*out, stdout); err != nil {
		return exitCode(stderr, err)
	}
	if *reportPath != "" {
		rf, err := os.Create(*reportPath)
		if err != nil {
			return exitCode(stderr, err)
		}
		defer rf.Close()
		sink = teeSink{sink, report.NewSink(rf, strings.Join(files, " "), report.Options{})}
	}
	opts := pipeline.Options{Sink: sink, Log: cfg.Logger(stderr), Filter: *bpf}
	if !*quiet && isTerminal(stderr) {
		opts.Progress = stderr
	}
	p, err := pipeline.New(cfg, opts)
	if err != nil {
		return exitCode(stderr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfiles, err := startProfiles(*cpuProfile, *memProfile)
	if err != nil {
		return exitCode(stderr, err)
	}
	sum, err := p.Replay(ctx, files)
	if perr := stopProfiles(); err == nil {
		err = perr
	}
	if cerr := sink.Close(); err == nil {
		err = cerr
	}
	if router != nil { // the sinks' own counters include drops at shutdown
		sum.SinkDropped = 0
		router.Each(func(_, name string, v uint64) {
			if strings.HasPrefix(name, "dropped_") {
				sum.SinkDropped += v
			}
		})
	}
	if !*quiet {
		fmt.Fprintln(stderr, "tapdlp replay:", sum)
	}
	return exitCode(stderr, err)
}

// teeSink writes every record to both sinks (records and the report).
type teeSink [2]record.Sink

func (t teeSink) Write(rec []byte) error {
	return errors.Join(t[0].Write(rec), t[1].Write(rec))
}

func (t teeSink) Close() error {
	return errors.Join(t[0].Close(), t[1].Close())
}

// openSink returns a file sink for path, or a stdout sink when path is empty.
func openSink(path string, stdout io.Writer) (record.Sink, error) {
	if path == "" || path == "-" {
		return record.NewWriterSink(stdout), nil
	}
	return record.NewFileSink(path)
}

// startProfiles starts a CPU profile and arranges a heap profile; the
// returned function finishes both.
func startProfiles(cpu, mem string) (func() error, error) {
	var cpuFile *os.File
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		cpuFile = f
	}
	return func() error {
		if cpuFile != nil {
			pprof.StopCPUProfile()
			if err := cpuFile.Close(); err != nil {
				return err
			}
		}
		if mem == "" {
			return nil
		}
		f, err := os.Create(mem)
		if err != nil {
			return err
		}
		runtime.GC()
		if err := pprof.WriteHeapProfile(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
