package pipeline

import (
	"fmt"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/capture/filter"
)

// frameFilter applies a tcpdump-syntax filter to replayed frames, compiling
// it once per link type met (pcapng files can mix them). Live capture
// attaches the same expression to its sockets instead.
type frameFilter struct {
	expr     string
	matchers map[capture.LinkType]*filter.Matcher
}

func newFrameFilter(expr string) (*frameFilter, error) {
	if expr == "" {
		return nil, nil
	}
	// Compile once up front so a bad expression fails before any input is read.
	if _, err := filter.NewMatcher(expr, filter.LinkEthernet); err != nil {
		return nil, err
	}
	return &frameFilter{expr: expr, matchers: map[capture.LinkType]*filter.Matcher{}}, nil
}

// match reports whether the frame passes. Link types the filter compiler
// does not support are an error rather than a silent pass.
func (f *frameFilter) match(data []byte, m capture.Meta) (bool, error) {
	mt, ok := f.matchers[m.LinkType]
	if !ok {
		var lt filter.LinkType
		switch m.LinkType {
		case capture.LinkEthernet:
			lt = filter.LinkEthernet
		case capture.LinkRaw, capture.LinkRawDLT12, capture.LinkRawDLT14:
			lt = filter.LinkRaw
		case capture.LinkSLL:
			lt = filter.LinkLinuxSLL
		default:
			return false, fmt.Errorf("filter %q: link type %d is not supported by the filter compiler (Ethernet, raw IP, Linux SLL are)", f.expr, m.LinkType)
		}
		var err error
		if mt, err = filter.NewMatcher(f.expr, lt); err != nil {
			return false, err
		}
		f.matchers[m.LinkType] = mt
	}
	return mt.MatchLen(data, m.WireLen), nil
}
