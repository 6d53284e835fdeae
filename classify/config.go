package classify

import "fmt"

// Defaults and hard limits. Zero in a Config field means the default.
const (
	DefaultContextWindow = 50
	MaxContextWindow     = 256
	DefaultInspectBytes  = 256 << 10
	DefaultMaxEvidence   = 5
	DefaultMaxHashes     = 5
	DefaultMinBase64     = 24

	// maxSpan bounds how far past a candidate's first byte any detector
	// looks for the value itself. It makes results independent of how the
	// input was split: the streaming window always holds maxSpan plus the
	// context window after every candidate it judges.
	maxSpan = 512
	// maxBack bounds how far before a trigger byte detectors look (an
	// e-mail's local part, a key name before '=').
	maxBack = 72
)

// Config tunes an Engine. The zero value is a usable default.
type Config struct {
	// ContextWindow bounds context lookups. For built-in types it is how
	// far before a candidate its label (the words on the same line that
	// name it) may reach; custom detectors search this many bytes before
	// and after a candidate, or their own window. 0 means 50; at most 256.
	ContextWindow int
	// InspectBytes caps the decoded plaintext scanned per Stream (flow
	// direction); beyond it the Stream stops and reports truncation.
	// 0 means 256 KiB; negative means no cap.
	InspectBytes int
	// HMACKey, when set, attaches "hmac:<hex>" of each normalized value so a
	// value can be correlated across flows without being stored.
	HMACKey []byte
	// MaxEvidence and MaxHashes cap the unique masked values and hashes kept
	// per finding. 0 means 5.
	MaxEvidence, MaxHashes int
	// MinBase64 is the shortest base64 run that is decoded and scanned
	// (depth 1). 0 means 24; negative disables base64 decoding.
	MinBase64 int
	// Disable lists built-in type names that are not detected.
	Disable []string
}

func (c Config) withDefaults() (Config, error) {
	if c.ContextWindow == 0 {
		c.ContextWindow = DefaultContextWindow
	}
	if c.ContextWindow < 0 || c.ContextWindow > MaxContextWindow {
		return c, fmt.Errorf("classify: context window %d outside 1..%d", c.ContextWindow, MaxContextWindow)
	}
	if c.InspectBytes == 0 {
		c.InspectBytes = DefaultInspectBytes
	}
	if c.MaxEvidence <= 0 {
		c.MaxEvidence = DefaultMaxEvidence
	}
	if c.MaxHashes <= 0 {
		c.MaxHashes = DefaultMaxHashes
	}
	if c.MinBase64 == 0 {
		c.MinBase64 = DefaultMinBase64
	}
	if c.MinBase64 > 0 && c.MinBase64 < 16 {
		return c, fmt.Errorf("classify: min base64 length %d below 16", c.MinBase64)
	}
	for _, n := range c.Disable {
		if _, ok := builtinByName(n); !ok {
			return c, fmt.Errorf("classify: cannot disable %q: not a built-in type", n)
		}
	}
	return c, nil
}
