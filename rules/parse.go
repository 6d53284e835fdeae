package rules

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tapdlp/tapdlp/config"
)

// Rule is one parsed policy. Conditions stay as YAML nodes (with their line
// numbers) until Compile turns them into an evaluation tree.
type Rule struct {
	ID          string
	Description string
	Severity    string // low, medium, high, critical
	Enabled     bool   // false: parsed and checked, but not compiled (disables a default of the same id)
	When        *yaml.Node
	Threshold   *Threshold
	Dedup       *DedupSpec // nil: Options.DedupWindow and the rule's default key
	File        string
	Line        int
}

// Pos is the rule's position for messages.
func (r *Rule) Pos() string { return r.File + ":" + strconv.Itoa(r.Line) }

// Threshold makes a rule volume-based: it fires when its conditions hold and
// the bytes out of the record's key over Window exceed BytesOut or
// BaselineFactor times the key's baseline (with at least MinBytes) — or,
// with Flows, when at least Flows flows of the key matched the conditions
// within Window (counting the flow at hand).
type Threshold struct {
	Flows          int           // 0: a byte threshold; else a flow count (not combined with the byte tests)
	BytesOut       uint64        // 0: no absolute limit
	BaselineFactor float64       // 0: no baseline test
	MinBytes       uint64        // the baseline test needs at least this much in the window
	Per            []string      // key fields; default [src.service, dst.domain]
	Window         time.Duration // default 1h
}

// DedupSpec overrides de-duplication for one rule.
type DedupSpec struct {
	Window time.Duration // 0 disables de-duplication for the rule; < 0: Options.DedupWindow
	Per    []string      // key fields; empty: [src.service, dst.domain]
}

// maxFileSize bounds what Parse accepts; real rule files are kilobytes.
const maxFileSize = 4 << 20

// validID reports whether s is a rule id: a letter or digit, then at most
// 63 letters, digits, '.', '_' or '-' (the regexp
// ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$, which TestValidID keeps as the oracle:
// compiling it at package init cost every start-up about 0.5 ms).
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

var ruleFields = []string{"id", "description", "severity", "enabled", "when", "threshold", "dedup"}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// Parse reads a rules file: either a map with a `rules:` list or a bare
// list of rules. It checks everything Compile would (fields, identifiers,
// values) and returns all problems as a config.Errors with file:line.
func Parse(file string, data []byte) (rules []Rule, err error) {
	d := &diags{file: file}
	if len(data) > maxFileSize {
		d.add(1, "", "file larger than %d bytes", maxFileSize)
		return nil, d.err()
	}
	var doc yaml.Node
	if perr := safeUnmarshal(data, &doc); perr != nil {
		line := 1
		msg := strings.TrimPrefix(perr.Error(), "yaml: ")
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = strings.Replace(msg, m[0]+": ", "", 1)
		}
		d.add(line, "", "%s", msg)
		return nil, d.err()
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil // empty file: no rules
	}
	root := doc.Content[0]
	if line, msg := checkTree(root, 0); msg != "" {
		d.add(line, "", "%s", msg)
		return nil, d.err()
	}
	var list *yaml.Node
	switch root.Kind {
	case yaml.SequenceNode:
		list = root
	case yaml.MappingNode:
		if !checkKeys(d, root, "") {
			return nil, d.err()
		}
		for i := 0; i < len(root.Content); i += 2 {
			if root.Content[i].Value != "rules" {
				d.add(root.Content[i].Line, root.Content[i].Value, "unknown top-level key (rules)")
				continue
			}
			list = root.Content[i+1]
		}
		if list == nil {
			d.add(root.Line, "", "no rules: list")
			return nil, d.err()
		}
	case yaml.ScalarNode:
		if root.Tag == "!!null" {
			return nil, nil
		}
		fallthrough
	default:
		d.add(root.Line, "", "expected a `rules:` list, got %s", kindName(root))
		return nil, d.err()
	}
	rules = parseList(d, list)
	return rules, d.err()
}

// safeUnmarshal converts a decoder panic into an error: the input is
// untrusted and a crash at load must not take the sensor down.
func safeUnmarshal(data []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: invalid document")
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(n); err != nil {
		if err.Error() == "EOF" {
			return nil
		}
		return err
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		return fmt.Errorf("yaml: line %d: more than one document in a rules file", extra.Line)
	}
	return nil
}

// checkTree rejects anchors and aliases (an alias bomb would otherwise be
// expanded by our own tree walks) and documents nested beyond any sane rule.
func checkTree(n *yaml.Node, depth int) (int, string) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return n.Line, "YAML anchors and aliases are not supported in rules"
	}
	if depth > 200 {
		return n.Line, "document nested deeper than 200 levels"
	}
	for _, c := range n.Content {
		if line, msg := checkTree(c, depth+1); msg != "" {
			return line, msg
		}
	}
	return 0, ""
}

// ParseNode parses the value of a `rules:` key inside another document (the
// main config). The node must be a list.
func ParseNode(file string, node *yaml.Node) ([]Rule, error) {
	d := &diags{file: file}
	if node == nil {
		return nil, nil
	}
	if line, msg := checkTree(node, 0); msg != "" {
		d.add(line, "rules", "%s", msg)
		return nil, d.err()
	}
	rules := parseList(d, node)
	return rules, d.err()
}

func parseList(d *diags, list *yaml.Node) []Rule {
	if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return nil
	}
	if list.Kind != yaml.SequenceNode {
		d.add(list.Line, "rules", "expected a list of rules, got %s", kindName(list))
		return nil
	}
	var rules []Rule
	seen := map[string]int{}
	for i, item := range list.Content {
		path := fmt.Sprintf("rules[%d]", i)
		r, ok := parseRule(d, item, path)
		if !ok {
			continue
		}
		if first, dup := seen[r.ID]; dup {
			d.add(r.Line, path+".id", "duplicate rule id %q (first at %s:%d)", r.ID, d.file, first)
			continue
		}
		seen[r.ID] = r.Line
		rules = append(rules, r)
	}
	return rules
}

func parseRule(d *diags, n *yaml.Node, path string) (Rule, bool) {
	r := Rule{File: d.file, Line: n.Line, Severity: "medium", Enabled: true}
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, path, "expected a rule map, got %s", kindName(n))
		return r, false
	}
	if !checkKeys(d, n, path) {
		return r, false
	}
	before := len(d.list)
	hasThreshold := false
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := path + "." + k.Value
		switch k.Value {
		case "id":
			if v.Kind != yaml.ScalarNode || !validID(v.Value) {
				d.add(v.Line, p, "%s is not a rule id (letters, digits, . _ -, at most 64)", quoteNode(v))
				continue
			}
			r.ID = v.Value
		case "description":
			if v.Kind != yaml.ScalarNode || len(v.Value) > 1024 {
				d.add(v.Line, p, "expected text of at most 1024 bytes")
				continue
			}
			r.Description = v.Value
		case "severity":
			if v.Kind != yaml.ScalarNode || !validSeverity(v.Value) {
				d.add(v.Line, p, "%s is not a severity (%s)", quoteNode(v), listNames(severityNames[:]))
				continue
			}
			r.Severity = v.Value
		case "enabled":
			b, err := strconv.ParseBool(v.Value)
			if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || err != nil {
				d.add(v.Line, p, "%s is not true or false", quoteNode(v))
				continue
			}
			r.Enabled = b
		case "when":
			r.When = v
		case "threshold":
			hasThreshold = true
			r.Threshold = parseThreshold(d, v, p)
		case "dedup":
			r.Dedup = parseDedup(d, v, p)
		default:
			d.add(k.Line, p, "unknown field %q (%s)", k.Value, listNames(ruleFields))
		}
	}
	if r.ID == "" && len(d.list) == before {
		d.add(n.Line, path, "missing id")
	}
	if r.When == nil && !hasThreshold && r.Enabled {
		d.add(n.Line, path, "a rule needs when: conditions or a threshold:")
	}
	if r.When != nil {
		cc := condCompiler{d: d}
		cc.compileMap(r.When, path+".when", dirAny, 0)
	}
	return r, len(d.list) == before
}

func validSeverity(s string) bool {
	for _, v := range severityNames {
		if v == s {
			return true
		}
	}
	return false
}

// parseDuration reads a duration in the one duration grammar of tapdlp
// (config.ParseDuration: "10m", "24h", "7d", plain seconds). It must be
// positive; allowZero also accepts "0" and "off" (meaning: none).
func parseDuration(d *diags, v *yaml.Node, p string, allowZero bool) (time.Duration, bool) {
	if v.Kind != yaml.ScalarNode {
		d.add(v.Line, p, "expected a duration (e.g. 10m, 24h, 7d), got %s", kindName(v))
		return 0, false
	}
	if allowZero && v.Value == "off" {
		return 0, true
	}
	dur, err := config.ParseDuration(v.Value)
	if err != nil || dur < 0 || (dur == 0 && !allowZero) {
		d.add(v.Line, p, "%q is not a positive duration (e.g. 10m, 24h, 7d)", v.Value)
		return 0, false
	}
	return dur.D(), true
}

func parsePer(d *diags, v *yaml.Node, p string) ([]string, bool) {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 || len(v.Content) > 2 {
		d.add(v.Line, p, "expected a list of one source and/or one destination key field")
		return nil, false
	}
	per := make([]string, 0, len(v.Content))
	for i, it := range v.Content {
		if it.Kind != yaml.ScalarNode {
			d.add(it.Line, fmt.Sprintf("%s[%d]", p, i), "expected a key field, got %s", kindName(it))
			return nil, false
		}
		per = append(per, it.Value)
		if _, err := kindOf(per); err != nil {
			d.add(it.Line, fmt.Sprintf("%s[%d]", p, i), "%v", err)
			return nil, false
		}
	}
	return per, true
}

func parseThreshold(d *diags, n *yaml.Node, path string) *Threshold {
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, path, "expected a map (flows, bytes_out, baseline_factor, min_bytes, per, window), got %s", kindName(n))
		return nil
	}
	if !checkKeys(d, n, path) {
		return nil
	}
	t := &Threshold{Per: slices.Clone(defaultPer), Window: time.Hour}
	ok := true
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := path + "." + k.Value
		var err error
		switch k.Value {
		case "bytes_out", "min_bytes":
			var b uint64
			if v.Kind != yaml.ScalarNode {
				err = fmt.Errorf("expected a size (e.g. 500MB), got %s", kindName(v))
			} else {
				b, err = parseSize(v.Value)
			}
			if err == nil && b == 0 {
				err = fmt.Errorf("must be greater than 0")
			}
			if k.Value == "bytes_out" {
				t.BytesOut = b
			} else {
				t.MinBytes = b
			}
		case "flows":
			f, perr := strconv.Atoi(v.Value)
			if v.Kind != yaml.ScalarNode || perr != nil || f < 1 || f > maxFlowsThreshold {
				err = fmt.Errorf("%s is not a flow count from 1 to %d", quoteNode(v), maxFlowsThreshold)
			}
			t.Flows = f
		case "baseline_factor":
			f, perr := strconv.ParseFloat(v.Value, 64)
			if v.Kind != yaml.ScalarNode || perr != nil || !(f > 1 && f <= 1e6) {
				err = fmt.Errorf("%s is not a factor greater than 1", quoteNode(v))
			}
			t.BaselineFactor = f
		case "per":
			per, pok := parsePer(d, v, p)
			ok = ok && pok
			t.Per = per
		case "window":
			w, wok := parseDuration(d, v, p, false)
			ok = ok && wok
			t.Window = w
		default:
			err = fmt.Errorf("unknown field %q (flows, bytes_out, baseline_factor, min_bytes, per, window)", k.Value)
		}
		if err != nil {
			d.add(v.Line, p, "%v", err)
			ok = false
		}
	}
	switch {
	case !ok:
	case t.Flows > 0 && (t.BytesOut > 0 || t.BaselineFactor > 0 || t.MinBytes > 0):
		d.add(n.Line, path, "flows counts flows: it does not combine with bytes_out, baseline_factor or min_bytes (write two rules)")
		ok = false
	case t.Flows == 0 && t.BytesOut == 0 && t.BaselineFactor == 0:
		d.add(n.Line, path, "needs flows, bytes_out or baseline_factor")
		ok = false
	}
	if ok && t.Window > maxWindow {
		d.add(n.Line, path+".window", "%s is longer than the %s volume history", t.Window, maxWindow)
		ok = false
	}
	if !ok {
		return nil
	}
	return t
}

func parseDedup(d *diags, n *yaml.Node, path string) *DedupSpec {
	s := &DedupSpec{}
	if n.Kind == yaml.ScalarNode {
		w, ok := parseDuration(d, n, path, true)
		if !ok {
			return nil
		}
		s.Window = w
		return s
	}
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, path, "expected a duration or {window, per}, got %s", kindName(n))
		return nil
	}
	if !checkKeys(d, n, path) {
		return nil
	}
	s.Window = -1
	ok := true
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := path + "." + k.Value
		switch k.Value {
		case "window":
			w, wok := parseDuration(d, v, p, true)
			ok = ok && wok
			s.Window = w
		case "per":
			per, pok := parsePer(d, v, p)
			ok = ok && pok
			s.Per = per
		default:
			d.add(k.Line, p, "unknown field %q (window, per)", k.Value)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return s
}
