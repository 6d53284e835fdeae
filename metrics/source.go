package metrics

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// A source is one stage's counters, declared the way encoding/json declares
// a record: by struct tags on the stage's own stats struct, so the stage
// needs no import of this package and adding a counter is one edit (a field
// with its tag). The registry reads the struct by reflection at every
// scrape; nothing is mirrored, so nothing can drift.
//
// Tags on a field:
//
//	metric:"tapdlp_flows_created_total" help:"Flows created in the flow tables."
//	metric:"tapdlp_flows_expired_total" label:"reason=timeout"   (a fixed label)
//	metric:"-"                                                   (deliberately not exported)
//	label:"rule"                                                 (a string field naming its element)
//
// A metric field is a number (any int, uint or float kind) or a sync/atomic
// integer. Counters are the names ending in _total, everything else is a
// gauge. A struct field without a metric tag is walked into; a slice or
// array of structs is walked element by element, each element's label
// fields adding their values to the labels of its metrics (series with the
// same labels are summed, so per-socket counters add up per interface). The
// help text is given once per family. An exported number without a tag is
// an error at registration: a stage cannot add a counter that is silently
// left out.

// Tags supplies tags for a struct whose package does not (yet) carry them,
// by field path from the source's root ("DNS.Hits", "Rules.ID"; slice
// elements add no path element). A tag here takes the place of the field's
// own.
type Tags map[string]reflect.StructTag

// Add registers a source named name (the METRICS.md "source" column). read
// returns the stage's stats struct, or a pointer to it; it is called once
// per scrape, from the scraping goroutine, and must be safe to call while
// the stage runs. A nil pointer means the stage is not running now: its
// families are left out of that scrape. tags may be nil. Add fails when a
// tag is malformed, a family is declared twice inconsistently, or a number
// has no tag.
func Add[T any](r *Registry, name string, read func() T, tags Tags) error {
	t := reflect.TypeFor[T]()
	s := &source{name: name, tags: tags, read: func() reflect.Value { return reflect.ValueOf(read()) }}
	r.mu.Lock()
	defer r.mu.Unlock()
	fams := map[string]*family{}
	for _, f := range r.families {
		fams[f.name] = f
	}
	var added []*family
	err := s.walkType(derefType(t), "", nil, func(f *family) error {
		old := fams[f.name]
		if old == nil {
			if f.help == "" {
				return fmt.Errorf("%s: %s has no help text", name, f.name)
			}
			fams[f.name] = f
			added = append(added, f)
			return nil
		}
		if !slices.Equal(old.labels, f.labels) {
			return fmt.Errorf("%s: %s declared with labels %v and %v", name, f.name, old.labels, f.labels)
		}
		if f.help != "" && f.help != old.help {
			return fmt.Errorf("%s: %s declared with two help texts", name, f.name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.families = append(r.families, added...)
	r.sources = append(r.sources, s)
	return nil
}

// source is one registered stats struct.
type source struct {
	name string
	tags Tags
	read func() reflect.Value
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// tag returns the tag of the field at path.
func (s *source) tag(path string, f reflect.StructField) reflect.StructTag {
	if t, ok := s.tags[path]; ok {
		return t
	}
	return f.Tag
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// isAtomic reports whether t is a sync/atomic integer (it has Load).
func isAtomic(t reflect.Type) bool {
	if t.PkgPath() != "sync/atomic" || t.Kind() != reflect.Struct {
		return false
	}
	m, ok := reflect.PointerTo(t).MethodByName("Load")
	return ok && m.Type.NumOut() == 1
}

func isNumber(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return isAtomic(t)
}

// parseMetric splits a metric tag and its fixed labels.
func parseMetric(tag reflect.StructTag) (name string, keys, vals []string, err error) {
	name = tag.Get("metric")
	if l := tag.Get("label"); l != "" && name != "" && name != "-" {
		for _, kv := range strings.Split(l, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" || v == "" {
				return "", nil, nil, fmt.Errorf("label %q: want key=value on a metric field", kv)
			}
			keys, vals = append(keys, k), append(vals, v)
		}
	}
	return name, keys, vals, nil
}

// labelFields returns the label names an element struct declares, and
// their field indexes.
func (s *source) labelFields(t reflect.Type, path string) (names []string, idx []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := s.tag(join(path, f.Name), f)
		if tag.Get("metric") == "" && tag.Get("label") != "" && f.Type.Kind() == reflect.String {
			names = append(names, tag.Get("label"))
			idx = append(idx, i)
		}
	}
	return names, idx
}

// walkType declares the families of struct type t.
func (s *source) walkType(t reflect.Type, path string, labels []string, fam func(*family) error) error {
	if t.Kind() != reflect.Struct {
		return fmt.Errorf("%s: %s is not a struct", s.name, t)
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		p := join(path, f.Name)
		tag := s.tag(p, f)
		name, keys, _, err := parseMetric(tag)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", s.name, p, err)
		}
		ft := derefType(f.Type)
		switch {
		case name == "-":
		case name != "":
			if !isNumber(ft) {
				return fmt.Errorf("%s: %s: metric %s on a %s", s.name, p, name, ft)
			}
			typ := gauge
			if strings.HasSuffix(name, "_total") {
				typ = counter
			}
			all := append(slices.Clone(labels), keys...)
			if err := fam(&family{name: name, typ: typ, labels: all, help: tag.Get("help"), source: s.name}); err != nil {
				return err
			}
		case tag.Get("label") != "":
			// a label of its element, read by the enclosing slice
		case isNumber(ft):
			return fmt.Errorf("%s: %s is a number without a metric tag (tag it, or metric:\"-\" with a reason)", s.name, p)
		case ft.Kind() == reflect.Struct:
			if err := s.walkType(ft, p, labels, fam); err != nil {
				return err
			}
		case (ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array) && derefType(ft.Elem()).Kind() == reflect.Struct:
			et := derefType(ft.Elem())
			if isAtomic(et) {
				return fmt.Errorf("%s: %s: an array of counters needs a label: use a slice of structs", s.name, p)
			}
			names, _ := s.labelFields(et, p)
			if err := s.walkType(et, p, append(slices.Clone(labels), names...), fam); err != nil {
				return err
			}
		}
	}
	return nil
}

// number is one read value: an unsigned integer, or a float.
type number struct {
	u     uint64
	f     float64
	float bool
}

func read(v reflect.Value) number {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return number{}
		}
		v = v.Elem()
	}
	if isAtomic(v.Type()) {
		if !v.CanAddr() {
			c := reflect.New(v.Type()).Elem()
			c.Set(v)
			v = c
		}
		v = v.Addr().MethodByName("Load").Call(nil)[0]
	}
	switch {
	case v.CanUint():
		return number{u: v.Uint()}
	case v.CanInt():
		return number{u: uint64(max(v.Int(), 0))} // a gauge caught mid-update never reads negative
	case v.CanFloat():
		return number{f: v.Float(), float: true}
	}
	return number{}
}

// walkValue reads the values of struct value v into c.
func (s *source) walkValue(v reflect.Value, path string, lvals []string, c *collection) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		p := join(path, f.Name)
		tag := s.tag(p, f)
		name, _, vals, _ := parseMetric(tag)
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		switch {
		case name == "-":
		case name != "":
			c.add(name, read(fv), append(slices.Clone(lvals), vals...))
		case tag.Get("label") != "":
		case fv.Kind() == reflect.Struct && !isAtomic(fv.Type()):
			s.walkValue(fv, p, lvals, c)
		case fv.Kind() == reflect.Slice || fv.Kind() == reflect.Array:
			et := derefType(fv.Type().Elem())
			if et.Kind() != reflect.Struct {
				continue
			}
			_, idx := s.labelFields(et, p)
			c.touch(s, et, p, lvals) // an empty list still documents its families
			for j := range fv.Len() {
				ev := fv.Index(j)
				if ev.Kind() == reflect.Pointer {
					if ev.IsNil() {
						continue
					}
					ev = ev.Elem()
				}
				lv := slices.Clone(lvals)
				for _, k := range idx {
					lv = append(lv, ev.Field(k).String())
				}
				s.walkValue(ev, p, lv, c)
			}
		}
	}
}
