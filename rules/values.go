package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tapdlp/tapdlp/config"
)

// parseSize parses a byte count in the one size grammar of tapdlp
// (config.ParseSize: "500MB", "1.5GiB", "64k", "1024").
func parseSize(s string) (uint64, error) {
	n, err := config.ParseSize(s)
	if err != nil {
		return 0, err
	}
	return uint64(n), nil
}

type cmpOp uint8

const (
	opEQ cmpOp = iota
	opNE
	opGT
	opGE
	opLT
	opLE
)

var opNames = [...]string{"=", "!=", ">", ">=", "<", "<="}

// cmp is one compiled numeric comparison "field OP value".
type cmp struct {
	op  cmpOp
	val uint64
}

func (c cmp) match(v uint64) bool {
	switch c.op {
	case opEQ:
		return v == c.val
	case opNE:
		return v != c.val
	case opGT:
		return v > c.val
	case opGE:
		return v >= c.val
	case opLT:
		return v < c.val
	default:
		return v <= c.val
	}
}

func (c cmp) String() string { return opNames[c.op] + strconv.FormatUint(c.val, 10) }

// parseCmp parses "[op] number[unit]" with op one of > >= < <= = == !=;
// no op means equality. sizes allows byte units.
func parseCmp(s string, sizes bool) (cmp, error) {
	t := strings.TrimSpace(s)
	var c cmp
	switch {
	case strings.HasPrefix(t, ">="):
		c.op, t = opGE, t[2:]
	case strings.HasPrefix(t, "<="):
		c.op, t = opLE, t[2:]
	case strings.HasPrefix(t, "!="):
		c.op, t = opNE, t[2:]
	case strings.HasPrefix(t, "=="):
		c.op, t = opEQ, t[2:]
	case strings.HasPrefix(t, ">"):
		c.op, t = opGT, t[1:]
	case strings.HasPrefix(t, "<"):
		c.op, t = opLT, t[1:]
	case strings.HasPrefix(t, "="):
		c.op, t = opEQ, t[1:]
	}
	var err error
	if sizes {
		c.val, err = parseSize(t)
		if err != nil {
			err = fmt.Errorf("%q is not a size comparison (e.g. \">1MB\", \"<=500KiB\", 1024)", s)
		}
	} else {
		c.val, err = strconv.ParseUint(strings.TrimSpace(t), 10, 64)
		if err != nil {
			err = fmt.Errorf("%q is not a comparison (e.g. \">=3\", \"<10\", 5)", s)
		}
	}
	return c, err
}

// namePattern is one compiled dst.name / dst.domain pattern. Matching is
// label-wise and case-insensitive, a trailing dot on either side is ignored:
//   - "a.b.com" matches exactly that name;
//   - "*.b.com" matches any name with one or more labels before ".b.com"
//     (x.b.com, x.y.b.com) but not b.com itself nor b.com.evil;
//   - "*" alone matches any non-empty name;
//   - "*" inside a label (api-*.b.com) matches any run of characters within
//     that one label, never across a dot.
type namePattern struct {
	raw    string
	exact  string   // set when the pattern has no '*'
	suffix string   // ".b.com" for a leading "*." with a literal rest
	any    bool     // "*"
	labels []string // general label-wise glob, used only when needed
	multi  bool     // labels[0] == "*" matches one or more labels
}

var errEmptyLabel = errors.New("empty label")

func compileNamePattern(p string) (namePattern, error) {
	np := namePattern{raw: p}
	s := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(p), "."))
	if s == "" {
		return np, fmt.Errorf("%q is not a name pattern", p)
	}
	if s == "*" {
		np.any = true
		return np, nil
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" {
			return np, fmt.Errorf("%q is not a name pattern: %w", p, errEmptyLabel)
		}
		if strings.Contains(l, "**") {
			return np, fmt.Errorf("%q is not a name pattern: \"**\" is not supported", p)
		}
	}
	if !strings.Contains(s, "*") {
		np.exact = s
		return np, nil
	}
	if labels[0] == "*" && !strings.Contains(s[1:], "*") {
		np.suffix = s[1:]
		return np, nil
	}
	np.labels = labels
	np.multi = labels[0] == "*"
	return np, nil
}

func (p *namePattern) match(name string) bool {
	if len(name) > 0 && name[len(name)-1] == '.' {
		name = name[:len(name)-1]
	}
	switch {
	case p.any:
		return name != ""
	case p.exact != "":
		return len(name) == len(p.exact) && strings.EqualFold(name, p.exact)
	case p.suffix != "":
		// At least one non-empty label before the suffix.
		n := len(name) - len(p.suffix)
		return n > 0 && name[n-1] != '.' && strings.EqualFold(name[n:], p.suffix)
	}
	return matchLabels(p.labels, p.multi, name)
}

// matchLabels matches label globs right to left so a leading "*" can absorb
// any number (>= 1) of labels.
func matchLabels(pat []string, multi bool, name string) bool {
	i := len(pat) - 1
	end := len(name)
	for i >= 0 {
		if i == 0 && multi {
			rest := name[:end]
			return rest != "" && rest[0] != '.' && !strings.Contains(rest, "..")
		}
		start := strings.LastIndexByte(name[:end], '.') + 1
		label := name[start:end]
		if label == "" || !globLabel(pat[i], label) {
			return false
		}
		i--
		if start == 0 {
			return i < 0
		}
		end = start - 1
	}
	return false
}

// globLabel matches s against a pattern where '*' matches any run of bytes,
// case-insensitively. Iterative with single backtrack point: linear in
// practice and never recursive, so hostile names cannot blow the stack.
func globLabel(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && lowerByte(p[pi]) == lowerByte(s[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func lowerByte(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// strPattern matches non-name string fields (src.service, dst.vendor, app,
// proto, tags, dst.ioc lists): case-insensitive, '*' matches any run of
// characters, "*" alone any non-empty value.
type strPattern struct {
	raw   string
	exact string
	glob  bool
}

func compileStrPattern(p string) (strPattern, error) {
	s := strings.TrimSpace(p)
	if s == "" {
		return strPattern{}, fmt.Errorf("%q is not a value: empty", p)
	}
	return strPattern{raw: p, exact: s, glob: strings.Contains(s, "*")}, nil
}

func (p *strPattern) match(v string) bool {
	if !p.glob {
		// The length test rejects most values before EqualFold's loop. It
		// also means case folding is ASCII-only in effect (the Kelvin sign
		// does not equal "k"), which is what identifiers need.
		return len(v) == len(p.exact) && strings.EqualFold(v, p.exact)
	}
	return v != "" && globLabel(p.exact, v)
}
