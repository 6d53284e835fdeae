package config

// Outputs is the `outputs:` section.
type Outputs struct {
	StateDir string   `yaml:"state_dir"` // spools live in StateDir/spool/<sink name>; required with a syslog or kafka sink
	Sinks    []Output `yaml:"sinks"`

	pos Positions // where each key was set (nil when built in code)
}

// ErrorAt returns an Error about key (a full path such as
// "outputs.sinks[1].file.path") positioned where it was set in the
// configuration; without positions (options built in code) it has none.
func (o *Outputs) ErrorAt(key, format string, args ...any) *Error {
	return o.pos.ErrorAt(key, format, args...)
}

// Output is one sink. Only the block matching Type may be set.
type Output struct {
	Name   string       `yaml:"name"`   // metric label and spool directory: [a-z0-9_-], 1..64
	Type   string       `yaml:"type"`   // stdout, file, syslog or kafka
	Types  []string     `yaml:"types"`  // record types routed here: flow, alert, volume (empty: all)
	Format string       `yaml:"format"` // native (default), ecs (Elastic Common Schema 8.x) or eve (Suricata EVE JSON)
	File   FileOutput   `yaml:"file"`
	Syslog SyslogOutput `yaml:"syslog"`
	Kafka  KafkaOutput  `yaml:"kafka"`
	Queue  OutputQueue  `yaml:"queue"` // syslog and kafka only
}

// FileOutput is a rotated JSON-lines file.
type FileOutput struct {
	Path          string   `yaml:"path"`
	MaxSize       Size     `yaml:"max_size"`       // rotate at this size (0: off)
	MaxAge        Duration `yaml:"max_age"`        // rotate files this old (0: off)
	Keep          int      `yaml:"keep"`           // rotated files kept (0: all)
	Compress      bool     `yaml:"compress"`       // zstd rotated files
	FlushInterval Duration `yaml:"flush_interval"` // default 1s
}

// OutputTLS is a client TLS setup.
type OutputTLS struct {
	Enabled            bool   `yaml:"enabled"`     // kafka: use TLS (syslog: network tls implies it)
	CAFile             string `yaml:"ca_file"`     // PEM roots (default: system roots)
	CertFile           string `yaml:"cert_file"`   // client certificate (mutual TLS)
	KeyFile            string `yaml:"key_file"`    // its key
	ServerName         string `yaml:"server_name"` // default: the host of the address
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SyslogOutput is an RFC 5424 syslog destination.
type SyslogOutput struct {
	Network        string    `yaml:"network"`  // tcp (default), tls or udp
	Address        string    `yaml:"address"`  // host:port
	Facility       string    `yaml:"facility"` // default local0
	Hostname       string    `yaml:"hostname"` // default: the machine's host name
	AppName        string    `yaml:"app_name"` // default tapdlp
	DialTimeout    Duration  `yaml:"dial_timeout"`
	WriteTimeout   Duration  `yaml:"write_timeout"`    // also bounds waiting for TCP acknowledgement (default 10s)
	MaxMessageSize Size      `yaml:"max_message_size"` // udp only: larger records are dropped (default 64000)
	TLS            OutputTLS `yaml:"tls"`
}

// KafkaOutput is a Kafka producer.
type KafkaOutput struct {
	Brokers         []string          `yaml:"brokers"`
	Topics          map[string]string `yaml:"topics"`      // record type → topic, over the defaults tapdlp-flows/-alerts/-volume
	Acks            string            `yaml:"acks"`        // all (default; idempotent), leader, none
	Compression     string            `yaml:"compression"` // zstd (default), lz4, snappy, gzip, none
	ClientID        string            `yaml:"client_id"`
	DeliveryTimeout Duration          `yaml:"delivery_timeout"` // default 30s
	TLS             OutputTLS         `yaml:"tls"`
	SASL            KafkaSASL         `yaml:"sasl"`
}

// KafkaSASL authenticates to Kafka. The password is read from a file so
// it never sits in the main configuration.
type KafkaSASL struct {
	Mechanism    string `yaml:"mechanism"` // plain, scram-sha-256, scram-sha-512
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
}

// OutputQueue bounds a network sink's memory queue and disk spool.
type OutputQueue struct {
	MemoryRecords   int      `yaml:"memory_records"`   // default 65536
	MemorySize      Size     `yaml:"memory_size"`      // default 64MiB
	SpoolSize       Size     `yaml:"spool_size"`       // default 1GiB
	SegmentSize     Size     `yaml:"segment_size"`     // default 16MiB
	BatchRecords    int      `yaml:"batch_records"`    // default 512
	Backoff         Duration `yaml:"backoff"`          // first retry, default 100ms
	MaxBackoff      Duration `yaml:"max_backoff"`      // default 30s
	ShutdownTimeout Duration `yaml:"shutdown_timeout"` // delivery attempts at Close before spooling, default 5s
}
