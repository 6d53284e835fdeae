package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set at build time: go build -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stderr, "usage: tapdlp version")
		return 0
	}
	v, c, d := buildVersion()
	fmt.Fprintf(stdout, "tapdlp %s (commit %s, built %s, %s %s/%s)\n", v, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
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
