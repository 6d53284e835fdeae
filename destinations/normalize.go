package destinations

import (
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Reasons a name is not usable. They are sentinel errors so callers and the
// Explain output can tell them apart without string matching.
var (
	ErrEmptyName     = errors.New("empty name")
	ErrNameTooLong   = errors.New("name longer than 253 bytes")
	ErrEmptyLabel    = errors.New("empty label")
	ErrLabelTooLong  = errors.New("label longer than 63 bytes")
	ErrBadNameChar   = errors.New("character not allowed in a host name")
	ErrBadIDN        = errors.New("invalid internationalised name")
	ErrNameIsAddress = errors.New("name is an IP address literal")
)

// maxNameLen is the DNS limit on a presentation-format name without the
// trailing dot. Longer input is rejected before any work is done on it.
const maxNameLen = 253

// Normalize returns the canonical ASCII form of a host name: lowercase, one
// trailing dot removed, internationalised labels converted to punycode with
// the IDNA2008/UTS 46 lookup profile, and punycode labels verified to decode.
// Letters, digits, '-' and '_' are accepted in ASCII labels ('_' occurs in
// real service names); anything else makes the name invalid, and an invalid
// name is never guessed at.
//
// For a name that is already canonical, containing no "xn--" label, the
// result is the input string itself and Normalize does not allocate.
func Normalize(name string) (string, error) {
	if len(name) == 0 {
		return "", ErrEmptyName
	}
	if name[len(name)-1] != '.' && canonicalASCII(name) {
		if err := checkLabels(name); err != nil {
			return "", err
		}
		if !hasPunyLabel(name) {
			return name, nil
		}
		return checkPuny(name)
	}
	// Slow path: uppercase, a trailing dot or non-ASCII bytes.
	if len(name) > 4*maxNameLen {
		return "", ErrNameTooLong
	}
	s := strings.TrimSuffix(name, ".")
	if s == "" {
		return "", ErrEmptyName
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		s = strings.ToLower(s)
		if !canonicalASCII(s) {
			return "", ErrBadNameChar
		}
		if err := checkLabels(s); err != nil {
			return "", err
		}
		if hasPunyLabel(s) {
			return checkPuny(s)
		}
		return s, nil
	}
	if !utf8.ValidString(s) {
		return "", ErrBadIDN
	}
	out, err := idna.Lookup.ToASCII(s)
	if err != nil {
		return "", ErrBadIDN
	}
	out = strings.TrimSuffix(out, ".")
	if !canonicalASCII(out) {
		return "", ErrBadIDN
	}
	if err := checkLabels(out); err != nil {
		return "", err
	}
	return out, nil
}

// canonicalASCII reports whether s uses only bytes that can appear in a
// canonical name. It does not check label lengths.
func canonicalASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-' || c == '.' || c == '_' {
			continue
		}
		return false
	}
	return true
}

func checkLabels(s string) error {
	if len(s) > maxNameLen {
		return ErrNameTooLong
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			n := i - start
			if n == 0 {
				return ErrEmptyLabel
			}
			if n > 63 {
				return ErrLabelTooLong
			}
			start = i + 1
		}
	}
	return nil
}

func hasPunyLabel(s string) bool {
	for i := 0; i+4 <= len(s); i++ {
		if (i == 0 || s[i-1] == '.') && s[i:i+4] == "xn--" {
			return true
		}
	}
	return false
}

// checkPuny verifies that every punycode label decodes to a valid IDNA label
// and encodes back to itself, so a malformed or non-canonical "xn--" label
// cannot pose as an internationalised name. Labels are checked one by one so
// that '_' in other labels (rejected by the STD3 rules) does not matter.
func checkPuny(s string) (string, error) {
	rest := s
	for rest != "" {
		label := rest
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			label, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if !strings.HasPrefix(label, "xn--") {
			continue
		}
		u, err := idna.Lookup.ToUnicode(label)
		if err != nil {
			return "", ErrBadIDN
		}
		back, err := idna.Lookup.ToASCII(u)
		if err != nil || back != label {
			return "", ErrBadIDN
		}
	}
	return s, nil
}
