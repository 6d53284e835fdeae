package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/destinations"
	"github.com/tapdlp/tapdlp/pipeline"
)

func runLookup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per argument")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tapdlp lookup [-c FILE] [--json] HOST_OR_IP...")
		fs.PrintDefaults()
	}
	targets, err := parseInterspersed(fs, args)
	if err != nil {
		return exitCode(stderr, err)
	}
	if len(targets) == 0 {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return exitCode(stderr, err)
	}
	c, err := destinations.Build(pipeline.DestinationsConfig(cfg))
	if err != nil {
		return exitCode(stderr, err)
	}
	for _, t := range targets {
		e := c.Explain(t)
		if *asJSON {
			b, err := json.Marshal(e)
			if err != nil {
				return exitCode(stderr, err)
			}
			fmt.Fprintln(stdout, string(b))
			continue
		}
		printExplanation(stdout, e)
	}
	return 0
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
