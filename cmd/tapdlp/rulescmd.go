package main

import (
	"flag"
	"fmt"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/internal/cli"
	"github.com/tapdlp/tapdlp/rules"
	"github.com/tapdlp/tapdlp/sensor"
)

var rulesCmd = &cli.Command{
	Name:    "rules",
	Summary: "`rules check FILE|DIR` validates policies; `rules test RULES CAPTURE...` shows which fire",
	Subcommands: []*cli.Command{{
		Name: "check", Usage: "FILE|DIR...", Summary: "report every problem in the files with file:line, not just the first",
		Setup: func(*flag.FlagSet) func(*cli.Env) error { return rulesCheck },
	}, {
		Name: "test", Usage: "[-c FILE] [-o FILE] RULES CAPTURE...", Interruptible: true,
		Summary: "replay captures with RULES added to the configuration's and show how often each rule fired",
		Setup: func(fs *flag.FlagSet) func(*cli.Env) error {
			out := fs.String("o", "", "also write the records (flows and alerts) to `FILE`")
			return func(e *cli.Env) error { return rulesTest(e, *out) }
		},
	}, {
		Name: "default", Summary: "prints the embedded rule pack",
		Setup: func(*flag.FlagSet) func(*cli.Env) error {
			return func(e *cli.Env) error {
				_, err := e.Stdout.Write(rules.DefaultPack())
				return err
			}
		},
	}},
}

// rulesCheck reports every problem in the files with file:line, not just
// the first, and exits 1 if there is any. -c is accepted like every
// command's; rule files are checked on their own.
func rulesCheck(e *cli.Env) error {
	if len(e.Args) == 0 {
		return &cli.UsageError{}
	}
	bad := 0
	for _, path := range e.Args {
		diags := rules.CheckFile(path)
		for _, d := range diags {
			fmt.Fprintln(e.Stderr, d.Error())
		}
		if len(diags) > 0 {
			bad++
			continue
		}
		fmt.Fprintf(e.Stdout, "%s: ok\n", path)
	}
	if bad > 0 {
		return cli.Status(1)
	}
	return nil
}

// rulesTest replays captures with the rules added to the configuration's
// and prints how often each rule fired: how policies are developed safely
// before they are deployed.
func rulesTest(e *cli.Env, out string) error {
	if len(e.Args) < 2 {
		return &cli.UsageError{}
	}
	cfg, err := config.Load(e.Config)
	if err != nil {
		return err
	}
	return runSensor(e, sensor.Config{Config: cfg, Path: e.Config, Files: e.Args[1:], ExtraRules: e.Args[:1], Output: out,
		Discard: true, Quiet: true, RulesTable: e.Stdout, Stdout: e.Stdout, Stderr: e.Stderr})
}
