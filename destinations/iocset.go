package destinations

import (
	"net/netip"
	"strings"
)

// IOCSet is an immutable index over IOC lists. When an indicator is on
// several lists, the first list given wins.
type IOCSet struct {
	domains map[string]int32
	ips     *prefixTable
	names   []string
	nDom    int
	nPfx    int
}

// NewIOCSet indexes lists.
func NewIOCSet(lists ...*IOCList) *IOCSet {
	s := &IOCSet{domains: make(map[string]int32), ips: newPrefixTable()}
	for i, l := range lists {
		s.names = append(s.names, l.Name)
		for _, d := range l.Domains {
			if _, ok := s.domains[d]; !ok {
				s.domains[d] = int32(i)
			}
		}
		for _, p := range l.Prefixes {
			s.ips.insert(p, int32(i), func(old, nw int32) bool { return false })
		}
		s.nPfx += len(l.Prefixes)
	}
	s.nDom = len(s.domains)
	return s
}

// MatchName returns the list holding name (canonical) or one of its parent
// domains, label-wise. It does not allocate.
func (s *IOCSet) MatchName(name string) (string, bool) {
	if s == nil || len(s.domains) == 0 || name == "" {
		return "", false
	}
	for {
		if i, ok := s.domains[name]; ok {
			return s.names[i], true
		}
		dot := strings.IndexByte(name, '.')
		if dot < 0 {
			return "", false
		}
		name = name[dot+1:]
	}
}

// MatchAddr returns the list holding addr (address or CIDR indicator).
func (s *IOCSet) MatchAddr(addr netip.Addr) (string, bool) {
	if s == nil {
		return "", false
	}
	if i, _ := s.ips.lookup(addr); i >= 0 {
		return s.names[i], true
	}
	return "", false
}

// Counts returns the number of distinct domain and prefix indicators.
func (s *IOCSet) Counts() (domains, prefixes int) {
	if s == nil {
		return 0, 0
	}
	return s.nDom, s.nPfx
}
