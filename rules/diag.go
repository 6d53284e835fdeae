package rules

import (
	"fmt"
	"sort"

	"github.com/tapdlp/tapdlp/config"
)

// Rule problems are config.Error values (file, 1-based line, key path such
// as rules[2].when.dst.category, message): the one positioned-error type of
// every YAML consumer. Parse, ParseNode, LoadDir and Compile return every
// problem of a load together as a config.Errors. Line is always set (a
// YAML syntax error without a line is reported on line 1).

// maxDiagnostics bounds the list so a hostile or garbage file cannot make
// error reporting itself unbounded.
const maxDiagnostics = 100

// diags collects problems for one file.
type diags struct {
	file string
	list config.Errors
}

func (d *diags) add(line int, path, format string, args ...any) {
	if len(d.list) >= maxDiagnostics {
		return
	}
	if line < 1 {
		line = 1
	}
	d.list = append(d.list, &config.Error{File: d.file, Line: line, Key: path, Msg: fmt.Sprintf(format, args...)})
	if len(d.list) == maxDiagnostics {
		d.list = append(d.list, &config.Error{File: d.file, Line: line, Msg: "too many errors, stopping"})
	}
}

func (d *diags) err() error {
	if len(d.list) == 0 {
		return nil
	}
	// Checks run key by key; report in file order.
	sort.SliceStable(d.list, func(i, j int) bool { return d.list[i].Line < d.list[j].Line })
	return d.list
}
