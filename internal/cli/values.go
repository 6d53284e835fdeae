package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// Value is a flag.Value of type T bound to *p, so a flag and the
// configuration field it overrides are one value: Parse reads a setting
// (the configuration's grammar for sizes and durations), Show prints one
// (default fmt.Sprint).
type Value[T any] struct {
	P     *T
	Parse func(string) (T, error)
	Show  func(T) string
}

func (v Value[T]) String() string {
	switch {
	case v.P == nil:
		return ""
	case v.Show != nil:
		return v.Show(*v.P)
	}
	return fmt.Sprint(*v.P)
}

// Set parses s into *P.
func (v Value[T]) Set(s string) (err error) {
	*v.P, err = v.Parse(s)
	return err
}

// List is a comma-separated list flag; setting it replaces the list.
func List(p *[]string) Value[[]string] {
	return Value[[]string]{P: p, Show: func(l []string) string { return strings.Join(l, ",") },
		Parse: func(s string) (l []string, _ error) {
			for _, name := range strings.Split(s, ",") {
				if name = strings.TrimSpace(name); name != "" {
					l = append(l, name)
				}
			}
			return l, nil
		}}
}

// Not is a -no-X boolean flag that clears the setting X.
type Not struct{ V *bool }

// IsBoolFlag lets -no-X stand without a value.
func (f Not) IsBoolFlag() bool { return true }

func (f Not) String() string { return strconv.FormatBool(f.V != nil && !*f.V) }

// Set stores the negation of s.
func (f Not) Set(s string) error {
	b, err := strconv.ParseBool(s)
	*f.V = !b
	return err
}
