package classify

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tapdlp/tapdlp/config"
)

// CustomDetector is a user-defined detector loaded from YAML:
//
//	detectors:
//	  - name: employee_id
//	    class: PII
//	    regex: 'EMP-[0-9]{6}'     # or keywords: [project falcon, ...]
//	    validator: none           # luhn, mod97, verhoeff, mod11, none
//	    context: [employee, staff]
//	    window: 40
//	    confidence: medium
type CustomDetector struct {
	Name       string
	Class      string
	Regex      string
	Keywords   []string
	Validator  string
	Context    []string
	Window     int
	Confidence string

	File string // where it was defined, for errors at compile time
	Line int
}

var validatorNames = "luhn, mod97, verhoeff, mod11, none"

var customKeys = map[string]bool{
	"name": true, "class": true, "regex": true, "keywords": true, "validator": true,
	"context": true, "window": true, "confidence": true,
}

// ParseCustom decodes custom detectors from a YAML node: a document or a
// mapping with a "detectors" list, or the list itself. Every problem is a
// *config.Error ("file:line: detectors[i].field: message"); unknown keys are
// errors. All problems are returned together as a config.Errors.
func ParseCustom(file string, node *yaml.Node) ([]CustomDetector, error) {
	if node == nil {
		return nil, nil
	}
	if node.Kind == yaml.DocumentNode {
		if len(node.Content) == 0 {
			return nil, nil
		}
		node = node.Content[0]
	}
	if node.Kind == yaml.MappingNode {
		var list *yaml.Node
		for k := 0; k+1 < len(node.Content); k += 2 {
			key := node.Content[k]
			if key.Value != "detectors" {
				return nil, config.Errors{config.NodeError(file, key, key.Value, "unknown key")}
			}
			list = node.Content[k+1]
		}
		if list == nil {
			return nil, nil
		}
		node = list
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return nil, nil
	}
	if node.Kind != yaml.SequenceNode {
		return nil, config.Errors{config.NodeError(file, node, "detectors", "want a list of detectors")}
	}
	var out []CustomDetector
	var errs config.Errors
	for i, item := range node.Content {
		d, derrs := parseOne(file, i, item)
		if len(derrs) > 0 {
			errs = append(errs, derrs...)
			continue
		}
		out = append(out, d)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	seen := map[string]int{}
	for i, d := range out {
		if _, ok := builtinByName(d.Name); ok {
			errs = append(errs, &config.Error{File: file, Line: d.Line, Key: fmt.Sprintf("detectors[%d].name", i), Msg: fmt.Sprintf("%q is a built-in type", d.Name)})
		} else if j, ok := seen[d.Name]; ok {
			errs = append(errs, &config.Error{File: file, Line: d.Line, Key: fmt.Sprintf("detectors[%d].name", i), Msg: fmt.Sprintf("%q already defined by detectors[%d]", d.Name, j)})
		}
		seen[d.Name] = i
	}
	if len(errs) > 0 {
		return out, errs
	}
	return out, nil
}

func parseOne(file string, i int, n *yaml.Node) (CustomDetector, config.Errors) {
	d := CustomDetector{File: file, Line: n.Line, Validator: "none", Confidence: "medium"}
	at := func(line int, field, format string, a ...any) *config.Error {
		return &config.Error{File: file, Line: line, Key: fmt.Sprintf("detectors[%d].%s", i, field), Msg: fmt.Sprintf(format, a...)}
	}
	if n.Kind != yaml.MappingNode {
		return d, config.Errors{config.NodeError(file, n, fmt.Sprintf("detectors[%d]", i), "want a mapping")}
	}
	var errs config.Errors
	seenKey := map[string]bool{}
	for k := 0; k+1 < len(n.Content); k += 2 {
		key, val := n.Content[k], n.Content[k+1]
		if !customKeys[key.Value] {
			errs = append(errs, at(key.Line, key.Value, "unknown key"))
			continue
		}
		if seenKey[key.Value] {
			errs = append(errs, at(key.Line, key.Value, "defined twice"))
			continue
		}
		seenKey[key.Value] = true
		var err *config.Error
		switch key.Value {
		case "name", "class", "regex", "validator", "confidence":
			if val.Kind != yaml.ScalarNode {
				err = at(val.Line, key.Value, "want a string")
				break
			}
			switch key.Value {
			case "name":
				d.Name = val.Value
			case "class":
				d.Class = val.Value
			case "regex":
				d.Regex = val.Value
			case "validator":
				d.Validator = val.Value
			case "confidence":
				d.Confidence = val.Value
			}
		case "keywords", "context":
			var l []string
			if e := val.Decode(&l); e != nil || val.Kind != yaml.SequenceNode {
				err = at(val.Line, key.Value, "want a list of strings")
				break
			}
			if key.Value == "keywords" {
				d.Keywords = l
			} else {
				d.Context = l
			}
		case "window":
			if e := val.Decode(&d.Window); e != nil {
				err = at(val.Line, key.Value, "want an integer")
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	line := func(field string) int {
		for k := 0; k+1 < len(n.Content); k += 2 {
			if n.Content[k].Value == field {
				return n.Content[k+1].Line
			}
		}
		return n.Line
	}
	if err := d.check(); err != nil {
		var fe fieldErr
		if errors.As(err, &fe) {
			errs = append(errs, at(line(fe.field), fe.field, "%s", fe.msg))
		}
	}
	return d, errs
}

type fieldErr struct{ field, msg string }

func (f fieldErr) Error() string { return f.field + ": " + f.msg }

// check validates a definition; it is shared by ParseCustom and NewEngine
// (for detectors built in code).
func (d *CustomDetector) check() error {
	if d.Name == "" {
		return fieldErr{"name", "required"}
	}
	for k := 0; k < len(d.Name); k++ {
		c := d.Name[k]
		if !(c >= 'a' && c <= 'z') && !(k > 0 && (isDigit(c) || c == '_')) || k >= 64 {
			return fieldErr{"name", fmt.Sprintf("%q must match [a-z][a-z0-9_]{0,63}", d.Name)}
		}
	}
	switch d.Class {
	case ClassPCI, ClassPII, ClassPHI, ClassSecret:
	case "":
		return fieldErr{"class", "required (PCI, PII, PHI, SECRET)"}
	default:
		return fieldErr{"class", fmt.Sprintf("%q is not a class (PCI, PII, PHI, SECRET)", d.Class)}
	}
	if (d.Regex == "") == (len(d.Keywords) == 0) {
		return fieldErr{"regex", "exactly one of regex and keywords is required"}
	}
	if d.Regex != "" {
		re, err := syntax.Parse(d.Regex, syntax.Perl)
		if err != nil {
			return fieldErr{"regex", "does not compile: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")}
		}
		if usesTextAnchors(re) {
			return fieldErr{"regex", "^ and $ (text anchors) are not supported on streams; use \\b or (?m)"}
		}
	}
	for _, k := range d.Keywords {
		if strings.TrimSpace(k) == "" {
			return fieldErr{"keywords", "empty keyword"}
		}
	}
	for _, k := range d.Context {
		if strings.TrimSpace(k) == "" {
			return fieldErr{"context", "empty context word"}
		}
	}
	if d.Validator == "" {
		d.Validator = "none"
	}
	if customValidator(d.Validator) == nil && d.Validator != "none" {
		return fieldErr{"validator", fmt.Sprintf("%q is not a validator (%s)", d.Validator, validatorNames)}
	}
	if d.Window < 0 || d.Window > MaxContextWindow {
		return fieldErr{"window", fmt.Sprintf("%d outside 0..%d", d.Window, MaxContextWindow)}
	}
	switch d.Confidence {
	case "", "medium", "high":
	default:
		return fieldErr{"confidence", fmt.Sprintf("%q is not a confidence (high, medium)", d.Confidence)}
	}
	return nil
}

func usesTextAnchors(re *syntax.Regexp) bool {
	if re.Op == syntax.OpBeginText || re.Op == syntax.OpEndText {
		return true
	}
	for _, s := range re.Sub {
		if usesTextAnchors(s) {
			return true
		}
	}
	return false
}

func customValidator(name string) func([]byte) bool {
	switch name {
	case "luhn":
		return luhn
	case "mod97":
		return ibanValid
	case "verhoeff":
		return verhoeff
	case "mod11":
		return mod11NHS
	}
	return nil
}

// customDet is a compiled custom detector.
type customDet struct {
	t        Type
	re       *regexp.Regexp
	kw       *kwSet
	validate func([]byte) bool
	alnum    bool // validator works on letters and digits (mod97), not digits only
	conf     Confidence
	window   int
}

func compileCustom(d *CustomDetector, t Type, defWindow int) (*customDet, error) {
	fail := func(err error) error {
		if d.File != "" {
			return &config.Error{File: d.File, Line: d.Line, Key: d.Name, Msg: "custom detector: " + err.Error()}
		}
		return fmt.Errorf("classify: custom detector %s: %w", d.Name, err)
	}
	if err := d.check(); err != nil {
		return nil, fail(err)
	}
	c := &customDet{t: t, validate: customValidator(d.Validator), alnum: d.Validator == "mod97", conf: Medium, window: d.Window}
	if d.Confidence == "high" {
		c.conf = High
	}
	if c.window == 0 {
		c.window = defWindow
	}
	if d.Regex != "" {
		re, err := regexp.Compile(d.Regex)
		if err != nil {
			return nil, fail(err)
		}
		c.re = re
	} else {
		c.kw = newKwSet(d.Keywords)
	}
	return c, nil
}

// customRegion runs the custom detectors over matches starting in
// [from, to). Regular expressions get one byte of left context so \b works
// at a window edge; matches are bounded by the window's look-ahead.
func (s *Scanner) customRegion(buf []byte, from, to int) {
	for _, d := range s.e.custom {
		hi := min(len(buf), to+s.e.hold)
		off := max(0, from-1)
		for off < to {
			var ms, me int
			if d.re != nil {
				loc := d.re.FindIndex(buf[off:hi])
				if loc == nil {
					break
				}
				ms, me = off+loc[0], off+loc[1]
			} else {
				ms, me = d.kw.findAt(buf[:hi], off)
				if ms < 0 {
					break
				}
			}
			if me == ms || ms < from {
				off = ms + 1
				continue
			}
			if ms >= to {
				break
			}
			off = me
			s.customHit(d, buf, ms, me)
		}
	}
}

func (s *Scanner) customHit(d *customDet, buf []byte, ms, me int) {
	norm := buf[ms:me]
	if d.validate != nil {
		n := 0
		for _, c := range buf[ms:me] {
			if (isDigit(c) || (d.alnum && isLetter(c))) && n < len(s.nb) {
				s.nb[n] = upper(c)
				n++
			}
		}
		norm = s.nb[:n]
		if !d.validate(norm) {
			return
		}
	}
	if s.e.ctx[d.t] != nil {
		s.lo = max(0, ms-d.window)
		s.lim = min(len(buf), me+d.window)
		if !s.ctxWin(buf, ms, me, d.t, d.window) {
			return
		}
	}
	s.emit(d.t, ms, me, d.conf, false, norm)
}
