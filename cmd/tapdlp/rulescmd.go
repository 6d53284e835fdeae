package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/rules"
	"github.com/tapdlp/tapdlp/sensor"
)

const rulesUsage = "usage: tapdlp rules check FILE|DIR | tapdlp rules test [-c FILE] RULES CAPTURE... | tapdlp rules default"

func runRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, rulesUsage)
		return 2
	}
	if isHelp(args[0]) {
		fmt.Fprintln(stderr, rulesUsage)
		return 0
	}
	switch args[0] {
	case "check":
		return rulesCheck(args[1:], stdout, stderr)
	case "test":
		return rulesTest(args[1:], stdout, stderr)
	case "default":
		if len(args) > 1 && isHelp(args[1]) {
			fmt.Fprintln(stderr, "usage: tapdlp rules default (prints the embedded rule pack)")
			return 0
		}
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
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tapdlp rules check FILE|DIR...")
		fs.PrintDefaults()
	}
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
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tapdlp rules test [-c FILE] [-o FILE] RULES CAPTURE...")
		fs.PrintDefaults()
	}
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
	return runSensor(sensor.Config{Config: cfg, Path: *cfgPath, Files: pos[1:], ExtraRules: pos[:1], Output: *out,
		Discard: true, Quiet: true, RulesTable: stdout, Stdout: stdout, Stderr: stderr}, stderr)
}
