package destinations

import (
	"fmt"
	"strings"
)

// Host name patterns, as written in catalog files.
//
// A pattern is a dot-separated list of labels. Each label is one of
//
//	literal   letters, digits, '-', '_' (an IDN is converted to punycode)
//	*         exactly one label of any content
//	pre*suf   a label glob with one '*': exactly one label that starts with
//	          pre, ends with suf and has at least one byte in between
//	          ("*-aiplatform", "s3express-*", "bedrock-*")
//
// A pattern of k labels matches a name when the name has at least k labels
// and its k rightmost labels match the pattern's labels one for one. A
// pattern therefore also covers every subdomain of what it matches:
//
//	openai.com                       openai.com, api.openai.com, a.b.openai.com
//	*.openai.azure.com               x.openai.azure.com, a.x.openai.azure.com; not openai.azure.com
//	bedrock-runtime.*.amazonaws.com  bedrock-runtime.us-east-1.amazonaws.com; not bedrock-runtime.amazonaws.com
//	*-aiplatform.googleapis.com      us-central1-aiplatform.googleapis.com; not aiplatform.googleapis.com
//
// The rightmost label may not contain '*' (a wildcard TLD would match half the
// internet). When several patterns match, the one that matched the most
// labels wins; between equally long matches, the first position (from the
// right) where they differ decides: literal beats glob beats "*". A '*' never
// crosses a dot, and literal labels compare whole, so openai.com.evil.example
// and evil-openai.com do not match openai.com.

// trieNode is one label position of the reversed-label trie. Lookups index
// children with substrings of the name, which Go map lookups do without
// allocating.
type trieNode struct {
	children map[string]*trieNode
	globs    []globChild
	wild     *trieNode
	entry    int32 // index into the owner's entries, -1 when none ends here
}

// globChild is a "pre*suf" label. Nodes carry few of them, so a linear scan
// is cheaper than any index.
type globChild struct {
	pre, suf string
	node     *trieNode
}

func (g *globChild) matches(label string) bool {
	return len(label) > len(g.pre)+len(g.suf) && strings.HasPrefix(label, g.pre) && strings.HasSuffix(label, g.suf)
}

func newTrieNode() *trieNode { return &trieNode{entry: -1} }

// nameTrie maps patterns to entry indexes.
type nameTrie struct {
	root *trieNode
}

func newNameTrie() nameTrie { return nameTrie{root: newTrieNode()} }

// insert stores idx for pattern (already validated by parsePattern) and
// returns the index it replaced, or -1.
func (t nameTrie) insert(pattern string, idx int32) int32 {
	n := t.root
	rest := pattern
	for rest != "" {
		label := rest
		if i := strings.LastIndexByte(rest, '.'); i >= 0 {
			label, rest = rest[i+1:], rest[:i]
		} else {
			rest = ""
		}
		if label == "*" {
			if n.wild == nil {
				n.wild = newTrieNode()
			}
			n = n.wild
			continue
		}
		if pre, suf, ok := strings.Cut(label, "*"); ok {
			var c *trieNode
			for i := range n.globs {
				if n.globs[i].pre == pre && n.globs[i].suf == suf {
					c = n.globs[i].node
				}
			}
			if c == nil {
				c = newTrieNode()
				n.globs = append(n.globs, globChild{pre: pre, suf: suf, node: c})
			}
			n = c
			continue
		}
		if n.children == nil {
			n.children = make(map[string]*trieNode)
		}
		c := n.children[label]
		if c == nil {
			c = newTrieNode()
			n.children[label] = c
		}
		n = c
	}
	prev := n.entry
	n.entry = idx
	return prev
}

// match returns the entry index of the most specific pattern matching name
// (canonical form) and the number of labels it matched, or -1, 0.
func (t nameTrie) match(name string) (int32, int) {
	best, bestDepth := int32(-1), 0
	walk(t.root, name, 0, &best, &bestDepth)
	return best, bestDepth
}

// walk explores literal, glob and "*" children in that order, so that at
// equal depth the first match found (the more literal one) is kept. The trie
// is a tree, so each node is visited at most once per lookup: the work is
// bounded by the catalog's size, whatever name an attacker sends.
func walk(n *trieNode, rest string, depth int, best *int32, bestDepth *int) {
	if n.entry >= 0 && depth > *bestDepth {
		*best, *bestDepth = n.entry, depth
	}
	if rest == "" {
		return
	}
	label, next := rest, ""
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		label, next = rest[i+1:], rest[:i]
	}
	if c := n.children[label]; c != nil {
		walk(c, next, depth+1, best, bestDepth)
	}
	for i := range n.globs {
		if n.globs[i].matches(label) {
			walk(n.globs[i].node, next, depth+1, best, bestDepth)
		}
	}
	if n.wild != nil {
		walk(n.wild, next, depth+1, best, bestDepth)
	}
}

// parsePattern validates a catalog pattern and returns its canonical form.
// Literal labels go through Normalize so that a user may write an
// internationalised name; "*" labels are kept as they are.
func parsePattern(p string) (string, error) {
	p = strings.TrimSpace(p)
	if p == "" {
		return "", fmt.Errorf("empty pattern")
	}
	labels := strings.Split(strings.TrimSuffix(p, "."), ".")
	if strings.Contains(labels[len(labels)-1], "*") {
		return "", fmt.Errorf("pattern %q: the rightmost label cannot be a wildcard", p)
	}
	for i, l := range labels {
		if l == "*" {
			continue
		}
		if pre, suf, ok := strings.Cut(l, "*"); ok {
			g := strings.ToLower(pre + suf)
			if strings.Contains(suf, "*") || g == "" || !canonicalASCII(g) || strings.Contains(g, ".") || len(l) > 63 {
				return "", fmt.Errorf("pattern %q: label glob %q must be pre*suf with one '*' and ASCII letters, digits, '-' or '_'", p, l)
			}
			labels[i] = strings.ToLower(l)
			continue
		}
		n, err := Normalize(l)
		if err != nil {
			return "", fmt.Errorf("pattern %q: label %q: %w", p, l, err)
		}
		if strings.Contains(n, ".") {
			return "", fmt.Errorf("pattern %q: label %q maps to several labels", p, l)
		}
		labels[i] = n
	}
	out := strings.Join(labels, ".")
	if len(out) > maxNameLen {
		return "", fmt.Errorf("pattern %q: %w", p, ErrNameTooLong)
	}
	return out, nil
}
