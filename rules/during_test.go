package rules

import (
	"testing"
	"time"
)

func TestDuring(t *testing.T) {
	utc := func(s string) int64 {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts.UnixNano()
	}
	const berlinWork = `{during: {days: [mon-fri], hours: "08:00-18:00", tz: Europe/Berlin}}`
	tests := []struct {
		name, when, at string
		want           bool
	}{
		// Europe/Berlin: CET (UTC+1) until 2026-03-29 01:00 UTC, then CEST (UTC+2).
		{"winter 08:30 local", berlinWork, "2026-03-23T07:30:00Z", true},
		{"winter 07:30 local", berlinWork, "2026-03-23T06:30:00Z", false},
		{"summer 08:30 local", berlinWork, "2026-03-30T06:30:00Z", true},
		{"summer 07:30 local", berlinWork, "2026-03-30T05:30:00Z", false},
		{"winter 17:30 local", berlinWork, "2026-03-23T16:30:00Z", true},
		{"summer 18:30 local", berlinWork, "2026-03-30T16:30:00Z", false},
		{"end is exclusive", berlinWork, "2026-03-30T16:00:00Z", false},
		{"start is inclusive", berlinWork, "2026-03-30T06:00:00Z", true},
		{"saturday", berlinWork, "2026-03-28T10:00:00Z", false},
		{"sunday night UTC is monday in Berlin", `{during: {days: [mon], tz: Europe/Berlin}}`, "2026-03-29T23:30:00Z", true},
		// The skipped hour 02:00-03:00 on 2026-03-29 never happens.
		{"spring gap before", `{during: {hours: "02:00-03:00", tz: Europe/Berlin}}`, "2026-03-29T00:59:00Z", false},
		{"spring gap after", `{during: {hours: "02:00-03:00", tz: Europe/Berlin}}`, "2026-03-29T01:00:00Z", false},
		// The repeated hour 02:00-03:00 on 2026-10-25 matches twice.
		{"fall first 02:30", `{during: {hours: "02:00-03:00", tz: Europe/Berlin}}`, "2026-10-25T00:30:00Z", true},
		{"fall second 02:30", `{during: {hours: "02:00-03:00", tz: Europe/Berlin}}`, "2026-10-25T01:30:00Z", true},
		{"fall 03:00 CET", `{during: {hours: "02:00-03:00", tz: Europe/Berlin}}`, "2026-10-25T02:00:00Z", false},
		// Weekday is the local one.
		{"LA thursday evening", `{during: {days: [thu], tz: America/Los_Angeles}}`, "2026-11-27T06:00:00Z", true},
		{"LA not friday yet", `{during: {days: [fri], tz: America/Los_Angeles}}`, "2026-11-27T06:00:00Z", false},
		// Ranges past midnight.
		{"night wrap late", `{during: {hours: "22:00-06:00", tz: Asia/Tokyo}}`, "2026-11-23T14:00:00Z", true},
		{"night wrap early", `{during: {hours: "22:00-06:00", tz: Asia/Tokyo}}`, "2026-11-23T20:59:00Z", true},
		{"night wrap end", `{during: {hours: "22:00-06:00", tz: Asia/Tokyo}}`, "2026-11-23T21:00:00Z", false},
		{"until 24:00", `{during: {hours: "18:00-24:00"}}`, "2026-11-23T23:59:59Z", true},
		{"day range wraps the week", `{during: {days: [fri-mon]}}`, "2026-11-22T12:00:00Z", true},
		{"day range wraps the week miss", `{during: {days: [fri-mon]}}`, "2026-11-25T12:00:00Z", false},
		{"not during office hours", `{not: ` + berlinWork + `}`, "2026-03-28T10:00:00Z", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compileYAML(t, whenRule(tt.when), Options{})
			f := baseFlow()
			got := len(e.Eval(e.NewFlowState(), &f, utc(tt.at))) == 1
			if got != tt.want {
				t.Fatalf("%s at %s: %v, want %v", tt.when, tt.at, got, tt.want)
			}
		})
	}
}
