// Package promtext parses and checks the Prometheus text exposition format
// for tests: HELP then TYPE then the family's samples, contiguous, each
// family once, each series once. It is a test helper shared by the
// metrics and sensor tests; nothing in the sensor's run imports it.
package promtext

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Sample is one sample line.
type Sample struct {
	Family string // the family it belongs to (histogram suffixes removed)
	Series string // name and label set, as written
	Labels map[string]string
	Keys   []string // label names in order
	Value  float64
}

// sampleRe matches a sample line: name, optional label set, value.
var sampleRe = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

var labelRe = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// Parse checks text's structure and returns its samples, the families in
// order and their types. The first structural problem is the error.
func Parse(text string) (samples []Sample, order []string, types map[string]string, err error) {
	types = make(map[string]string)
	helped := make(map[string]bool)
	seenSeries := make(map[string]bool)
	cur := ""
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		where := fmt.Sprintf("line %d %q", n+1, line)
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, help, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			if helped[name] {
				return nil, nil, nil, fmt.Errorf("%s: family %s described twice (samples not contiguous)", where, name)
			}
			if help == "" {
				return nil, nil, nil, fmt.Errorf("%s: empty help", where)
			}
			helped[name] = true
			cur = name
			order = append(order, name)
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			if name != cur || types[name] != "" {
				return nil, nil, nil, fmt.Errorf("%s: TYPE without its HELP just before", where)
			}
			types[name] = typ
		case strings.HasPrefix(line, "#") || line == "":
			return nil, nil, nil, fmt.Errorf("%s: unexpected line", where)
		default:
			m := sampleRe.FindStringSubmatch(line)
			if m == nil {
				return nil, nil, nil, fmt.Errorf("%s: not a sample line", where)
			}
			fam := m[1]
			if types[cur] == "histogram" {
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					if s, ok := strings.CutSuffix(fam, suf); ok && s == cur {
						fam = s
					}
				}
			}
			if fam != cur || types[cur] == "" {
				return nil, nil, nil, fmt.Errorf("%s: sample of %s outside its family block (current %s)", where, fam, cur)
			}
			series := m[1] + m[2]
			if seenSeries[series] {
				return nil, nil, nil, fmt.Errorf("%s: duplicate series", where)
			}
			seenSeries[series] = true
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s: value: %v", where, err)
			}
			s := Sample{Family: fam, Series: series, Value: v, Labels: map[string]string{}}
			for _, lm := range labelRe.FindAllStringSubmatch(m[2], -1) {
				s.Labels[lm[1]] = lm[2]
				s.Keys = append(s.Keys, lm[1])
			}
			samples = append(samples, s)
		}
	}
	return samples, order, types, nil
}

// LineDiff describes the first line where want and got differ.
func LineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(w), len(g)) {
		if w[i] != g[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, w[i], g[i])
		}
	}
	return fmt.Sprintf("length %d vs %d lines", len(w), len(g))
}
