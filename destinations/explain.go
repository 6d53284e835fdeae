package destinations

import (
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// Explanation is the answer of `tapdlp lookup HOST_OR_IP`: what the
// classifier decides for one host name or address, and why.
type Explanation struct {
	Input       string   `json:"input"`
	Kind        string   `json:"kind"` // "name" or "ip"
	Name        string   `json:"name"` // canonical name (or the address)
	Category    Category `json:"category"`
	Vendor      string   `json:"vendor"`
	Service     string   `json:"service,omitempty"`
	Matched     string   `json:"matched"`                // catalog pattern or range label; "" when nothing matched
	Source      string   `json:"source,omitempty"`       // file:line of the catalog entry
	Ref         string   `json:"ref,omitempty"`          // where the catalog fact comes from
	Domain      string   `json:"domain,omitempty"`       // registrable domain
	Range       string   `json:"range,omitempty"`        // provider range (addresses)
	Region      string   `json:"region,omitempty"`       // provider region of the range
	Internal    bool     `json:"internal,omitempty"`     // inside home_net
	IOC         string   `json:"ioc,omitempty"`          // IOC list name
	ServiceName string   `json:"service_name,omitempty"` // configured services map
	Reason      string   `json:"reason"`                 // one sentence on how the category was decided
}

// Explain classifies one host name or IP address for a person. A URL or a
// host:port is accepted too (people paste them); its host is explained.
func (c *Classifier) Explain(hostOrIP string) Explanation {
	in := hostOf(strings.TrimSpace(hostOrIP))
	x := Explanation{Input: hostOrIP}
	if a, err := netip.ParseAddr(strings.Trim(in, "[]")); err == nil {
		a = a.Unmap()
		r := c.Classify("", a)
		x.Kind, x.Name = "ip", a.String()
		x.Category, x.Vendor, x.Service = r.Category, r.Vendor, r.Service
		x.Internal, x.IOC = r.Internal, r.IOCList
		x.ServiceName = c.ServiceName(a)
		if r.Range != nil {
			x.Matched, x.Range, x.Region = r.Range.Label, r.Range.Prefix.String(), r.Range.Region
		}
		switch {
		case r.IOCList != "":
			x.Reason = "address is on IOC list " + r.IOCList
		case r.Internal:
			x.Reason = "address is inside home_net"
		case r.Range != nil:
			x.Reason = "address is in provider range " + r.Range.Label
		default:
			x.Reason = "no provider range contains the address"
		}
		return x
	}
	x.Kind = "name"
	r := c.Classify(in, netip.Addr{})
	x.Name, x.Domain = r.Name, r.Domain
	x.Category, x.Vendor, x.Service, x.IOC = r.Category, r.Vendor, r.Service, r.IOCList
	if r.Entry != nil {
		x.Matched, x.Source, x.Ref = r.Entry.Pattern, r.Entry.Source, r.Entry.Ref
	}
	switch {
	case r.NameErr != nil:
		x.Reason = "invalid name: " + r.NameErr.Error()
	case r.IOCList != "":
		x.Reason = "name or a parent domain is on IOC list " + r.IOCList
	case r.Entry != nil:
		x.Reason = "catalog entry " + r.Entry.Pattern + " matched"
	default:
		x.Reason = "no catalog entry matches the name"
	}
	return x
}

// hostOf returns the host of a URL or host:port, or s unchanged.
func hostOf(s string) string {
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			return u.Hostname()
		}
		return s
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}
