package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
)

//go:embed page.html.tmpl
var pageSource string

// tmpl is parsed once; html/template escapes every value by context (text,
// attribute, SVG, CSS), which is what keeps hostile names inert.
var tmpl = template.Must(template.New("page").Parse(pageSource))

// WriteHTML renders the page of everything aggregated so far. It does not
// reset the report.
func (r *Report) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := tmpl.Execute(bw, r.view()); err != nil {
		return fmt.Errorf("report: render: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errWrite, err)
	}
	return nil
}
