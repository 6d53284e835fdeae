package destinations

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strings"
)

func (l *IOCList) parseCSV(file string, data []byte) error {
	// The header: abuse.ch puts it in the last comment line before data.
	var header []string
	body := data
	headerLines := 0
	for len(body) > 0 {
		line := body
		rest := []byte(nil)
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, rest = body[:i], body[i+1:]
		}
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			break
		}
		if len(t) > 0 && bytes.IndexByte(t, ',') >= 0 {
			if h, err := csvFields(bytes.TrimLeft(t, "# ")); err == nil {
				header = h
			}
		}
		body = rest
		headerLines++
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.LazyQuotes = true
	r.ReuseRecord = true
	first := true
	urlCol, iocCol, typeCol := -1, -1, -1
	setCols := func(h []string) {
		for i, c := range h {
			switch strings.ToLower(strings.TrimSpace(c)) {
			case "url":
				urlCol = i
			case "ioc_value", "ioc":
				iocCol = i
			case "ioc_type":
				typeCol = i
			}
		}
	}
	if header != nil {
		setCols(header)
	}
	for {
		rec, err := r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				l.skip(headerLines + pe.StartLine)
				continue
			}
			break
		}
		line, _ := r.FieldPos(0)
		line += headerLines
		if first {
			first = false
			if urlCol < 0 && iocCol < 0 {
				setCols(rec)
				if urlCol >= 0 || iocCol >= 0 {
					continue // this record was the header
				}
				return fmt.Errorf("%s: %w", file, ErrNoIOCColumn)
			}
		}
		ok := false
		switch {
		case iocCol >= 0 && iocCol < len(rec):
			typ := ""
			if typeCol >= 0 && typeCol < len(rec) {
				typ = strings.ToLower(strings.TrimSpace(rec[typeCol]))
			}
			ok = l.addTyped(rec[iocCol], typ)
		case urlCol >= 0 && urlCol < len(rec):
			ok = l.addURL(rec[urlCol])
		}
		if !ok {
			l.skip(line)
		}
	}
	return nil
}

func csvFields(b []byte) ([]string, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.TrimLeadingSpace = true
	r.LazyQuotes = true
	return r.Read()
}

func (l *IOCList) addTyped(v, typ string) bool {
	switch {
	case typ == "url":
		return l.addURL(v)
	case typ == "domain" || typ == "hostname":
		return l.addDomain(strings.TrimSpace(v))
	case typ == "" && strings.Contains(v, "://"):
		return l.addURL(v)
	case typ == "" || strings.HasPrefix(typ, "ip"):
		return l.addValue(v, true)
	default: // md5_hash, sha256_hash, …: not a destination
		return false
	}
}

func (l *IOCList) addURL(v string) bool {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.Host == "" {
		return false
	}
	h := u.Hostname()
	if a, err := netip.ParseAddr(h); err == nil {
		a = a.Unmap()
		l.Prefixes = append(l.Prefixes, netip.PrefixFrom(a, a.BitLen()))
		return true
	}
	return l.addDomain(h)
}
