package rules

import (
	"fmt"
	"sort"
	"strings"
)

// Diagnostic is one problem found in a rules file, with its position.
// Line is 1-based and always set (a YAML syntax error without a line is
// reported on line 1).
type Diagnostic struct {
	File string
	Line int
	Path string // e.g. rules[2].when.dst.category
	Msg  string
}

func (d Diagnostic) Error() string {
	if d.Path == "" {
		return fmt.Sprintf("%s:%d: %s", d.File, d.Line, d.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", d.File, d.Line, d.Path, d.Msg)
}

// Diagnostics is every problem found in one load; it is the error type
// returned by Parse, ParseNode, LoadDir and Compile.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.Error())
	}
	return b.String()
}

// maxDiagnostics bounds the list so a hostile or garbage file cannot make
// error reporting itself unbounded.
const maxDiagnostics = 100

// diags collects diagnostics for one file.
type diags struct {
	file string
	list Diagnostics
}

func (d *diags) add(line int, path, format string, args ...any) {
	if len(d.list) >= maxDiagnostics {
		return
	}
	if line < 1 {
		line = 1
	}
	d.list = append(d.list, Diagnostic{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
	if len(d.list) == maxDiagnostics {
		d.list = append(d.list, Diagnostic{File: d.file, Line: line, Msg: "too many errors, stopping"})
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
