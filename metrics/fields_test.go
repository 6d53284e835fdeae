package metrics

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/destinations"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/rules"
)

// notExported are stage counters deliberately left out, with the reason.
var notExported = map[string]string{
	"pipeline.Stats.Flows": "the same number as the sum of tapdlp_flows_expired_total",
}

// TestEveryStageFieldIsExported gives every numeric field of the stages'
// stats structs a distinct value and checks that the value is served, so a
// counter a stage adds is not silently left out (the structs without an
// Each method are covered here; TestEveryStageCounterIsMapped covers the
// others).
func TestEveryStageFieldIsExported(t *testing.T) {
	src := fullSources()
	next := uint64(900001)
	var want []string // "path=value"
	var fill func(path string, v reflect.Value)
	fill = func(path string, v reflect.Value) {
		switch {
		case v.Kind() == reflect.Struct && v.Addr().MethodByName("Store").IsValid():
			if _, skip := notExported[path]; skip {
				return
			}
			arg := reflect.ValueOf(next).Convert(v.Addr().MethodByName("Store").Type().In(0))
			v.Addr().MethodByName("Store").Call([]reflect.Value{arg})
		case v.Kind() == reflect.Struct:
			for i := range v.NumField() {
				if f := v.Type().Field(i); f.IsExported() && f.Type.Kind() != reflect.Array && f.Type.Kind() != reflect.Slice {
					fill(path+"."+f.Name, v.Field(i))
				}
			}
			return
		case v.CanUint():
			v.SetUint(next)
		case v.CanInt():
			v.SetInt(int64(next))
		default:
			return
		}
		if _, skip := notExported[path]; skip {
			return
		}
		want = append(want, fmt.Sprintf("%s=%d", path, next))
		next++
	}
	fill("pipeline.Stats", reflect.ValueOf(src.Pipeline).Elem())
	fill("pipeline.LiveStats", reflect.ValueOf(src.Live).Elem())
	fill("capture.DefragStats", reflect.ValueOf(&src.Decode.Defrag).Elem())
	var dest destinations.EngineStats
	fill("destinations.EngineStats", reflect.ValueOf(&dest).Elem())
	src.Destinations = func() destinations.EngineStats { return dest }
	var rs rules.Stats
	fill("rules.Stats", reflect.ValueOf(&rs).Elem())
	src.Rules = func() rules.Stats { return rs }
	var cs ClassifyStats
	fill("ClassifyStats", reflect.ValueOf(&cs).Elem())
	src.Classify = func() ClassifyStats { return cs }
	_ = pipeline.Stats{} // the import documents what is covered

	out := scrape(t, New(src))
	for _, w := range want {
		path, val, _ := strings.Cut(w, "=")
		if !strings.Contains(out, " "+val+"\n") {
			t.Errorf("%s (set to %s) is not served; export it or list it in notExported", path, val)
		}
	}
	if len(want) < 30 {
		t.Fatalf("only %d fields found: the walk is broken", len(want))
	}
}
