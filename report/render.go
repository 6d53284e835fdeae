package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sync"
)

//go:embed page.html.tmpl
var pageSource string

// tmpl is parsed once, on first use: every tapdlp command links this
// package, few write a report, and parsing the page at package init cost
// each start-up about 1 ms. html/template escapes every value by context
// (text, attribute, SVG, CSS), which is what keeps hostile names inert.
// The report's golden tests render the page, so a template that does not
// parse fails them.
var tmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(pageSource))
})

// WriteHTML renders the page of everything aggregated so far. It does not
// reset the report.
func (r *Report) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := tmpl().Execute(bw, r.view()); err != nil {
		return fmt.Errorf("report: render: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errWrite, err)
	}
	return nil
}
