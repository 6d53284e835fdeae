package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/sensor"
)

func runConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: tapdlp config check FILE | tapdlp config default")
		return 2
	}
	switch args[0] {
	case "default":
		stdout.Write(config.Default())
		return 0
	case "check":
		fs := flag.NewFlagSet("config check", flag.ContinueOnError)
		fs.SetOutput(stderr)
		cfgPath := configFlag(fs)
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
