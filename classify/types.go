package classify

// Type identifies a detector. Built-in types have fixed identifiers (the
// canonical names in DESIGN.md); custom detectors are numbered after them.
type Type uint16

// Built-in detector types. The order is the record order of findings.
const (
	CreditCard Type = iota
	ABARouting
	IBAN
	USSSN
	Email
	Phone
	Aadhaar
	INPAN
	CASIN
	UKNINO
	USITIN
	Passport
	UKNHS
	USNPI
	USDEA
	USMBI
	ICD10
	AWSAccessKey
	GitHubToken
	OpenAIAPIKey
	AnthropicAPIKey
	SlackToken
	StripeKey
	PrivateKey
	JWT
	GenericAPIKey
	numBuiltin
)

// Classes of sensitive data.
const (
	ClassPCI    = "PCI"
	ClassPII    = "PII"
	ClassPHI    = "PHI"
	ClassSecret = "SECRET"
)

var builtinInfo = [numBuiltin]struct{ name, class string }{
	CreditCard:      {"credit_card", ClassPCI},
	ABARouting:      {"aba_routing", ClassPCI},
	IBAN:            {"iban", ClassPII},
	USSSN:           {"us_ssn", ClassPII},
	Email:           {"email", ClassPII},
	Phone:           {"phone", ClassPII},
	Aadhaar:         {"aadhaar", ClassPII},
	INPAN:           {"in_pan", ClassPII},
	CASIN:           {"ca_sin", ClassPII},
	UKNINO:          {"uk_nino", ClassPII},
	USITIN:          {"us_itin", ClassPII},
	Passport:        {"passport", ClassPII},
	UKNHS:           {"uk_nhs", ClassPHI},
	USNPI:           {"us_npi", ClassPHI},
	USDEA:           {"us_dea", ClassPHI},
	USMBI:           {"us_mbi", ClassPHI},
	ICD10:           {"icd10", ClassPHI},
	AWSAccessKey:    {"aws_access_key", ClassSecret},
	GitHubToken:     {"github_token", ClassSecret},
	OpenAIAPIKey:    {"openai_api_key", ClassSecret},
	AnthropicAPIKey: {"anthropic_api_key", ClassSecret},
	SlackToken:      {"slack_token", ClassSecret},
	StripeKey:       {"stripe_key", ClassSecret},
	PrivateKey:      {"private_key", ClassSecret},
	JWT:             {"jwt", ClassSecret},
	GenericAPIKey:   {"generic_api_key", ClassSecret},
}

// BuiltinTypes returns the canonical names of the built-in detectors.
func BuiltinTypes() []string {
	out := make([]string, numBuiltin)
	for i := range out {
		out[i] = builtinInfo[i].name
	}
	return out
}

// builtinByName returns the built-in type with that canonical name.
func builtinByName(name string) (Type, bool) {
	for i := Type(0); i < numBuiltin; i++ {
		if builtinInfo[i].name == name {
			return i, true
		}
	}
	return 0, false
}

// Confidence grades a match. High means a checksum passed or the format is
// unambiguous (a PEM header); Medium means a format plus context words.
type Confidence uint8

// Confidence levels; the zero value is not a valid confidence.
const (
	Medium Confidence = iota + 1
	High
)

// String returns "high" or "medium", the record's identifiers.
func (c Confidence) String() string {
	switch c {
	case High:
		return "high"
	case Medium:
		return "medium"
	}
	return "unknown"
}

// maskKind says how a type's evidence is masked.
type maskKind uint8

const (
	maskLast4  maskKind = iota // account-like numbers: only the last 4 digits
	maskEmail                  // first letter and domain
	maskSecret                 // first 4 characters
	maskTail                   // last 2-4 characters, by length
	maskLabel                  // a non-secret label (PEM type) stands for the value
)

func builtinMask(t Type) maskKind {
	switch t {
	case CreditCard, ABARouting, IBAN:
		return maskLast4
	case Email:
		return maskEmail
	case PrivateKey:
		return maskLabel
	case AWSAccessKey, GitHubToken, OpenAIAPIKey, AnthropicAPIKey, SlackToken, StripeKey, JWT, GenericAPIKey:
		return maskSecret
	}
	return maskTail
}
