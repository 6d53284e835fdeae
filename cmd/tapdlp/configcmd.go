package main

import (
	"flag"
	"fmt"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/internal/cli"
	"github.com/tapdlp/tapdlp/sensor"
)

var configCmd = &cli.Command{
	Name:    "config",
	Summary: "`config check FILE` validates a file; `config default` prints the embedded default",
	Subcommands: []*cli.Command{{
		Name: "check", Usage: "FILE", Summary: "what run and replay would refuse, with file:line",
		Setup: func(*flag.FlagSet) func(*cli.Env) error {
			return func(e *cli.Env) error {
				path := e.Config
				if len(e.Args) == 1 && path == "" {
					path = e.Args[0]
				}
				if path == "" || len(e.Args) > 1 {
					return &cli.UsageError{}
				}
				cfg, err := config.Load(path)
				if err == nil {
					err = sensor.Check(cfg)
				}
				if err != nil {
					fmt.Fprintln(e.Stderr, err)
					return cli.Status(1)
				}
				fmt.Fprintf(e.Stdout, "%s: ok\n", path)
				return nil
			}
		},
	}, {
		Name: "default", Summary: "prints the embedded default configuration",
		Setup: func(*flag.FlagSet) func(*cli.Env) error {
			return func(e *cli.Env) error {
				_, err := e.Stdout.Write(config.Default())
				return err
			}
		},
	}},
}
