package rules

import _ "embed"

//go:embed defaults.yaml
var defaultPack []byte

// defaultFile is the name default rules report in positions.
const defaultFile = "<defaults>/defaults.yaml"

// DefaultRules parses the embedded default pack. It is parsed on each call
// (cheap, at load only) so callers can never share and mutate one slice.
func DefaultRules() ([]Rule, error) {
	return Parse(defaultFile, defaultPack)
}

// DefaultPack returns the default pack's YAML, for `tapdlp rules defaults`.
func DefaultPack() []byte { return append([]byte(nil), defaultPack...) }
