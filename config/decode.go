package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a problem at a position in a YAML file. It is the one
// positioned-error type of every YAML consumer: this package's decoder and
// checks, rule files (package rules), custom detectors (classify), outputs
// (record/sinks) and the checks made while building the pipeline. Each
// names file:line so a user can go straight to the bad key.
type Error struct {
	File string // "" when the value was not read from a file (built in code)
	Line int    // 1-based; 0 when unknown
	Key  string // key path, e.g. "reassembly.memcap" or "rules[2].when.dst.category"
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one load, each with its position; an
// error of this type is what every YAML consumer returns, so callers list
// all problems at once. errors.As finds the single *Error inside too.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Err returns es as an error, or nil when it is empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// NodeError returns an Error at YAML node n (nil: line unknown) of file.
func NodeError(file string, n *yaml.Node, key, format string, args ...any) *Error {
	e := &Error{File: file, Key: key, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line = n.Line
	}
	return e
}

// Positions maps key paths to where they were set, for errors found after
// decoding (by this package or by the packages that use a section).
type Positions map[string]Pos

// ErrorAt returns an Error for key at the position where key was set, or
// where its nearest enclosing key or list item was (a missing required key
// is reported where its section is).
func (p Positions) ErrorAt(key, format string, args ...any) *Error {
	e := &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
	for k := key; k != ""; k = parentKey(k) {
		if pos, ok := p[k]; ok {
			e.File, e.Line = pos.File, pos.Line
			break
		}
	}
	return e
}

// parentKey strips the last ".name" or "[i]" from a key path.
func parentKey(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i < 0 {
		return ""
	}
	return k[:i]
}

// decoder walks a yaml.Node tree into a struct by `yaml` tags, strictly:
// unknown keys, wrong kinds and bad values are errors with file:line and the
// dotted key path. It is reflection-based because it runs once at start-up.
type decoder struct {
	file string
	errs Errors
	pos  Positions // where each dotted key was set
}

// Pos is where a key was set.
type Pos struct {
	File string
	Line int
}

var (
	sizeType     = reflect.TypeOf(Size(0))
	durationType = reflect.TypeOf(Duration(0))
	prefixType   = reflect.TypeOf(Prefix{})
	nodeType     = reflect.TypeOf(yaml.Node{})
)

func (d *decoder) fail(n *yaml.Node, key, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Tag == "!!null" && v.Type() != nodeType {
		return // an empty value keeps the default
	}
	switch v.Type() {
	case nodeType:
		v.Set(reflect.ValueOf(*n))
		return
	case sizeType:
		d.scalar(n, path, func(s string) error {
			x, err := ParseSize(s)
			v.SetInt(int64(x))
			return err
		})
		return
	case durationType:
		d.scalar(n, path, func(s string) error {
			x, err := ParseDuration(s)
			v.SetInt(int64(x))
			return err
		})
		return
	case prefixType:
		d.scalar(n, path, func(s string) error {
			x, err := ParsePrefix(s)
			v.Set(reflect.ValueOf(x))
			return err
		})
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "expected a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			if d.pos != nil {
				d.pos[ip] = Pos{d.file, item.Line}
			}
			d.decode(item, s.Index(i), ip)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "expected a mapping")
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, join(path, k.Value))
			m.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
		v.Set(m)
	case reflect.String:
		d.scalar(n, path, func(s string) error { v.SetString(s); return nil })
	case reflect.Bool:
		d.scalar(n, path, func(s string) error {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("%q is not true or false", s)
			}
			v.SetBool(b)
			return nil
		})
	case reflect.Int, reflect.Int64, reflect.Int32:
		d.scalar(n, path, func(s string) error {
			x, err := strconv.ParseInt(s, 0, v.Type().Bits())
			if err != nil {
				return fmt.Errorf("%q is not an integer", s)
			}
			v.SetInt(x)
			return nil
		})
	case reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8:
		d.scalar(n, path, func(s string) error {
			x, err := strconv.ParseUint(s, 0, v.Type().Bits())
			if err != nil {
				return fmt.Errorf("%q is not a non-negative integer of at most %d bits", s, v.Type().Bits())
			}
			v.SetUint(x)
			return nil
		})
	case reflect.Float64:
		d.scalar(n, path, func(s string) error {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", s)
			}
			v.SetFloat(x)
			return nil
		})
	default:
		d.fail(n, path, "internal: unsupported config type %s", v.Type())
	}
}

func (d *decoder) scalar(n *yaml.Node, path string, set func(string) error) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "expected a single value")
		return
	}
	if err := set(n.Value); err != nil {
		d.fail(n, path, "%s", err.Error())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping")
		return
	}
	t := v.Type()
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		if prev, dup := seen[key]; dup {
			d.fail(k, join(path, key), "duplicate key (first at line %d)", prev)
			continue
		}
		seen[key] = k.Line
		if d.pos != nil {
			d.pos[join(path, key)] = Pos{d.file, k.Line}
		}
		idx := fieldIndex(t, key)
		if idx < 0 {
			d.fail(k, join(path, key), "unknown key%s", suggest(t, key))
			continue
		}
		d.decode(val, v.Field(idx), join(path, key))
	}
}

func fieldIndex(t reflect.Type, key string) int {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if f.IsExported() && tag != "" && tag != "-" && tag == key {
			return i
		}
	}
	return -1
}

// suggest lists the valid keys so a typo is easy to fix.
func suggest(t reflect.Type, _ string) string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return " (valid: " + strings.Join(keys, ", ") + ")"
}

// decodeInto strictly decodes YAML data into v (a pointer to a struct).
func decodeInto(file string, data []byte, v any, pos Positions) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return yamlErr(file, err)
	}
	d := &decoder{file: file, pos: pos}
	if root.Kind != 0 {
		d.decode(&root, reflect.ValueOf(v).Elem(), "")
	}
	return d.errs.Err()
}

// yamlErr turns yaml.v3's syntax errors ("yaml: line 3: …") into file:line form.
func yamlErr(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if line, aerr := strconv.Atoi(rest[:i]); aerr == nil {
				return &Error{File: file, Line: line, Msg: rest[i+2:]}
			}
		}
	}
	return &Error{File: file, Msg: msg}
}
