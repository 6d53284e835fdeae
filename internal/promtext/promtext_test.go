package promtext

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	good := "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\na_total{x=\"2\"} 3\n"
	s, order, types, err := Parse(good)
	if err != nil || len(s) != 2 || order[0] != "a_total" || types["a_total"] != "counter" || s[1].Labels["x"] != "2" || s[1].Value != 3 {
		t.Fatalf("Parse(good) = %v %v %v %v", s, order, types, err)
	}
	for _, tt := range []struct{ name, text, want string }{
		{"family twice", good + "# HELP a_total A.\n", "described twice"},
		{"no type", "# HELP a A.\na 1\n", "outside its family"},
		{"duplicate series", good + "a_total{x=\"1\"} 2\n", "duplicate series"},
		{"stray sample", "# HELP a A.\n# TYPE a gauge\nb 1\n", "outside its family"},
		{"bad value", "# HELP a A.\n# TYPE a gauge\na x\n", "value"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, _, err := Parse(tt.text); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}
