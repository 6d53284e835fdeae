package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/sensor"
)

func runReplay(args []string, stdout, stderr io.Writer) int {
	var sc sensor.Config
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	fs.StringVar(&sc.Output, "o", "", "write records to `FILE` instead of stdout")
	workers := fs.Int("workers", 0, "worker goroutines (0: from config, whose default is one per CPU)")
	fs.BoolVar(&sc.Quiet, "q", false, "no summary or progress on stderr")
	fs.StringVar(&sc.CPUProfile, "cpuprofile", "", "write a CPU profile to `FILE` (go tool pprof)")
	fs.StringVar(&sc.MemProfile, "memprofile", "", "write a heap profile to `FILE` at exit")
	fs.BoolVar(&sc.UseOutputs, "outputs", false, "write to the configured outputs (file, syslog, kafka sinks) instead of stdout or -o")
	fs.StringVar(&sc.Report, "report", "", "also render the records as an HTML report to `FILE`")
	fs.Func("keylog", "decrypt TLS with this NSS key log `FILE` (SSLKEYLOGFILE; repeatable)", func(v string) error {
		sc.KeyLogs = append(sc.KeyLogs, v)
		return nil
	})
	fs.StringVar(&sc.Filter, "f", "", "only frames matching this tcpdump-syntax `FILTER` (e.g. 'not port 22')")
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
	if sc.UseOutputs && sc.Output != "" {
		fmt.Fprintln(stderr, "tapdlp replay: --outputs and -o both say where records go; give one")
		return 2
	}
	if sc.Config, err = config.Load(*cfgPath); err != nil {
		return exitCode(stderr, err)
	}
	if *workers > 0 {
		sc.Workers = *workers
	}
	sc.Path, sc.Files, sc.Stdout, sc.Stderr = *cfgPath, files, stdout, stderr
	return runSensor(sc, stderr)
}
