package sensor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"

	"golang.org/x/term"

	"github.com/tapdlp/tapdlp/internal/atomicfile"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/sinks"
	"github.com/tapdlp/tapdlp/report"
	"github.com/tapdlp/tapdlp/rules"
)

// replay reads the capture files through a pipeline: records go to Output
// (stdout by default), nowhere (Discard) or, with UseOutputs, to the configured outputs, and
// optionally to an HTML report as well.
func (s *Sensor) replay(ctx context.Context) error {
	var sink record.Sink
	var router *sinks.Router
	var err error
	switch {
	case s.cfg.UseOutputs:
		if sink, router, err = s.openSinks(); err != nil {
			return err
		}
	case s.cfg.Discard && s.cfg.Output == "":
		sink = record.NewWriterSink(io.Discard)
	default:
		if sink, err = openSink(s.cfg.Output, s.cfg.Stdout); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pipe := &brokenPipe{Sink: sink, cancel: cancel}
	if router == nil { // stdout or -o; the configured sinks handle their own failures
		sink = pipe
	}
	if s.cfg.Report != "" {
		rf, err := atomicfile.Create(s.cfg.Report, 0o644)
		if err != nil {
			return errors.Join(err, sink.Close())
		}
		defer rf.Abort() // after a successful Commit, a no-op
		sink = teeSink{sink, reportSink{report.NewSink(rf, strings.Join(s.cfg.Files, " "), report.Options{}), rf}}
	}
	opts := pipeline.Options{Sink: sink, Log: s.log, Filter: s.cfg.Filter, ExtraRules: s.cfg.ExtraRules,
		KeyLogs: append(append([]string(nil), s.cfg.TLS.KeylogFiles...), s.cfg.KeyLogs...)}
	if opts.Filter == "" && s.cfg.Capture.BPFFilter != "" {
		// The live capture's kernel filter applies to a replay too (the
		// same tcpdump syntax, compiled for the capture's link type);
		// -f replaces it.
		opts.Filter = s.cfg.Capture.BPFFilter
		s.log.Info("replay: filtering with capture.bpf_filter from the configuration (-f replaces it)", "filter", opts.Filter)
	}
	if !s.cfg.Quiet && isTerminal(s.cfg.Stderr) {
		opts.Progress = s.cfg.Stderr
	}
	p, err := pipeline.New(s.cfg.Config, opts)
	if err != nil {
		return errors.Join(err, sink.Close())
	}
	stopProfiles, err := startProfiles(s.cfg.CPUProfile, s.cfg.MemProfile, s.cfg.ExecTrace)
	if err != nil {
		return errors.Join(err, sink.Close())
	}
	sum, err := p.Replay(ctx, s.cfg.Files)
	err = errors.Join(err, stopProfiles(), sink.Close())
	if pipe.hit.Load() {
		err = withoutPipe(err)
	}
	if router != nil { // the sinks' own counters include what they dropped at shutdown
		sum.SinkDropped = 0
		router.Each(func(_, name string, v uint64) {
			if strings.HasPrefix(name, "dropped_") {
				sum.SinkDropped += v
			}
		})
	}
	if !s.cfg.Quiet {
		fmt.Fprintln(s.cfg.Stderr, "tapdlp replay:", sum)
	}
	if t := s.cfg.RulesTable; t != nil && err == nil {
		fmt.Fprintf(t, "%d flows, %d records from %d packets\n\n", sum.Flows, sum.Records, sum.Packets)
		err = rules.WriteTable(t, p.Rules().Stats())
	}
	return err
}

// teeSink writes every record to both sinks (records and the report).
type teeSink [2]record.Sink

func (t teeSink) Write(rec record.Encoded) error {
	return errors.Join(t[0].Write(rec), t[1].Write(rec))
}

func (t teeSink) Close() error {
	return errors.Join(t[0].Close(), t[1].Close())
}

// reportSink renders the report and, when that succeeded, puts the file
// in place.
type reportSink struct {
	record.Sink
	f *atomicfile.File
}

func (r reportSink) Close() error {
	if err := r.Sink.Close(); err != nil {
		return errors.Join(err, r.f.Abort())
	}
	return r.f.Commit()
}

// startProfiles starts a CPU profile and an execution trace and arranges a
// heap profile; the returned function finishes all three.
func startProfiles(cpu, mem, exec string) (func() error, error) {
	var cpuFile, traceFile *atomicfile.File
	if cpu != "" {
		f, err := atomicfile.Create(cpu, 0o644)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, errors.Join(err, f.Abort())
		}
		cpuFile = f
	}
	if exec != "" {
		f, err := atomicfile.Create(exec, 0o644)
		if err == nil {
			err = trace.Start(f)
		}
		if err != nil {
			if cpuFile != nil {
				pprof.StopCPUProfile()
				err = errors.Join(err, cpuFile.Abort())
			}
			if f != nil {
				err = errors.Join(err, f.Abort())
			}
			return nil, err
		}
		traceFile = f
	}
	return func() error {
		if cpuFile != nil {
			pprof.StopCPUProfile()
			if err := cpuFile.Commit(); err != nil {
				return err
			}
		}
		if traceFile != nil {
			trace.Stop()
			if err := traceFile.Commit(); err != nil {
				return err
			}
		}
		if mem == "" {
			return nil
		}
		return atomicfile.Write(mem, 0o644, func(w io.Writer) error {
			runtime.GC()
			return pprof.WriteHeapProfile(w)
		})
	}, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
