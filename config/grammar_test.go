package config_test

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/rules"
)

// One size grammar: every consumer of a size (a configuration key, an
// output setting, a rule threshold, a rule's bytes_out comparison, a
// command-line flag) accepts and rejects the same strings with the same
// value.
func TestSizeGrammarEverywhere(t *testing.T) {
	cases := []struct {
		in   string
		want int64 // -1: rejected
	}{
		{"1024", 1024}, {"64k", 64 << 10}, {"64K", 64 << 10}, {"2KiB", 2048}, {"2 KiB", 2048},
		{"500MB", 500e6}, {"500mb", 500e6}, {"1.5GiB", 1.5 * (1 << 30)}, {"3m", 3 << 20},
		{"1g", 1 << 30}, {"1TB", 1e12}, {"7B", 7},
		{"MB", -1}, {"-1MB", -1}, {"1XB", -1}, {"NaN", -1}, {"1e3", -1}, {"20000000TB", -1},
	}
	consumers := []struct {
		name  string
		parse func(string) (int64, error)
	}{
		{"config.ParseSize", func(s string) (int64, error) { n, err := config.ParseSize(s); return int64(n), err }},
		{"config reassembly.memcap", func(s string) (int64, error) {
			c, err := config.Parse("t.yaml", fmt.Appendf(nil, "reassembly: {memcap: %q, flow_memcap: 1}\n", s))
			if err != nil {
				return 0, err
			}
			return int64(c.Reassembly.Memcap), nil
		}},
		{"outputs file.max_size", func(s string) (int64, error) {
			c, err := config.Parse("t.yaml", fmt.Appendf(nil, "outputs: {sinks: [{name: f, type: file, file: {path: /tmp/x, max_size: %q}}]}\n", s))
			if err != nil {
				return 0, err
			}
			return int64(c.Outputs.Sinks[0].File.MaxSize), nil
		}},
		{"rule threshold.bytes_out", func(s string) (int64, error) {
			rs, err := rules.Parse("r.yaml", fmt.Appendf(nil, "rules:\n- id: t\n  severity: low\n  when: {dst.category: [ai_ml]}\n  threshold: {bytes_out: %q}\n", s))
			if err != nil {
				return 0, err
			}
			return int64(rs[0].Threshold.BytesOut), nil
		}},
		{"rule when bytes.out", func(s string) (int64, error) {
			rs, err := rules.Parse("r.yaml", fmt.Appendf(nil, "rules:\n- id: t\n  severity: low\n  when: {bytes.out: %q}\n", ">="+s))
			if err != nil {
				return 0, err
			}
			if _, err := rules.Compile(rs, rules.Options{DisableDefaults: true}); err != nil {
				return 0, err
			}
			return -2, nil // compiled; rules.TestParseCmp checks the value
		}},
		{"flag", func(s string) (int64, error) {
			var v config.Size
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(new(strings.Builder))
			fs.Var(&v, "size", "")
			err := fs.Parse([]string{"-size", s})
			return int64(v), err
		}},
	}
	for _, c := range consumers {
		for _, tc := range cases {
			got, err := c.parse(tc.in)
			switch {
			case tc.want < 0 && err == nil:
				t.Errorf("%s accepts %q (= %d); the size grammar rejects it", c.name, tc.in, got)
			case tc.want >= 0 && err != nil:
				t.Errorf("%s rejects %q: %v", c.name, tc.in, err)
			case tc.want >= 0 && got != -2 && got != tc.want:
				t.Errorf("%s(%q) = %d, want %d", c.name, tc.in, got, tc.want)
			}
		}
	}
}

// One duration grammar: configuration keys, rule dedup windows, rule
// threshold windows and flags agree.
func TestDurationGrammarEverywhere(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration // -1: rejected
	}{
		{"30s", 30 * time.Second}, {"5m", 5 * time.Minute}, {"1h30m", 90 * time.Minute},
		{"1d", 24 * time.Hour}, {"0.5d", 12 * time.Hour}, {"90", 90 * time.Second}, {"1.5", 1500 * time.Millisecond},
		{"", -1}, {"-5m", -1}, {"5 parsecs", -1}, {"d", -1}, {"-1d", -1}, {"1w", -1},
	}
	consumers := []struct {
		name  string
		parse func(string) (time.Duration, error)
	}{
		{"config.ParseDuration", func(s string) (time.Duration, error) { d, err := config.ParseDuration(s); return d.D(), err }},
		{"config alerts.dedup_window", func(s string) (time.Duration, error) {
			c, err := config.Parse("t.yaml", fmt.Appendf(nil, "alerts: {dedup_window: %q}\n", s))
			if err != nil {
				return 0, err
			}
			return c.Alerts.DedupWindow.D(), nil
		}},
		{"rule dedup", func(s string) (time.Duration, error) {
			rs, err := rules.Parse("r.yaml", fmt.Appendf(nil, "rules:\n- id: t\n  severity: low\n  when: {dst.category: [ai_ml]}\n  dedup: %q\n", s))
			if err != nil {
				return 0, err
			}
			return rs[0].Dedup.Window, nil
		}},
		{"rule dedup.window", func(s string) (time.Duration, error) {
			rs, err := rules.Parse("r.yaml", fmt.Appendf(nil, "rules:\n- id: t\n  severity: low\n  when: {dst.category: [ai_ml]}\n  dedup: {window: %q}\n", s))
			if err != nil {
				return 0, err
			}
			return rs[0].Dedup.Window, nil
		}},
		{"rule threshold.window", func(s string) (time.Duration, error) {
			rs, err := rules.Parse("r.yaml", fmt.Appendf(nil, "rules:\n- id: t\n  severity: low\n  when: {dst.category: [ai_ml]}\n  threshold: {bytes_out: 1MB, window: %q}\n", s))
			if err != nil {
				return 0, err
			}
			return rs[0].Threshold.Window, nil
		}},
		{"flag", func(s string) (time.Duration, error) {
			var d time.Duration
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(new(strings.Builder))
			fs.Var((*config.Duration)(&d), "d", "")
			err := fs.Parse([]string{"-d", s})
			return d, err
		}},
	}
	for _, c := range consumers {
		for _, tc := range cases {
			got, err := c.parse(tc.in)
			switch {
			case tc.want < 0 && err == nil:
				t.Errorf("%s accepts %q (= %v); the duration grammar rejects it", c.name, tc.in, got)
			case tc.want >= 0 && err != nil:
				t.Errorf("%s rejects %q: %v", c.name, tc.in, err)
			case tc.want >= 0 && got != tc.want:
				t.Errorf("%s(%q) = %v, want %v", c.name, tc.in, got, tc.want)
			}
		}
	}
}
