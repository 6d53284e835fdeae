package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/sensor"
)

const configUsage = "usage: tapdlp config check FILE | tapdlp config default"

func runConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, configUsage)
		return 2
	}
	if isHelp(args[0]) {
		fmt.Fprintln(stderr, configUsage)
		return 0
	}
	switch args[0] {
	case "default":
		if len(args) > 1 && isHelp(args[1]) {
			fmt.Fprintln(stderr, "usage: tapdlp config default (prints the embedded default configuration)")
			return 0
		}
		stdout.Write(config.Default())
		return 0
	case "check":
		fs := flag.NewFlagSet("config check", flag.ContinueOnError)
		fs.SetOutput(stderr)
		cfgPath := configFlag(fs)
		fs.Usage = func() {
			fmt.Fprintln(stderr, "usage: tapdlp config check FILE (what run and replay would refuse, with file:line)")
			fs.PrintDefaults()
		}
		rest, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return exitCode(stderr, err)
		}
		if len(rest) == 1 && *cfgPath == "" {
			*cfgPath = rest[0]
		}
		if *cfgPath == "" || len(rest) > 1 {
			fmt.Fprintln(stderr, "usage: tapdlp config check FILE")
			return 2
		}
		cfg, err := config.Load(*cfgPath)
		if err == nil {
			err = sensor.Check(cfg)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: ok\n", *cfgPath)
		return 0
	}
	fmt.Fprintf(stderr, "tapdlp config: unknown subcommand %q (check, default)\n", args[0])
	return 2
}
