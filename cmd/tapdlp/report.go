package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/tapdlp/tapdlp/internal/atomicfile"
	"github.com/tapdlp/tapdlp/report"
)

func runReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	_ = configFlag(fs) // accepted like every command; the report needs no configuration
	out := fs.String("o", "", "write the page to `FILE` (- for stdout); required")
	var opt report.Options
	fs.StringVar(&opt.Title, "title", "", "page title (default \"tapdlp report\")")
	fs.IntVar(&opt.TopN, "top", 0, "rows and chart series shown before the rest is \"other\" (default 8)")
	fs.IntVar(&opt.MaxKeys, "max-keys", 0, "distinct destinations, sources, rules… tracked before folding into \"other\" (default 10000)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tapdlp report -o FILE RECORDS.jsonl[.gz|.zst]... (- reads stdin)")
		fs.PrintDefaults()
	}
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return exitCode(stderr, err)
	}
	if len(files) == 0 || *out == "" {
		fs.Usage()
		return 2
	}
	rep := report.New(opt)
	for _, name := range files {
		err := withInput(name, func(label string, r io.Reader) error { return rep.ReadInput(label, r) })
		if err != nil {
			return exitCode(stderr, fmt.Errorf("report: %w", err))
		}
	}
	if *out == "-" {
		return exitCode(stderr, rep.WriteHTML(stdout))
	}
	return exitCode(stderr, atomicfile.Write(*out, 0o644, rep.WriteHTML))
}
