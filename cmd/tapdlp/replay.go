package main

import (
	"flag"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/internal/cli"
	"github.com/tapdlp/tapdlp/sensor"
)

var replayCmd = &cli.Command{
	Name: "replay", Interruptible: true,
	Summary: "read pcap/pcapng files (gzip/zstd too, - for stdin) and write flow records",
	Usage:   "[-c FILE] [-o FILE] CAPTURE... (- reads stdin)",
	Setup: func(fs *flag.FlagSet) func(*cli.Env) error {
		var sc sensor.Config
		fs.StringVar(&sc.Output, "o", "", "write records to `FILE` instead of stdout")
		workers := fs.Int("workers", 0, "worker goroutines (0: from config, whose default is one per CPU)")
		fs.BoolVar(&sc.Quiet, "q", false, "no summary or progress on stderr")
		fs.StringVar(&sc.CPUProfile, "cpuprofile", "", "write a CPU profile to `FILE` (go tool pprof)")
		fs.StringVar(&sc.MemProfile, "memprofile", "", "write a heap profile to `FILE` at exit")
		fs.StringVar(&sc.ExecTrace, "exectrace", "", "write a Go execution trace to `FILE` (go tool trace): where goroutines wait")
		fs.BoolVar(&sc.UseOutputs, "outputs", false, "write to the configured outputs (file, syslog, kafka sinks) instead of stdout or -o")
		fs.StringVar(&sc.Report, "report", "", "also render the records as an HTML report to `FILE`")
		fs.Func("keylog", "decrypt TLS with this NSS key log `FILE` (SSLKEYLOGFILE; repeatable)", func(v string) error {
			sc.KeyLogs = append(sc.KeyLogs, v)
			return nil
		})
		fs.StringVar(&sc.Filter, "f", "", "only frames matching this tcpdump-syntax `FILTER` (e.g. 'not port 22')")
		return func(e *cli.Env) (err error) {
			if len(e.Args) == 0 {
				return &cli.UsageError{}
			}
			if sc.UseOutputs && sc.Output != "" {
				return cli.Usagef("--outputs and -o both say where records go; give one")
			}
			if sc.Config, err = config.Load(e.Config); err != nil {
				return err
			}
			if *workers > 0 {
				sc.Workers = *workers
			}
			sc.Path, sc.Files, sc.Stdout, sc.Stderr = e.Config, e.Args, e.Stdout, e.Stderr
			return runSensor(e, sc)
		}
	},
}
