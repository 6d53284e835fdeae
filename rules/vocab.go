package rules

import "strings"

// The canonical identifiers from DESIGN.md. Rules naming anything else fail to
// compile, because a typo in a category would otherwise silently never match.
var categoryNames = [...]string{
	"ai_ml", "cloud_storage", "saas", "analytics", "social", "advertising",
	"cdn", "internal", "threat", "unknown",
}

// catOther is the bit for a category value the flow carries but this build
// does not know (a newer catalog); no rule can name it.
const catOther = uint32(1) << len(categoryNames)

var classNames = [...]string{"PCI", "PII", "PHI", "SECRET"}

// typeInfo lists the canonical sensitive types and their class index.
var typeNames = [...]struct{ name, class string }{
	{"credit_card", "PCI"}, {"aba_routing", "PCI"}, {"iban", "PII"}, {"us_ssn", "PII"},
	{"email", "PII"}, {"phone", "PII"}, {"aadhaar", "PII"}, {"in_pan", "PII"},
	{"ca_sin", "PII"}, {"uk_nino", "PII"}, {"us_itin", "PII"}, {"passport", "PII"},
	{"uk_nhs", "PHI"}, {"us_npi", "PHI"}, {"us_dea", "PHI"}, {"us_mbi", "PHI"},
	{"icd10", "PHI"}, {"aws_access_key", "SECRET"}, {"github_token", "SECRET"},
	{"openai_api_key", "SECRET"}, {"anthropic_api_key", "SECRET"}, {"slack_token", "SECRET"},
	{"stripe_key", "SECRET"}, {"private_key", "SECRET"}, {"jwt", "SECRET"},
	{"generic_api_key", "SECRET"},
}

// typeUnknown marks a finding whose type this build does not know (a custom
// detector); it matches class conditions but no type condition.
const typeUnknown = 0xff

var severityNames = [...]string{"low", "medium", "high", "critical"}

// categoryBit maps a flow's category to its bit. A switch, not a map: it runs
// once per Eval and the compiler turns it into a few length/byte comparisons.
func categoryBit(c string) uint32 {
	switch c {
	case "ai_ml":
		return 1 << 0
	case "cloud_storage":
		return 1 << 1
	case "saas":
		return 1 << 2
	case "analytics":
		return 1 << 3
	case "social":
		return 1 << 4
	case "advertising":
		return 1 << 5
	case "cdn":
		return 1 << 6
	case "internal":
		return 1 << 7
	case "threat":
		return 1 << 8
	case "unknown", "":
		return 1 << 9
	}
	return catOther
}

func categoryIndex(c string) int {
	for i, n := range categoryNames {
		if n == c {
			return i
		}
	}
	return -1
}

func classBit(c string) uint8 {
	switch c {
	case "PCI":
		return 1
	case "PII":
		return 2
	case "PHI":
		return 4
	case "SECRET":
		return 8
	}
	return 0
}

// typeIndexMap is built once; findings are converted once per Eval, not per rule.
var typeIndexMap = func() map[string]uint8 {
	m := make(map[string]uint8, len(typeNames))
	for i, t := range typeNames {
		m[t.name] = uint8(i)
	}
	return m
}()

func typeIndex(t string) uint8 {
	if i, ok := typeIndexMap[t]; ok {
		return i
	}
	return typeUnknown
}

func listNames(names []string) string {
	return strings.Join(names, ", ")
}
