package main

import (
	"flag"
	"fmt"

	"github.com/tapdlp/tapdlp/internal/atomicfile"
	"github.com/tapdlp/tapdlp/internal/cli"
	"github.com/tapdlp/tapdlp/report"
)

var reportCmd = &cli.Command{
	Name: "report", Usage: "-o FILE RECORDS.jsonl[.gz|.zst]... (- reads stdin)",
	Summary: "render flow/alert/volume records (JSON lines, gzip/zstd too) as one HTML page",
	Setup: func(fs *flag.FlagSet) func(*cli.Env) error {
		out := fs.String("o", "", "write the page to `FILE` (- for stdout); required")
		var opt report.Options
		fs.StringVar(&opt.Title, "title", "", "page title (default \"tapdlp report\")")
		fs.IntVar(&opt.TopN, "top", 0, "rows and chart series shown before the rest is \"other\" (default 8)")
		fs.IntVar(&opt.MaxKeys, "max-keys", 0, "distinct destinations, sources, rules… tracked before folding into \"other\" (default 10000)")
		return func(e *cli.Env) error { // -c is accepted like every command's; the report needs no configuration
			if len(e.Args) == 0 || *out == "" {
				return &cli.UsageError{}
			}
			rep := report.New(opt)
			for _, name := range e.Args {
				if err := e.Open(name, rep.ReadInput); err != nil {
					return fmt.Errorf("report: %w", err)
				}
			}
			if *out == "-" {
				return rep.WriteHTML(e.Stdout)
			}
			return atomicfile.Write(*out, 0o644, rep.WriteHTML)
		}
	},
}
