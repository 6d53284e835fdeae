package main

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/tapdlp/tapdlp/internal/cli"
)

// Set at build time: go build -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

var versionCmd = &cli.Command{
	Name: "version", Summary: "print version, commit and build date",
	Setup: func(*flag.FlagSet) func(*cli.Env) error {
		return func(e *cli.Env) error {
			v, c, d := buildVersion()
			fmt.Fprintf(e.Stdout, "tapdlp %s (commit %s, built %s, %s %s/%s)\n", v, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		}
	},
}

// buildVersion is the version, commit and build date: from -ldflags, else
// from the module's VCS stamp, else "unknown".
func buildVersion() (v, c, d string) {
	v, c, d = version, commit, date
	if info, ok := debug.ReadBuildInfo(); ok && c == "" {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				c = s.Value
			case "vcs.time":
				d = s.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return v, c, d
}
