// Package config loads tapdlp's YAML configuration: an embedded, commented
// default overlaid by the user's file, decoded strictly so that unknown keys
// and bad values are errors naming the file, line and key. It holds plain
// option values only; it must not construct pipeline components.
package config

import (
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed default.yaml
var defaultYAML []byte

// Default returns the embedded default configuration text (with comments).
func Default() []byte { return append([]byte(nil), defaultYAML...) }

// Config is the whole configuration.
type Config struct {
	Workers         int          `yaml:"workers"`
	CommunityIDSeed uint16       `yaml:"community_id_seed"`
	AppLayer        bool         `yaml:"app_layer"`
	HeapHugePages   Size         `yaml:"heap_huge_pages"`
	Decode          Decode       `yaml:"decode"`
	Flows           Flows        `yaml:"flows"`
	Reassembly      Reassembly   `yaml:"reassembly"`
	Rules           yaml.Node    `yaml:"rules"`
	RulesDir        string       `yaml:"rules_dir"`
	Alerts          Alerts       `yaml:"alerts"`
	StateDir        string       `yaml:"state_dir"`
	Destinations    Destinations `yaml:"destinations"`
	Inspection      Inspection   `yaml:"inspection"`
	TLS             TLS          `yaml:"tls"`
	Outputs         Outputs      `yaml:"outputs"`
	Capture         Capture      `yaml:"capture"`
	Metrics         Metrics      `yaml:"metrics"`
	Log             Log          `yaml:"log"`
	Sensor          Sensor       `yaml:"sensor"`

	// File is where the configuration came from ("(default)" when embedded only).
	File string `yaml:"-"`
	// pos records where each key was last set, for errors found after decoding.
	pos Positions
}

// ErrorAt returns an Error about key's value, positioned where key (or the
// nearest enclosing key) was set. Code that checks a section after loading
// (building sinks, the inspection engine) reports through it.
func (c *Config) ErrorAt(key, format string, args ...any) *Error {
	return c.pos.ErrorAt(key, format, args...)
}

// Where returns "file:line" for a dotted key, for errors about its value.
func (c *Config) Where(key string) string {
	if p, ok := c.pos[key]; ok {
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return c.File
}

// Decode configures the packet decoder.
type Decode struct {
	DefragMemcap  Size     `yaml:"defrag_memcap"`
	DefragTimeout Duration `yaml:"defrag_timeout"`
	TunnelDepth   int      `yaml:"tunnel_depth"`
	VXLANPorts    []uint16 `yaml:"vxlan_ports"`
	GENEVEPorts   []uint16 `yaml:"geneve_ports"`
	// Checksums: "auto" (empty), "on" (a tap or SPAN port: drop every
	// packet whose checksum fails) or "off" (see capture.ChecksumMode).
	Checksums string `yaml:"checksums"`
}

// Flows configures the flow table.
type Flows struct {
	MaxFlows              int      `yaml:"max_flows"`
	Memcap                Size     `yaml:"memcap"`
	TCPEstablishedTimeout Duration `yaml:"tcp_established_timeout"`
	TCPClosedTimeout      Duration `yaml:"tcp_closed_timeout"`
	TCPCloseGrace         Duration `yaml:"tcp_close_grace"`
	TCPHandshakeTimeout   Duration `yaml:"tcp_handshake_timeout"`
	UDPTimeout            Duration `yaml:"udp_timeout"`
	DNSTimeout            Duration `yaml:"dns_timeout"`
	OtherTimeout          Duration `yaml:"other_timeout"`
	ActiveTimeout         Duration `yaml:"active_timeout"`
}

// Reassembly configures TCP stream reassembly.
type Reassembly struct {
	InspectDepth Size `yaml:"inspect_depth"`
	Memcap       Size `yaml:"memcap"`
	FlowMemcap   Size `yaml:"flow_memcap"`
}

// Alerts configures the policy engine around the rules.
type Alerts struct {
	DefaultRules    bool     `yaml:"default_rules"`
	DedupWindow     Duration `yaml:"dedup_window"`
	ReevaluateEvery Duration `yaml:"reevaluate_every"`
	VolumeRecords   Duration `yaml:"volume_records"`

	// Alert pcaps (see README "Alert pcaps"): when PcapDir is set, each
	// worker keeps the first PcapFlowBytes of every flow's frames (within
	// PcapMemory per worker) and writes an alerting flow's frames, and up
	// to PcapAfterBytes more of it, to rotating pcap files there.
	PcapDir        string `yaml:"pcap_dir"`         // "": off; holds raw traffic (mode 0700, files 0600)
	PcapFlowBytes  Size   `yaml:"pcap_flow_bytes"`  // frame bytes kept per flow before an alert
	PcapAfterBytes Size   `yaml:"pcap_after_bytes"` // frame bytes written per flow after its first alert
	PcapMemory     Size   `yaml:"pcap_memory"`      // per worker: bytes of frames held for flows not (yet) alerting
	PcapFileSize   Size   `yaml:"pcap_file_size"`   // a file is rotated before it grows past this
	PcapMaxFiles   int    `yaml:"pcap_max_files"`   // oldest files are deleted beyond this many
	PcapMaxBytes   Size   `yaml:"pcap_max_bytes"`   // … or beyond this many bytes in all
}

// Capture configures live capture.
type Capture struct {
	Interfaces          []string `yaml:"interfaces"`
	SocketsPerInterface int      `yaml:"sockets_per_interface"`
	Fanout              string   `yaml:"fanout"`
	FanoutGroup         uint16   `yaml:"fanout_group"`
	Defrag              bool     `yaml:"defrag"`
	RingSize            Size     `yaml:"ring_size"`
	BlockSize           Size     `yaml:"block_size"`
	FrameSize           Size     `yaml:"frame_size"`
	BlockTimeout        Duration `yaml:"block_timeout"`
	Snaplen             int      `yaml:"snaplen"`
	Promiscuous         bool     `yaml:"promiscuous"`
	BPFFilter           string   `yaml:"bpf_filter"`
	User                string   `yaml:"user"`
	StatusInterval      Duration `yaml:"status_interval"`
}

// Log configures the structured logs.
type Log struct {
	Format string `yaml:"format"`
	Level  string `yaml:"level"`
}

// Sensor names this sensor in its records (`sensor.name` native,
// observer.name ECS, host EVE); the host name and interface are added at
// start-up.
type Sensor struct {
	Name string `yaml:"name"` // printable, at most 64 bytes; "" leaves the identity out of replays
}

// Metrics configures the metrics and health endpoint.
type Metrics struct {
	Listen string `yaml:"listen"`
}

// TLS configures decryption of TLS flows whose keys are known.
type TLS struct {
	// KeylogFiles are NSS key log files (SSLKEYLOGFILE) that `run` follows
	// as they grow; `replay --keylog` adds files read whole.
	KeylogFiles []string `yaml:"keylog_files"`
	// KeystoreBytes bounds the secrets held in memory (least recently used
	// evicted); 0 means the default (16 MiB).
	KeystoreBytes Size `yaml:"keystore_bytes"`
	// PendingBytes bounds, over all flows, the encrypted bytes buffered
	// while their key has not arrived (each flow also stops at 256 KiB);
	// 0 means the default (64 MiB).
	PendingBytes Size `yaml:"pending_bytes"`
}

// Inspection configures content inspection.
type Inspection struct {
	Enabled       bool      `yaml:"enabled"`
	InspectBytes  Size      `yaml:"inspect_bytes"`
	SampleOneIn   int       `yaml:"sample_one_in"`
	AlwaysInspect []string  `yaml:"always_inspect"`
	ContextWindow int       `yaml:"context_window"`
	HMACKey       string    `yaml:"hmac_key"`
	HMACKeyFile   string    `yaml:"hmac_key_file"`
	MaxEvidence   int       `yaml:"max_evidence"`
	MinBase64     int       `yaml:"min_base64"`
	Disable       []string  `yaml:"disable"`
	Detectors     yaml.Node `yaml:"detectors"`
}

// DetectorsFile is the file the inline custom detectors came from.
func (c *Config) DetectorsFile() string {
	if p, ok := c.pos["inspection.detectors"]; ok {
		return p.File
	}
	return c.File
}

// Destinations configures naming and classification of destinations.
type Destinations struct {
	HomeNet        []Prefix          `yaml:"home_net"`
	Services       map[string]string `yaml:"services"`
	DefaultCatalog bool              `yaml:"default_catalog"`
	CatalogFiles   []string          `yaml:"catalog_files"`
	DefaultRanges  bool              `yaml:"default_ranges"`
	RangeFiles     []RangeFile       `yaml:"range_files"`
	IOCFiles       []IOCFile         `yaml:"ioc_files"`
	DNSCache       DNSCache          `yaml:"dns_cache"`
	FirstSeen      FirstSeen         `yaml:"first_seen"`
}

// RangeFile is a provider IP range file.
type RangeFile struct {
	Path     string `yaml:"path"`
	Format   string `yaml:"format"`
	Provider string `yaml:"provider"`
	Vendor   string `yaml:"vendor"`
	Service  string `yaml:"service"`
	Category string `yaml:"category"`
}

// IOCFile is an indicator list.
type IOCFile struct {
	Path   string `yaml:"path"`
	Name   string `yaml:"name"`
	Format string `yaml:"format"`
}

// DNSCache bounds the DNS answer cache.
type DNSCache struct {
	MaxEntries     int      `yaml:"max_entries"`
	MaxAddrEntries int      `yaml:"max_addr_entries"`
	TTLFloor       Duration `yaml:"ttl_floor"`
	TTLCap         Duration `yaml:"ttl_cap"`
}

// FirstSeen bounds first-seen tracking.
type FirstSeen struct {
	MaxEntries int `yaml:"max_entries"`
}

// RulesFile is the file the inline `rules:` came from, for error positions.
func (c *Config) RulesFile() string {
	if p, ok := c.pos["rules"]; ok {
		return p.File
	}
	return c.File
}

// Logger builds the configured slog logger writing to w.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Categories are the canonical destination categories (DESIGN.md).
var Categories = []string{"ai_ml", "cloud_storage", "saas", "analytics", "social", "advertising", "cdn", "internal", "threat", "unknown"}

func validCategory(c string) bool {
	for _, k := range Categories {
		if k == c {
			return true
		}
	}
	return false
}

// Load returns the embedded default overlaid with the file at path (no file
// when path is empty).
func Load(path string) (*Config, error) {
	if path == "" {
		c := &Config{File: "(default)", pos: Positions{}}
		if err := decodeInto("(default)", defaultYAML, c, c.pos); err != nil {
			return nil, fmt.Errorf("embedded default config: %w", err)
		}
		c.Outputs.pos = c.pos
		return c, c.validate()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse overlays data (named file in errors) on the embedded default.
func Parse(file string, data []byte) (*Config, error) {
	c := &Config{pos: Positions{}}
	if err := decodeInto("(default)", defaultYAML, c, c.pos); err != nil {
		return nil, fmt.Errorf("embedded default config: %w", err)
	}
	if err := decodeInto(file, data, c, c.pos); err != nil {
		return nil, err
	}
	c.File = file
	c.Outputs.pos = c.pos
	return c, c.validate()
}

// validate checks relations and ranges the decoder cannot see.
func (c *Config) validate() error {
	var errs Errors
	check := func(ok bool, key, format string, args ...any) {
		if !ok {
			errs = append(errs, c.pos.ErrorAt(key, format, args...))
		}
	}
	check(c.Workers >= 0 && c.Workers <= 1024, "workers", "%d is out of range 0..1024", c.Workers)
	check(c.HeapHugePages >= 0 && c.HeapHugePages <= 64<<30, "heap_huge_pages", "%s is out of range 0..64GiB", c.HeapHugePages)
	check(c.Decode.TunnelDepth >= 0 && c.Decode.TunnelDepth <= 16, "decode.tunnel_depth", "%d is out of range 0..16", c.Decode.TunnelDepth)
	check(c.Decode.Checksums == "" || c.Decode.Checksums == "auto" || c.Decode.Checksums == "on" || c.Decode.Checksums == "off",
		"decode.checksums", "%q: want auto, on or off", c.Decode.Checksums)
	check(c.Flows.MaxFlows > 0, "flows.max_flows", "must be positive")
	check(c.Flows.Memcap >= 1<<20, "flows.memcap", "must be at least 1MiB")
	check(c.Reassembly.Memcap > 0, "reassembly.memcap", "must be positive")
	check(c.Rules.Kind == 0 || c.Rules.Kind == yaml.SequenceNode, "rules", "expected a list of rules")
	for name := range c.Destinations.Services {
		if _, err := ParsePrefix(name); err != nil {
			check(false, "destinations.services", "%s", err)
		}
	}
	for i, r := range c.Destinations.RangeFiles {
		check(r.Path != "", "destinations.range_files", "entry %d has no path", i)
	}
	for i, f := range c.Destinations.IOCFiles {
		check(f.Path != "", "destinations.ioc_files", "entry %d has no path", i)
	}
	check(c.Capture.SocketsPerInterface >= 0, "capture.sockets_per_interface", "must not be negative")
	check(c.Capture.FanoutGroup != 0, "capture.fanout_group", "must be 1..65535")
	switch c.Capture.Fanout {
	case "hash", "cpu", "qm", "lb":
	default:
		check(false, "capture.fanout", "%q is not a fanout mode (hash, cpu, qm, lb)", c.Capture.Fanout)
	}
	check(len(c.Sensor.Name) <= 64 && printable(c.Sensor.Name), "sensor.name", "%q must be at most 64 printable ASCII characters", c.Sensor.Name)
	check(c.Log.Format == "text" || c.Log.Format == "json", "log.format", "%q is not a log format (text, json)", c.Log.Format)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		check(false, "log.level", "%q is not a log level (debug, info, warn, error)", c.Log.Level)
	}
	check(c.Inspection.SampleOneIn >= 1, "inspection.sample_one_in", "must be at least 1")
	check(c.Inspection.ContextWindow >= 0 && c.Inspection.ContextWindow <= 256, "inspection.context_window", "%d is out of range 0..256", c.Inspection.ContextWindow)
	check(c.Inspection.MaxEvidence >= 0, "inspection.max_evidence", "must not be negative")
	check(c.Inspection.MinBase64 <= 0 || c.Inspection.MinBase64 >= 16, "inspection.min_base64", "%d is below 16 (0: the default)", c.Inspection.MinBase64)
	check(c.Inspection.HMACKey == "" || c.Inspection.HMACKeyFile == "", "inspection.hmac_key", "set hmac_key or hmac_key_file, not both")
	for _, cat := range c.Inspection.AlwaysInspect {
		check(validCategory(cat), "inspection.always_inspect", "%q is not a category (%s)", cat, strings.Join(Categories, ", "))
	}
	for i, f := range c.TLS.KeylogFiles {
		check(strings.TrimSpace(f) != "", "tls.keylog_files", "entry %d is empty", i)
	}
	check(c.TLS.KeystoreBytes >= 0 && c.TLS.KeystoreBytes <= 1<<30, "tls.keystore_bytes", "%s is out of range 0..1GiB", c.TLS.KeystoreBytes)
	check(c.TLS.PendingBytes >= 0 && c.TLS.PendingBytes <= 16<<30, "tls.pending_bytes", "%s is out of range 0..16GiB", c.TLS.PendingBytes)
	check(c.Alerts.ReevaluateEvery.D() >= 0, "alerts.reevaluate_every", "must not be negative")
	c.validatePcap(check)
	check(c.Reassembly.FlowMemcap > 0 && c.Reassembly.FlowMemcap <= c.Reassembly.Memcap,
		"reassembly.flow_memcap", "must be positive and at most reassembly.memcap (%s)", c.Reassembly.Memcap)
	return errs.Err()
}

// validatePcap checks the alert pcap bounds (only when alerts.pcap_dir is
// set: the defaults need not fit a configuration that never writes pcaps).
func (c *Config) validatePcap(check func(ok bool, key, format string, args ...any)) {
	a := &c.Alerts
	if a.PcapDir == "" {
		return
	}
	check(!strings.ContainsRune(a.PcapDir, 0), "alerts.pcap_dir", "contains a NUL byte")
	check(a.PcapMemory >= 1<<20 && a.PcapMemory <= 64<<30, "alerts.pcap_memory", "%s is out of range 1MiB..64GiB", a.PcapMemory)
	check(a.PcapFlowBytes >= 1<<10 && a.PcapFlowBytes <= a.PcapMemory, "alerts.pcap_flow_bytes",
		"%s is out of range 1KiB..alerts.pcap_memory (%s)", a.PcapFlowBytes, a.PcapMemory)
	check(a.PcapAfterBytes >= 0 && a.PcapAfterBytes <= 1<<40, "alerts.pcap_after_bytes", "%s is out of range 0..1TiB", a.PcapAfterBytes)
	check(a.PcapFileSize >= 1<<20 && a.PcapFileSize >= a.PcapFlowBytes && a.PcapFileSize <= 1<<40, "alerts.pcap_file_size",
		"%s must be at least 1MiB and at least alerts.pcap_flow_bytes (%s), at most 1TiB", a.PcapFileSize, a.PcapFlowBytes)
	check(a.PcapMaxFiles >= 1, "alerts.pcap_max_files", "%d: must be at least 1", a.PcapMaxFiles)
	check(a.PcapMaxBytes >= a.PcapFileSize, "alerts.pcap_max_bytes", "%s is below alerts.pcap_file_size (%s)", a.PcapMaxBytes, a.PcapFileSize)
}

// printable reports whether s is printable US-ASCII (spaces allowed).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
