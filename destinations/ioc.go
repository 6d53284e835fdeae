package destinations

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// IOCFormat names an indicator list format.
type IOCFormat string

// Supported IOC list formats.
const (
	// IOCAuto picks plain, hosts or csv from the file's first lines.
	IOCAuto IOCFormat = ""
	// IOCPlain is one IP, CIDR or domain per line. '#' starts a comment
	// (whole line or after the value); a leading "*." on a domain is
	// dropped (domains always cover their subdomains).
	IOCPlain IOCFormat = "plain"
	// IOCHosts is the hosts-file form "0.0.0.0 bad.example [more names]": the
	// names are indicators, the address in front is not; localhost-type
	// names are ignored.
	IOCHosts IOCFormat = "hosts"
	// IOCCSV is abuse.ch-style CSV with quoted fields: URLhaus (column
	// "url": the URL's host is the indicator) or ThreatFox (columns
	// "ioc_value"/"ioc" and "ioc_type": url → host, domain, ip:port → IP,
	// ip; hash types are skipped). The header is the first line or, as
	// abuse.ch writes it, the last '#' comment line before the data.
	IOCCSV IOCFormat = "csv"
)

// IOCFile names an indicator list file.
type IOCFile struct {
	Path   string    `yaml:"path" json:"path"`
	Name   string    `yaml:"name" json:"name"` // list name written to dst.ioc.list; default: file base name
	Format IOCFormat `yaml:"format" json:"format,omitempty"`
}

// IOCList is one parsed indicator list.
type IOCList struct {
	Name     string
	Domains  []string       // canonical names; each covers its subdomains
	Prefixes []netip.Prefix // addresses are /32 or /128 prefixes
	// Skipped counts lines or records that held no usable indicator
	// (malformed, hash indicators, public suffixes); FirstSkipped is the
	// line of the first one, for the operator's log.
	Skipped      int
	FirstSkipped int
}

// ErrNoIOCColumn is returned for a CSV list without a url or ioc column.
var ErrNoIOCColumn = errors.New("csv has no url, ioc_value or ioc column")

// LoadIOCFile reads and parses one list.
func LoadIOCFile(f IOCFile) (*IOCList, error) {
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, fmt.Errorf("ioc: %w", err)
	}
	name := f.Name
	if name == "" {
		name = strings.TrimSuffix(baseName(f.Path), ".txt")
	}
	return ParseIOC(name, f.Path, f.Format, data)
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// ParseIOC parses an indicator list. Bad lines are skipped and counted, not
// fatal: feeds are messy and one bad line must not stop a reload. Only a
// structural problem (CSV without an indicator column, unknown format) is an
// error.
func ParseIOC(name, file string, format IOCFormat, data []byte) (*IOCList, error) {
	l := &IOCList{Name: name}
	if format == IOCAuto {
		format = detectIOCFormat(data)
	}
	switch format {
	case IOCPlain, IOCHosts:
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
		line := 0
		for sc.Scan() {
			line++
			s := sc.Text()
			if i := strings.IndexByte(s, '#'); i >= 0 {
				s = s[:i]
			}
			fields := strings.Fields(s)
			if len(fields) == 0 {
				continue
			}
			if format == IOCPlain {
				if len(fields) != 1 || !l.addValue(fields[0], false) {
					l.skip(line)
				}
				continue
			}
			if _, err := netip.ParseAddr(fields[0]); err != nil || len(fields) < 2 {
				l.skip(line)
				continue
			}
			for _, h := range fields[1:] {
				if hostsIgnored[strings.ToLower(h)] {
					continue
				}
				if !l.addDomain(h) {
					l.skip(line)
				}
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	case IOCCSV:
		if err := l.parseCSV(file, data); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: unknown IOC format %q (plain, hosts, csv)", file, format)
	}
	return l, nil
}

var hostsIgnored = map[string]bool{
	"localhost": true, "localhost.localdomain": true, "local": true, "broadcasthost": true,
	"ip6-localhost": true, "ip6-loopback": true, "ip6-localnet": true, "ip6-mcastprefix": true,
	"ip6-allnodes": true, "ip6-allrouters": true, "ip6-allhosts": true, "0.0.0.0": true,
}

func detectIOCFormat(data []byte) IOCFormat {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		if s[0] == '#' {
			h := strings.ToLower(s)
			if strings.Contains(h, ",") && (strings.Contains(h, "url") || strings.Contains(h, "ioc")) {
				return IOCCSV
			}
			continue
		}
		if s[0] == '"' || strings.Contains(s, ",") {
			return IOCCSV
		}
		if f := strings.Fields(s); len(f) >= 2 {
			if _, err := netip.ParseAddr(f[0]); err == nil {
				return IOCHosts
			}
		}
		return IOCPlain
	}
	return IOCPlain
}

func (l *IOCList) skip(line int) {
	if l.Skipped == 0 {
		l.FirstSkipped = line
	}
	l.Skipped++
}

// addValue adds an IP, CIDR or domain. With hostPort, "1.2.3.4:80" and
// "[2001:db8::1]:443" are accepted too.
func (l *IOCList) addValue(v string, hostPort bool) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	if hostPort {
		if h, _, err := net.SplitHostPort(v); err == nil {
			v = h
		}
	}
	if strings.IndexByte(v, '/') >= 0 || strings.IndexByte(v, ':') >= 0 || isDottedNumeric(v) {
		p, err := parsePrefixOrAddr(strings.Trim(v, "[]"))
		if err != nil {
			return false
		}
		l.Prefixes = append(l.Prefixes, p)
		return true
	}
	return l.addDomain(v)
}

// isDottedNumeric reports whether s looks like an IPv4 literal (so that a
// malformed one is rejected rather than taken for a domain).
func isDottedNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

func (l *IOCList) addDomain(d string) bool {
	d = strings.TrimPrefix(d, "*.")
	n, err := Normalize(d)
	if err != nil {
		return false
	}
	// A bare ICANN public suffix ("com", "co.uk") would flag everything.
	if ps, icann := publicsuffix.PublicSuffix(n); icann && ps == n {
		return false
	}
	l.Domains = append(l.Domains, strings.Clone(n))
	return true
}
