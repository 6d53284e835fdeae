package rules

import (
	"fmt"

	"github.com/tapdlp/tapdlp/record"
)

// keyKind says which record fields form a volume or de-duplication key.
// src: 0 none, 1 src.service (falls back to src.ip when the flow has no
// service), 2 src.ip. dst: 0 none, 1 dst.domain (falls back to dst.name, then
// dst.ip), 2 dst.name (falls back to dst.ip), 3 dst.ip. The fallbacks keep
// unnamed traffic keyed instead of lumping it under "".
type keyKind struct{ src, dst uint8 }

var (
	defaultPer  = []string{"src.service", "dst.domain"}
	defaultKind = keyKind{src: 1, dst: 1}
)

// keyField maps a per: entry to its side (0 src, 1 dst) and value.
func keyField(s string) (side int, val uint8, ok bool) {
	switch s {
	case "src.service":
		return 0, 1, true
	case "src.ip":
		return 0, 2, true
	case "dst.domain":
		return 1, 1, true
	case "dst.name":
		return 1, 2, true
	case "dst.ip":
		return 1, 3, true
	}
	return 0, 0, false
}

// kindOf builds a key kind from per: fields (empty: the default).
func kindOf(per []string) (keyKind, error) {
	if len(per) == 0 {
		return defaultKind, nil
	}
	var k keyKind
	for _, p := range per {
		side, val, ok := keyField(p)
		if !ok {
			return defaultKind, fmt.Errorf("%q is not a key field (src.service, src.ip, dst.domain, dst.name, dst.ip)", p)
		}
		if side == 0 && k.src != 0 || side == 1 && k.dst != 0 {
			return defaultKind, fmt.Errorf("at most one source and one destination key field")
		}
		if side == 0 {
			k.src = val
		} else {
			k.dst = val
		}
	}
	return k, nil
}

// key is a comparable, pointer-light map key; its strings are the record's
// own, so building one allocates nothing.
type key struct {
	kind     keyKind
	src, dst string
}

func (k keyKind) of(f *record.Flow) key {
	out := key{kind: k}
	switch k.src {
	case 1:
		out.src = f.Src.Service
		if out.src == "" {
			out.src = f.Src.IP
		}
	case 2:
		out.src = f.Src.IP
	}
	switch k.dst {
	case 1:
		out.dst = f.Dst.Domain
		if out.dst == "" {
			out.dst = f.Dst.Name
		}
		if out.dst == "" {
			out.dst = f.Dst.IP
		}
	case 2:
		out.dst = f.Dst.Name
		if out.dst == "" {
			out.dst = f.Dst.IP
		}
	case 3:
		out.dst = f.Dst.IP
	}
	return out
}

var srcKeyNames = [...]string{"", "src.service", "src.ip"}
var dstKeyNames = [...]string{"", "dst.domain", "dst.name", "dst.ip"}

// String renders the key as "src.service=x,dst.domain=y" for volume
// records and reasons.
func (k key) String() string {
	s := ""
	if k.kind.src != 0 {
		s = srcKeyNames[k.kind.src] + "=" + k.src
	}
	if k.kind.dst != 0 {
		if s != "" {
			s += ","
		}
		s += dstKeyNames[k.kind.dst] + "=" + k.dst
	}
	return s
}

func (k keyKind) name() string {
	return srcKeyNames[k.src] + "/" + dstKeyNames[k.dst]
}

func kindFromName(s string) (keyKind, bool) {
	for si, sn := range srcKeyNames {
		for di, dn := range dstKeyNames {
			if sn+"/"+dn == s {
				return keyKind{uint8(si), uint8(di)}, true
			}
		}
	}
	return keyKind{}, false
}
