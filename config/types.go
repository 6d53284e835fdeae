package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Size is a byte count written in YAML as a number or with a unit
// ("256MiB", "1 GB", "64k"). Binary (KiB, MiB…) and decimal (KB, MB…) units
// mean what they say; single letters (k, m, g) are binary, as in tcpdump.
type Size int64

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1000,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1000 * 1000,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1000 * 1000 * 1000,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1000 * 1000 * 1000 * 1000,
}

// ParseSize parses a size such as "256MiB". It is the one size grammar of
// tapdlp: the configuration, outputs, rule files (thresholds, bytes_out
// comparisons) and command-line flags all use it.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("%q is not a size (e.g. 512KiB, 256MiB, 1GB)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("%q is not a size (e.g. 512KiB, 256MiB, 1GB)", s)
	}
	return Size(f * float64(mult)), nil
}

// Set parses s into the size, so a *Size is a flag.Value: command-line
// flags take the same grammar as the configuration and the rules.
func (s *Size) Set(v string) error {
	x, err := ParseSize(v)
	if err != nil {
		return err
	}
	*s = x
	return nil
}

// String formats the size with the largest exact binary unit.
func (s Size) String() string {
	for _, u := range []struct {
		n string
		v int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if s != 0 && int64(s)%u.v == 0 {
			return fmt.Sprintf("%d%s", int64(s)/u.v, u.n)
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// Duration is a time.Duration written as "5m", "30s", "24h" (Go syntax) or a
// number of seconds.
type Duration time.Duration

// ParseDuration parses a duration in Go syntax, "7d" days, or plain seconds.
// It is the one duration grammar of tapdlp: the configuration, rule files
// (thresholds, dedup windows) and command-line flags all use it.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(t, 64); err == nil && n >= 0 {
		return Duration(n * float64(time.Second)), nil
	}
	if strings.HasSuffix(t, "d") {
		if n, err := strconv.ParseFloat(strings.TrimSuffix(t, "d"), 64); err == nil && n >= 0 {
			return Duration(n * float64(24*time.Hour)), nil
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (e.g. 30s, 5m, 24h)", s)
	}
	return Duration(d), nil
}

// Set parses s into the duration, so a *Duration is a flag.Value:
// (*config.Duration)(&d) gives a time.Duration flag the configuration's
// grammar ("7d", "90" seconds, Go syntax).
func (d *Duration) Set(v string) error {
	x, err := ParseDuration(v)
	if err != nil {
		return err
	}
	*d = x
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// Prefix is a CIDR or a single address (which becomes a /32 or /128).
type Prefix netip.Prefix

// ParsePrefix parses "10.0.0.0/8", "fd00::/8" or "192.0.2.7".
func ParsePrefix(s string) (Prefix, error) {
	t := strings.TrimSpace(s)
	if strings.Contains(t, "/") {
		p, err := netip.ParsePrefix(t)
		if err != nil {
			return Prefix{}, fmt.Errorf("%q is not a CIDR or IP address", s)
		}
		return Prefix(p.Masked()), nil
	}
	a, err := netip.ParseAddr(t)
	if err != nil {
		return Prefix{}, fmt.Errorf("%q is not a CIDR or IP address", s)
	}
	return Prefix(netip.PrefixFrom(a, a.BitLen())), nil
}

// P returns the netip.Prefix.
func (p Prefix) P() netip.Prefix { return netip.Prefix(p) }
