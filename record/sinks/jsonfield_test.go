package sinks

import "testing"

func TestTopField(t *testing.T) {
	tests := []struct {
		name, rec, key, want string
		ok                   bool
	}{
		{"first", `{"type":"flow","ts":"x"}`, "type", "flow", true},
		{"later", `{"ts":"x","community_id":"1:abc+/="}`, "community_id", "1:abc+/=", true},
		{"nested ignored", `{"sensitive":[{"type":"email"}],"type":"alert"}`, "type", "alert", true},
		{"nested only", `{"tunnel":{"type":"vxlan"}}`, "type", "", false},
		{"spaces", `{ "type" : "volume" }`, "type", "volume", true},
		{"escaped quote in other value", `{"uri":"a\"type\":\"x","type":"flow"}`, "type", "flow", true},
		{"escaped value kept raw", `{"type":"a\"b"}`, "type", `a\"b`, true},
		{"not a string", `{"type":1}`, "type", "", false},
		{"absent", `{"a":"b"}`, "type", "", false},
		{"truncated", `{"type":"flo`, "type", "", false},
		{"empty", ``, "type", "", false},
		{"array top", `[{"type":"flow"}]`, "type", "", false},
		{"key as value", `{"a":"type","b":"c"}`, "type", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := topField([]byte(tt.rec), tt.key)
			if ok != tt.ok || string(got) != tt.want {
				t.Fatalf("topField(%s, %q) = %q, %v; want %q, %v", tt.rec, tt.key, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestTopFieldNoAllocs(t *testing.T) {
	rec := []byte(`{"type":"flow","ts":"2026-11-22T15:04:05.123456Z","sensitive":[{"type":"email","count":1}],"community_id":"1:LQU9qZlK+B5F3KDmev6m5PMibrg="}`)
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := topField(rec, "community_id"); !ok {
			t.Fatal("not found")
		}
	}); n != 0 {
		t.Fatalf("%v allocs per call", n)
	}
}

func BenchmarkTopField(b *testing.B) {
	rec := []byte(`{"type":"flow","ts":"2026-11-22T15:04:05.123456Z","flow_id":"abc","community_id":"1:LQU9qZlK+B5F3KDmev6m5PMibrg=","src":{"ip":"10.0.0.1","port":1234}}`)
	b.ReportAllocs()
	for b.Loop() {
		topField(rec, "community_id")
	}
}
