package pipeline

import (
	"reflect"
	"sync"
)

// deepCopy returns a copy of *v that shares no memory reachable through
// pointers, slices or maps with v. A worker hands each flow record to the
// ordered stage (order.go) and goes on parsing the flow; the record points
// into the parsers' and the session's state (TLS, HTTP, findings…), so what
// crosses the goroutine boundary must be a copy. It is generic by reflection
// so that a field added to record.Flow is copied without anyone having to
// remember this function (TestDeepCopyRecordSharesNothing proves it for
// every field); per-type plans keep it to a few hundred nanoseconds a record
// (BenchmarkDeepCopyRecord), once per record, never per packet.
func deepCopy[T any](v *T) *T {
	out := new(T)
	*out = *v
	dst := reflect.ValueOf(out).Elem()
	if planOf(dst.Type()).refs {
		copyRefs(dst, reflect.ValueOf(v).Elem())
	}
	return out
}

// copyPlan says whether values of a type hold references, and for a struct
// which of its fields do.
type copyPlan struct {
	refs   bool
	fields []int
}

var copyPlans sync.Map // reflect.Type → *copyPlan

func planOf(t reflect.Type) *copyPlan {
	if p, ok := copyPlans.Load(t); ok {
		return p.(*copyPlan)
	}
	p := &copyPlan{}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		p.refs = true
	case reflect.Array:
		p.refs = planOf(t.Elem()).refs
	case reflect.Struct:
		for i := range t.NumField() {
			if planOf(t.Field(i).Type).refs {
				p.fields = append(p.fields, i)
				p.refs = true
			}
		}
	}
	// Chan, Func and UnsafePointer are shared as they are: records hold none.
	copyPlans.Store(t, p)
	return p
}

// copyRefs replaces, in dst (already a shallow copy of src), every
// reference with a copy of what it points to.
func copyRefs(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		n := reflect.New(src.Type().Elem())
		n.Elem().Set(src.Elem())
		if planOf(src.Type().Elem()).refs {
			copyRefs(n.Elem(), src.Elem())
		}
		dst.Set(n)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		n := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		reflect.Copy(n, src)
		if planOf(src.Type().Elem()).refs {
			for i := range src.Len() {
				copyRefs(n.Index(i), src.Index(i))
			}
		}
		dst.Set(n)
	case reflect.Array:
		for i := range src.Len() {
			copyRefs(dst.Index(i), src.Index(i))
		}
	case reflect.Struct:
		for _, i := range planOf(src.Type()).fields {
			copyRefs(dst.Field(i), src.Field(i))
		}
	case reflect.Map:
		if src.IsNil() {
			return
		}
		n := reflect.MakeMapWithSize(src.Type(), src.Len())
		deep := planOf(src.Type().Elem()).refs
		it := src.MapRange()
		for it.Next() {
			v := it.Value()
			if deep {
				c := reflect.New(v.Type()).Elem()
				c.Set(v)
				copyRefs(c, v)
				v = c
			}
			n.SetMapIndex(it.Key(), v)
		}
		dst.Set(n)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := src.Elem()
		c := reflect.New(e.Type()).Elem()
		c.Set(e)
		copyRefs(c, e)
		dst.Set(c)
	}
}
