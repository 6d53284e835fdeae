package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/sinks"
	"github.com/tapdlp/tapdlp/rules"
)

func init() {
	register(command{"rules", "`rules check FILE|DIR` validates policies; `rules test RULES CAPTURE...` shows which fire", runRules})
}

func runRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: tapdlp rules check FILE|DIR | tapdlp rules test [-c FILE] RULES CAPTURE... | tapdlp rules default")
		return 2
	}
	switch args[0] {
	case "check":
		return rulesCheck(args[1:], stdout, stderr)
	case "test":
		return rulesTest(args[1:], stdout, stderr)
	case "default":
		stdout.Write(rules.DefaultPack())
		return 0
	}
	fmt.Fprintf(stderr, "tapdlp rules: unknown subcommand %q (check, test, default)\n", args[0])
	return 2
}

// rulesCheck reports every problem in the files with file:line, not just
// the first, and exits 1 if there is any.
func rulesCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFlag(fs) // accepted like every command's; rule files are checked on their own
	args, err := parseInterspersed(fs, args)
	if err != nil {
		return exitCode(stderr, err)
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: tapdlp rules check FILE|DIR...")
		return 2
	}
	bad := 0
	for _, path := range args {
		diags := rules.CheckFile(path)
		for _, d := range diags {
			fmt.Fprintln(stderr, d.Error())
		}
		if len(diags) > 0 {
			bad++
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", path)
	}
	if bad > 0 {
		return 1
	}
	return 0
}

// rulesTest replays captures with the rules added to the configuration's
// and prints how often each rule fired: how policies are developed safely
// before they are deployed.
func rulesTest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	out := fs.String("o", "", "also write the records (flows and alerts) to `FILE`")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitCode(stderr, err)
	}
	if len(pos) < 2 {
		fmt.Fprintln(stderr, "usage: tapdlp rules test [-c FILE] [-o FILE] RULES CAPTURE...")
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return exitCode(stderr, err)
	}
	var sink record.Sink = record.NewWriterSink(io.Discard)
	if *out != "" {
		if sink, err = sinks.NewFileSink(sinks.FileOptions{Path: *out, Truncate: true}); err != nil {
			return exitCode(stderr, err)
		}
	}
	p, err := pipeline.New(cfg, pipeline.Options{Sink: sink, Log: cfg.Logger(stderr), ExtraRules: pos[:1]})
	if err != nil {
		return exitCode(stderr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := p.Replay(ctx, pos[1:])
	if cerr := sink.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	fmt.Fprintf(stdout, "%d flows, %d records from %d packets\n\n", sum.Flows, sum.Records, sum.Packets)
	if err := rules.WriteTable(stdout, p.Rules().Stats()); err != nil {
		return exitCode(stderr, err)
	}
	return 0
}
