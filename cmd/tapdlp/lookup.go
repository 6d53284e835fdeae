package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/destinations"
	"github.com/tapdlp/tapdlp/internal/cli"
	"github.com/tapdlp/tapdlp/pipeline"
)

var lookupCmd = &cli.Command{
	Name: "lookup", Usage: "[-c FILE] [--json] HOST_OR_IP...",
	Summary: "explain how a host name or IP address is classified",
	Setup: func(fs *flag.FlagSet) func(*cli.Env) error {
		asJSON := fs.Bool("json", false, "print one JSON object per argument")
		return func(e *cli.Env) error {
			if len(e.Args) == 0 {
				return &cli.UsageError{}
			}
			cfg, err := config.Load(e.Config)
			if err != nil {
				return err
			}
			c, err := destinations.Build(pipeline.DestinationsConfig(cfg))
			if err != nil {
				return err
			}
			for _, t := range e.Args {
				x := c.Explain(t)
				if !*asJSON {
					printExplanation(e.Stdout, x)
					continue
				}
				b, err := json.Marshal(x)
				if err != nil {
					return err
				}
				fmt.Fprintln(e.Stdout, string(b))
			}
			return nil
		}
	},
}

func printExplanation(w io.Writer, e destinations.Explanation) {
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-13s %s\n", k+":", v)
		}
	}
	fmt.Fprintf(w, "%s\n", e.Input)
	row("name", e.Name)
	row("category", string(e.Category))
	row("vendor", e.Vendor)
	row("service", e.Service)
	matched := e.Matched
	if matched == "" {
		matched = "(nothing)"
	}
	row("matched", matched)
	row("source", e.Source)
	row("reference", e.Ref)
	row("domain", e.Domain)
	row("range", e.Range)
	row("region", e.Region)
	if e.Internal {
		row("internal", "yes (home_net)")
	}
	row("ioc list", e.IOC)
	row("service name", e.ServiceName)
	row("why", e.Reason)
}
