package rules

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	// Rules name IANA zones; the binary must not depend on the host's zoneinfo.
	_ "time/tzdata"

	"github.com/tapdlp/tapdlp/record"
	"gopkg.in/yaml.v3"
)

// maxDepth bounds nesting of not/any/all so hostile files cannot recurse deep.
const maxDepth = 32

// condFields lists every key a condition map accepts, for error messages.
var condFields = []string{
	"ai.model", "ai.operation", "ai.provider", "app", "bytes.in", "bytes.out", "conn_state", "dst.category", "dst.domain", "dst.first_seen",
	"dst.ioc", "dst.ip", "dst.name", "dst.port", "dst.resolution", "dst.service", "dst.vendor", "proto", "reject.by",
	"sensitive.class", "sensitive.count", "sensitive.in", "sensitive.type", "src.ip", "src.port",
	"src.service", "tags", "vlan", "direction", "during", "not", "any", "all",
}

// findingFields are the values of sensitive.in: where a finding was made
// (record.Finding.In), "payload" for the content itself.
var findingFields = []string{"payload", "dns.query", "dns.answers", "tls.sni", "tls.alpn",
	"http.host", "http.method", "http.uri", "http.user_agent", "dst.name"}

// Field accessors: chosen at compile time, so evaluation never looks a
// field up by name.
var (
	getApp        = func(f *record.Flow) string { return f.App }
	getProto      = func(f *record.Flow) string { return f.Proto }
	getSrcService = func(f *record.Flow) string { return f.Src.Service }
	getDstVendor  = func(f *record.Flow) string { return f.Dst.Vendor }
	getDstService = func(f *record.Flow) string { return f.Dst.Service }
	getDstName    = func(f *record.Flow) string { return f.Dst.Name }
	getDstDomain  = func(f *record.Flow) string { return f.Dst.Domain }
	getBytesOut   = func(f *record.Flow) uint64 { return f.Bytes.Out }
	getBytesIn    = func(f *record.Flow) uint64 { return f.Bytes.In }
	getDstPort    = func(f *record.Flow) uint16 { return f.Dst.Port }
	getSrcPort    = func(f *record.Flow) uint16 { return f.Src.Port }
	getFirstSeen  = func(f *record.Flow) bool { return f.Dst.FirstSeen }
	// A flow still in progress (live and interim records, state active) has
	// a provisional conn_state: a connection whose SYN-ACK is yet to come
	// reads S0. It is judged only on final records.
	getConnState = func(f *record.Flow) string {
		if f.State == record.StateActive {
			return ""
		}
		return f.ConnState
	}
	getResolution = func(f *record.Flow) string { return f.Dst.Resolution }
	getAIProvider = func(f *record.Flow) string { return aiField(f, 0) }
	getAIOp       = func(f *record.Flow) string { return aiField(f, 1) }
	getAIModel    = func(f *record.Flow) string { return aiField(f, 2) }
	getRejectBy   = func(f *record.Flow) string {
		if f.Reject == nil {
			return ""
		}
		return f.Reject.By
	}
)

// aiField returns the flow's AI call provider (0), operation (1) or model
// (2); "" when the flow carried no AI call aiapi recognised.
func aiField(f *record.Flow, which int) string {
	if f.AI == nil {
		return ""
	}
	switch which {
	case 0:
		return f.AI.Provider
	case 1:
		return f.AI.Operation
	}
	return f.AI.Model
}

// enumFields are string fields with a closed set of values: a value outside
// it is a typo that would silently never match, so it fails to compile.
var enumFields = map[string][]string{
	"conn_state":     {"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"},
	"reject.by":      {"rst", "icmp"},
	"dst.resolution": {"matched", "other_name", "unresolved"},
	// appproto/aiapi's operations (providers and models are open sets).
	"ai.operation": {"chat", "completion", "responses", "embeddings", "files", "audio_transcription",
		"audio_translation", "audio_speech", "image_generation", "moderation", "count_tokens"},
}

// condCompiler turns condition maps into nodes, collecting every error.
type condCompiler struct {
	d    *diags
	sens int // sensitive.* keys compiled so far, to validate direction
}

func (c *condCompiler) errf(n *yaml.Node, path, format string, args ...any) {
	c.d.add(n.Line, path, format, args...)
}

// compileMap compiles a condition map: all its keys must hold.
func (c *condCompiler) compileMap(n *yaml.Node, path string, dir uint8, depth int) node {
	if depth > maxDepth {
		c.errf(n, path, "conditions nested deeper than %d", maxDepth)
		return nil
	}
	if n.Kind != yaml.MappingNode {
		c.errf(n, path, "expected a map of conditions, got %s", kindName(n))
		return nil
	}
	if len(n.Content) == 0 {
		c.errf(n, path, "empty condition map")
		return nil
	}
	if !checkKeys(c.d, n, path) {
		return nil
	}
	// direction applies to the whole map, wherever it is written.
	var dirNode *yaml.Node
	for i := 0; i < len(n.Content); i += 2 {
		if n.Content[i].Value == "direction" {
			dirNode = n.Content[i+1]
			switch {
			case dirNode.Kind == yaml.ScalarNode && dirNode.Value == "out":
				dir = dirOut
			case dirNode.Kind == yaml.ScalarNode && dirNode.Value == "in":
				dir = dirIn
			case dirNode.Kind == yaml.ScalarNode && dirNode.Value == "any":
				dir = dirAny
			default:
				c.errf(dirNode, path+".direction", "%s is not a direction (out, in, any)", quoteNode(dirNode))
			}
		}
	}
	sensBefore := c.sens
	var kids []node
	var sens *sensNode
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		p := path + "." + key
		if strings.HasPrefix(key, "sensitive.") {
			if sens == nil {
				sens = &sensNode{dir: dir}
			}
			c.sens++
			c.sensitive(sens, key, v, p)
			continue
		}
		var nd node
		switch key {
		case "direction":
			continue
		case "not":
			if kid := c.compileMap(v, p, dir, depth+1); kid != nil {
				nd = &notNode{kid: kid}
			}
		case "any", "all":
			nd = c.combinator(key, v, p, dir, depth)
		case "during":
			nd = c.during(v, p)
		default:
			nd = c.field(key, k, v, p)
		}
		if nd != nil {
			kids = append(kids, nd)
		}
	}
	if sens != nil {
		sens.text = sensSpec(sens)
		kids = append(kids, sens)
	}
	if dirNode != nil && c.sens == sensBefore {
		c.errf(dirNode, path+".direction", "direction restricts sensitive.* conditions, but this map has none")
	}
	switch len(kids) {
	case 0:
		return nil
	case 1:
		return kids[0]
	}
	slices.SortStableFunc(kids, func(a, b node) int { return a.cost() - b.cost() })
	return &andNode{kids: kids}
}

func (c *condCompiler) combinator(key string, v *yaml.Node, p string, dir uint8, depth int) node {
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		c.errf(v, p, "expected a non-empty list of condition maps, got %s", kindName(v))
		return nil
	}
	var kids []node
	for i, item := range v.Content {
		if kid := c.compileMap(item, fmt.Sprintf("%s[%d]", p, i), dir, depth+1); kid != nil {
			kids = append(kids, kid)
		}
	}
	if len(kids) != len(v.Content) {
		return nil
	}
	if key == "any" {
		return &orNode{kids: kids}
	}
	if len(kids) == 1 {
		return kids[0]
	}
	return &andNode{kids: kids}
}

// checkKeys reports non-scalar and duplicate keys (yaml.v3 only catches
// duplicates when decoding into Go maps, and a silent override hides bugs).
func checkKeys(d *diags, n *yaml.Node, path string) bool {
	ok := true
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			d.add(k.Line, path, "keys must be plain strings")
			ok = false
			continue
		}
		for j := 0; j < i; j += 2 {
			if n.Content[j].Value == k.Value {
				d.add(k.Line, path+"."+k.Value, "duplicate key (first on line %d)", n.Content[j].Line)
				ok = false
			}
		}
	}
	return ok
}

// scalars returns the items of a scalar-or-list value.
func (c *condCompiler) scalars(v *yaml.Node, p string) []*yaml.Node {
	switch v.Kind {
	case yaml.ScalarNode:
		return []*yaml.Node{v}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			c.errf(v, p, "empty list matches nothing")
			return nil
		}
		for i, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				c.errf(it, fmt.Sprintf("%s[%d]", p, i), "expected a value, got %s", kindName(it))
				return nil
			}
		}
		return v.Content
	}
	c.errf(v, p, "expected a value or a list of values, got %s", kindName(v))
	return nil
}

// enumValues reports whether every value given for an enumerated field is
// one of its values (ASCII case-insensitively), reporting the others.
func (c *condCompiler) enumValues(key string, allowed []string, v *yaml.Node, p string) bool {
	ok := true
	for _, it := range c.scalars(v, p) {
		if !slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, it.Value) }) {
			c.errf(it, p, "%s is not a %s value (one of %s)", quoteNode(it), key, strings.Join(allowed, ", "))
			ok = false
		}
	}
	return ok
}

func (c *condCompiler) field(key string, k, v *yaml.Node, p string) node {
	switch key {
	case "dst.category":
		return c.category(v, p)
	case "dst.name", "dst.domain":
		get := getDstName
		if key == "dst.domain" {
			get = getDstDomain
		}
		items := c.scalars(v, p)
		if items == nil {
			return nil
		}
		n := &nameNode{field: key, get: get}
		for _, it := range items {
			np, err := compileNamePattern(it.Value)
			if err != nil {
				c.errf(it, p, "%v", err)
				return nil
			}
			n.pats = append(n.pats, np)
		}
		n.text = key + " in " + listText(items)
		return n
	case "src.service", "dst.vendor", "dst.service", "app", "proto", "conn_state", "reject.by", "dst.resolution",
		"ai.provider", "ai.operation", "ai.model":
		get := map[string]func(*record.Flow) string{
			"src.service": getSrcService, "dst.vendor": getDstVendor, "dst.service": getDstService,
			"app": getApp, "proto": getProto, "conn_state": getConnState, "reject.by": getRejectBy,
			"dst.resolution": getResolution,
			"ai.provider":    getAIProvider, "ai.operation": getAIOp, "ai.model": getAIModel,
		}[key]
		if allowed := enumFields[key]; allowed != nil && !c.enumValues(key, allowed, v, p) {
			return nil
		}
		pats := c.strPatterns(v, p)
		if pats == nil {
			return nil
		}
		n := &strNode{field: key, get: get, pats: pats, text: key + " in " + listText(c.scalars(v, p))}
		for _, sp := range pats {
			if sp.glob {
				n.exact = nil
				break
			}
			n.exact = append(n.exact, sp.exact)
		}
		return n
	case "tags":
		pats := c.strPatterns(v, p)
		if pats == nil {
			return nil
		}
		return &tagsNode{pats: pats, text: "tags in " + listText(c.scalars(v, p))}
	case "dst.ioc":
		if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" {
			b, _ := strconv.ParseBool(v.Value)
			if !b {
				return &notNode{kid: &iocNode{text: "dst.ioc"}}
			}
			return &iocNode{text: "dst.ioc"}
		}
		pats := c.strPatterns(v, p)
		if pats == nil {
			return nil
		}
		return &iocNode{pats: pats, text: "dst.ioc in " + listText(c.scalars(v, p))}
	case "dst.first_seen":
		if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
			c.errf(v, p, "%s is not true or false", quoteNode(v))
			return nil
		}
		b, _ := strconv.ParseBool(v.Value)
		return &boolNode{field: key, get: getFirstSeen, want: b}
	case "src.ip", "dst.ip":
		return c.ip(key, v, p)
	case "src.port", "dst.port":
		return c.port(key, v, p)
	case "bytes.out", "bytes.in":
		get := getBytesOut
		if key == "bytes.in" {
			get = getBytesIn
		}
		items := c.scalars(v, p)
		if items == nil {
			return nil
		}
		n := &numNode{field: key, get: get, text: key + " " + listText(items)}
		for _, it := range items {
			cm, err := parseCmp(it.Value, true)
			if err != nil {
				c.errf(it, p, "%v", err)
				return nil
			}
			n.cmps = append(n.cmps, cm)
		}
		return n
	case "vlan":
		items := c.scalars(v, p)
		if items == nil {
			return nil
		}
		n := &vlanNode{text: "vlan in " + listText(items)}
		for _, it := range items {
			id, err := strconv.ParseUint(it.Value, 10, 16)
			if err != nil || id > 4095 {
				c.errf(it, p, "%s is not a VLAN id (0-4095)", quoteNode(it))
				return nil
			}
			n.ids = append(n.ids, uint16(id))
		}
		return n
	}
	c.errf(k, p, "unknown field %q (%s)", key, listNames(condFields))
	return nil
}

func (c *condCompiler) strPatterns(v *yaml.Node, p string) []strPattern {
	items := c.scalars(v, p)
	if items == nil {
		return nil
	}
	pats := make([]strPattern, 0, len(items))
	for _, it := range items {
		sp, err := compileStrPattern(it.Value)
		if err != nil {
			c.errf(it, p, "%v", err)
			return nil
		}
		pats = append(pats, sp)
	}
	return pats
}

func (c *condCompiler) category(v *yaml.Node, p string) node {
	items := c.scalars(v, p)
	if items == nil {
		return nil
	}
	n := &catNode{text: "dst.category in " + listText(items)}
	for _, it := range items {
		i := categoryIndex(it.Value)
		if i < 0 {
			c.errf(it, p, "%q is not a category (%s)", it.Value, listNames(categoryNames[:]))
			return nil
		}
		n.mask |= 1 << i
	}
	return n
}

func (c *condCompiler) ip(key string, v *yaml.Node, p string) node {
	items := c.scalars(v, p)
	if items == nil {
		return nil
	}
	n := &ipNode{src: key == "src.ip", text: key + " in " + listText(items)}
	for _, it := range items {
		s := strings.TrimSpace(it.Value)
		var pf netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			pf, err = netip.ParsePrefix(s)
			if err == nil && pf != pf.Masked() {
				c.errf(it, p, "%q has host bits set (did you mean %s?)", s, pf.Masked())
				return nil
			}
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(s)
			if err == nil {
				a = a.Unmap()
				pf = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			c.errf(it, p, "%q is not an IP address or CIDR", s)
			return nil
		}
		n.prefixes = append(n.prefixes, pf)
	}
	return n
}

func (c *condCompiler) port(key string, v *yaml.Node, p string) node {
	items := c.scalars(v, p)
	if items == nil {
		return nil
	}
	n := &portNode{field: key, get: getDstPort, text: key + " in " + listText(items)}
	if key == "src.port" {
		n.get = getSrcPort
	}
	for _, it := range items {
		s := strings.TrimSpace(it.Value)
		if lo, hi, ok := strings.Cut(s, "-"); ok && lo != "" {
			a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
			b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
			if err1 != nil || err2 != nil || a > b {
				c.errf(it, p, "%q is not a port range (e.g. 8000-8999)", s)
				return nil
			}
			n.ranges = append(n.ranges, [2]uint16{uint16(a), uint16(b)})
			continue
		}
		if a, err := strconv.ParseUint(s, 10, 16); err == nil {
			n.ranges = append(n.ranges, [2]uint16{uint16(a), uint16(a)})
			continue
		}
		cm, err := parseCmp(s, false)
		if err != nil || cm.val > 65535 {
			c.errf(it, p, "%q is not a port, port range or comparison", s)
			return nil
		}
		n.cmps = append(n.cmps, cm)
	}
	return n
}

func (c *condCompiler) sensitive(n *sensNode, key string, v *yaml.Node, p string) {
	switch key {
	case "sensitive.class":
		n.hasCls = true
		for _, it := range c.scalars(v, p) {
			b := classBit(it.Value)
			if b == 0 {
				c.errf(it, p, "%q is not a sensitive class (%s)", it.Value, listNames(classNames[:]))
				continue
			}
			n.classes |= b
		}
	case "sensitive.type":
		n.hasType = true
		for _, it := range c.scalars(v, p) {
			i := typeIndex(it.Value)
			if i == typeUnknown {
				names := make([]string, len(typeNames))
				for j, t := range typeNames {
					names[j] = t.name
				}
				c.errf(it, p, "%q is not a sensitive type (%s)", it.Value, listNames(names))
				continue
			}
			n.types |= 1 << i
		}
	case "sensitive.count":
		for _, it := range c.scalars(v, p) {
			cm, err := parseCmp(it.Value, false)
			if err != nil {
				c.errf(it, p, "%v", err)
				continue
			}
			n.cmps = append(n.cmps, cm)
		}
	case "sensitive.in":
		for _, it := range c.scalars(v, p) {
			if !slices.Contains(findingFields, it.Value) {
				c.errf(it, p, "%q is not a place findings are made (%s)", it.Value, listNames(findingFields))
				continue
			}
			n.ins = append(n.ins, it.Value)
		}
	default:
		c.errf(v, p, "unknown field %q (sensitive.type, sensitive.class, sensitive.count, sensitive.in)", key)
	}
}

func sensSpec(n *sensNode) string {
	var parts []string
	if n.classes != 0 {
		var cs []string
		for _, c := range classNames {
			if n.classes&classBit(c) != 0 {
				cs = append(cs, c)
			}
		}
		parts = append(parts, "sensitive.class in ["+strings.Join(cs, ", ")+"]")
	}
	if n.types != 0 {
		var ts []string
		for i, t := range typeNames {
			if n.types&(1<<i) != 0 {
				ts = append(ts, t.name)
			}
		}
		parts = append(parts, "sensitive.type in ["+strings.Join(ts, ", ")+"]")
	}
	for _, c := range n.cmps {
		parts = append(parts, "sensitive.count"+c.String())
	}
	if len(n.ins) > 0 {
		parts = append(parts, "sensitive.in in ["+strings.Join(n.ins, ", ")+"]")
	}
	s := strings.Join(parts, " and ")
	switch n.dir {
	case dirOut:
		s += " (out)"
	case dirIn:
		s += " (in)"
	}
	return s
}

var dayNames = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func dayIndex(s string) int {
	for i, d := range dayNames {
		if strings.EqualFold(d, strings.TrimSpace(s)) {
			return i
		}
	}
	return -1
}

func (c *condCompiler) during(v *yaml.Node, p string) node {
	if v.Kind != yaml.MappingNode {
		c.errf(v, p, "expected {days: [...], hours: \"HH:MM-HH:MM\", tz: Zone}, got %s", kindName(v))
		return nil
	}
	if !checkKeys(c.d, v, p) {
		return nil
	}
	n := &duringNode{loc: time.UTC, days: 0x7f}
	var daysText, hoursText []string
	tzName := "UTC"
	ok := true
	for i := 0; i < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		kp := p + "." + k.Value
		switch k.Value {
		case "days":
			n.days = 0
			items := c.scalars(val, kp)
			if items == nil {
				ok = false
			}
			for _, it := range items {
				lo, hi, isRange := strings.Cut(it.Value, "-")
				a, b := dayIndex(lo), dayIndex(lo)
				if isRange {
					b = dayIndex(hi)
				}
				if a < 0 || b < 0 {
					c.errf(it, kp, "%q is not a day or day range (mon, tue, …, sun; mon-fri)", it.Value)
					ok = false
					continue
				}
				for d := a; ; d = (d + 1) % 7 {
					n.days |= 1 << d
					if d == b {
						break
					}
				}
				daysText = append(daysText, it.Value)
			}
		case "hours":
			items := c.scalars(val, kp)
			if items == nil {
				ok = false
			}
			for _, it := range items {
				r, err := parseHours(it.Value)
				if err != nil {
					c.errf(it, kp, "%v", err)
					ok = false
					continue
				}
				n.ranges = append(n.ranges, r)
				hoursText = append(hoursText, it.Value)
			}
		case "tz":
			if val.Kind != yaml.ScalarNode || val.Value == "" || val.Value == "Local" {
				c.errf(val, kp, "%s is not an IANA time zone (e.g. Europe/Berlin, UTC)", quoteNode(val))
				ok = false
				continue
			}
			loc, err := time.LoadLocation(val.Value)
			if err != nil {
				c.errf(val, kp, "%q is not an IANA time zone (e.g. Europe/Berlin, UTC)", val.Value)
				ok = false
				continue
			}
			n.loc, tzName = loc, val.Value
		default:
			c.errf(k, kp, "unknown field %q (days, hours, tz)", k.Value)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	t := "during"
	if len(daysText) > 0 {
		t += " " + strings.Join(daysText, ",")
	}
	if len(hoursText) > 0 {
		t += " " + strings.Join(hoursText, ",")
	}
	n.text = t + " " + tzName
	return n
}

// parseHours parses "HH:MM-HH:MM"; the end is exclusive and may be 24:00; a
// start after the end wraps past midnight.
func parseHours(s string) ([2]uint16, error) {
	bad := fmt.Errorf("%q is not an hour range (e.g. \"08:00-18:00\", \"22:00-06:00\")", s)
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return [2]uint16{}, bad
	}
	a, ok1 := parseClock(lo)
	b, ok2 := parseClock(hi)
	if !ok1 || !ok2 || a == b || a == 24*60 {
		return [2]uint16{}, bad
	}
	return [2]uint16{a, b}, nil
}

func parseClock(s string) (uint16, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(m) != 2 || len(h) < 1 || len(h) > 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || hh == 24 && mm != 0 {
		return 0, false
	}
	return uint16(hh*60 + mm), true
}

func listText(items []*yaml.Node) string {
	vals := make([]string, len(items))
	for i, it := range items {
		vals[i] = it.Value
	}
	return "[" + strings.Join(vals, ", ") + "]"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func quoteNode(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return kindName(n)
}
