package sinks

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/siem"
)

// The option structs below use only types the config decoder understands
// (string, int, bool, slices, maps, config.Size, config.Duration), so they
// can be pasted into config.Config as the `outputs:` section. Zero values
// mean "default" or "off" as documented per field.

// The option types live in package config (so the main configuration can
// hold them); these aliases keep this package's names.
type (
	OutputsConfig = config.Outputs
	OutputConfig  = config.Output
	FileConfig    = config.FileOutput
	TLSConfig     = config.OutputTLS
	SyslogConfig  = config.SyslogOutput
	KafkaConfig   = config.KafkaOutput
	SASLConfig    = config.KafkaSASL
	QueueConfig   = config.OutputQueue
)

// buildEnv is what Build takes from the process; tests replace it.
type buildEnv struct {
	stdout   io.Writer
	now      func() time.Time
	hostname string
}

// Build validates cfg and opens every sink. Errors name the sink and key.
func Build(cfg OutputsConfig) (*Router, error) {
	host, _ := os.Hostname()
	return build(cfg, buildEnv{stdout: os.Stdout, now: time.Now, hostname: host})
}

// validName reports whether s is a sink name: 1 to 64 of [a-z0-9_-] (the
// regexp ^[a-z0-9_-]{1,64}$, which TestValidName keeps as the oracle:
// compiling it at package init cost every start-up about 0.3 ms).
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// Validate checks cfg without opening anything. It is a function, not a
// method, so the option types can become aliases of types in package config.
// The error is a config.Errors: each problem names its key and, when cfg
// came from a file, file:line.
func Validate(cfg *OutputsConfig) error {
	var errs config.Errors
	if len(cfg.Sinks) == 0 {
		errs = append(errs, cfg.ErrorAt("outputs.sinks", "at least one sink is required"))
	}
	names := map[string]bool{}
	paths := map[string]bool{}
	stdouts := 0
	for i := range cfg.Sinks {
		o := &cfg.Sinks[i]
		key := fmt.Sprintf("outputs.sinks[%d]", i)
		bad := func(field, format string, args ...any) {
			errs = append(errs, cfg.ErrorAt(key+"."+field, format, args...))
		}
		if !validName(o.Name) {
			bad("name", "%q must be 1..64 of [a-z0-9_-]", o.Name)
		} else if names[o.Name] {
			bad("name", "%q is used twice", o.Name)
		}
		names[o.Name] = true
		if _, ok := siem.ParseFormat(o.Format); !ok {
			bad("format", "%q is not one of %s", o.Format, strings.Join(siem.Formats, ", "))
		}
		for j, t := range o.Types {
			if !slices.Contains(RecordTypes, t) {
				bad("types", "%q is not one of %s", t, strings.Join(RecordTypes, ", "))
			} else if slices.Contains(o.Types[:j], t) {
				bad("types", "%q is listed twice", t)
			}
		}
		blocks := map[string]any{"file": o.File, "syslog": o.Syslog, "kafka": o.Kafka}
		for b, v := range blocks {
			if b != o.Type && !reflect.ValueOf(v).IsZero() {
				bad(b, "set, but the sink's type is %q", o.Type)
			}
		}
		if (o.Type == "stdout" || o.Type == "file") && !reflect.ValueOf(o.Queue).IsZero() {
			bad("queue", "only syslog and kafka sinks have a queue")
		}
		switch o.Type {
		case "stdout":
			if stdouts++; stdouts > 1 {
				bad("type", "only one stdout sink is allowed")
			}
		case "file":
			f := o.File
			if f.Path == "" {
				bad("file.path", "required")
			} else if abs, _ := filepath.Abs(f.Path); paths[abs] {
				bad("file.path", "%q is used by another file sink", f.Path)
			} else {
				paths[abs] = true
			}
			if f.Keep < 0 || f.MaxSize < 0 || f.MaxAge < 0 || f.FlushInterval < 0 {
				bad("file", "keep, max_size, max_age and flush_interval must not be negative")
			}
		case "syslog":
			s := o.Syslog
			switch s.Network {
			case "", "tcp", "tls", "udp":
			default:
				bad("syslog.network", "%q is not tcp, tls or udp", s.Network)
			}
			if _, port, err := net.SplitHostPort(s.Address); err != nil || port == "" {
				bad("syslog.address", "%q is not host:port", s.Address)
			}
			if _, ok := facilities[s.Facility]; s.Facility != "" && !ok {
				bad("syslog.facility", "%q is not a syslog facility (e.g. local0, daemon)", s.Facility)
			}
			if s.Network != "tls" && !reflect.ValueOf(s.TLS).IsZero() {
				bad("syslog.tls", "set, but network is %q (use network: tls)", s.Network)
			}
			if s.MaxMessageSize != 0 && (s.MaxMessageSize < 480 || s.MaxMessageSize > 65507) {
				bad("syslog.max_message_size", "%s is out of range 480..65507", s.MaxMessageSize)
			}
			if e := validateTLS(s.TLS); e != "" {
				bad("syslog.tls", "%s", e)
			}
		case "kafka":
			k := o.Kafka
			if len(k.Brokers) == 0 {
				bad("kafka.brokers", "at least one broker is required")
			}
			for _, b := range k.Brokers {
				if _, _, err := net.SplitHostPort(b); err != nil {
					bad("kafka.brokers", "%q is not host:port", b)
				}
			}
			for t, topic := range k.Topics {
				if !slices.Contains(RecordTypes, t) {
					bad("kafka.topics", "%q is not a record type", t)
				}
				if !validTopic(topic) {
					bad("kafka.topics."+t, "%q is not a valid topic name", topic)
				}
			}
			if k.DeliveryTimeout != 0 && k.DeliveryTimeout < config.Duration(time.Second) {
				bad("kafka.delivery_timeout", "%s is below the client's 1s minimum", k.DeliveryTimeout)
			}
			switch k.Acks {
			case "", "all", "leader", "none":
			default:
				bad("kafka.acks", "%q is not all, leader or none", k.Acks)
			}
			switch k.Compression {
			case "", "zstd", "lz4", "snappy", "gzip", "none":
			default:
				bad("kafka.compression", "%q is not zstd, lz4, snappy, gzip or none", k.Compression)
			}
			switch k.SASL.Mechanism {
			case "":
				if k.SASL != (SASLConfig{}) {
					bad("kafka.sasl.mechanism", "required when sasl is set")
				}
			case "plain", "scram-sha-256", "scram-sha-512":
				if k.SASL.Username == "" || k.SASL.PasswordFile == "" {
					bad("kafka.sasl", "username and password_file are required")
				}
			default:
				bad("kafka.sasl.mechanism", "%q is not plain, scram-sha-256 or scram-sha-512", k.SASL.Mechanism)
			}
			if e := validateTLS(k.TLS); e != "" {
				bad("kafka.tls", "%s", e)
			}
		default:
			bad("type", "%q is not stdout, file, syslog or kafka", o.Type)
		}
		if (o.Type == "syslog" || o.Type == "kafka") && cfg.StateDir == "" {
			bad("type", "%s sinks spool to disk: set outputs.state_dir", o.Type)
		}
		q := o.Queue
		if q.MemoryRecords < 0 || q.MemorySize < 0 || q.SpoolSize < 0 || q.SegmentSize < 0 || q.BatchRecords < 0 ||
			q.Backoff < 0 || q.MaxBackoff < 0 || q.ShutdownTimeout < 0 {
			bad("queue", "values must not be negative")
		}
	}
	return errs.Err()
}

// validateTLS returns what is wrong with t, or "".
func validateTLS(t TLSConfig) string {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return "cert_file and key_file go together"
	}
	return ""
}

func validTopic(s string) bool {
	if s == "" || len(s) > 249 || s == "." || s == ".." {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func loadTLS(t TLSConfig, address string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in, documented
	if c.ServerName == "" {
		if h, _, err := net.SplitHostPort(address); err == nil {
			c.ServerName = h
		}
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca_file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca_file %s: no PEM certificates", t.CAFile)
		}
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls cert_file/key_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func queueOpts(q QueueConfig, dir string) queueOptions {
	return queueOptions{
		MemRecords:      q.MemoryRecords,
		MemBytes:        int64(q.MemorySize),
		BatchRecords:    q.BatchRecords,
		Backoff:         q.Backoff.D(),
		MaxBackoff:      q.MaxBackoff.D(),
		ShutdownTimeout: q.ShutdownTimeout.D(),
		SpoolDir:        dir,
		SpoolBytes:      int64(q.SpoolSize),
		SegmentBytes:    int64(q.SegmentSize),
	}
}

func build(cfg OutputsConfig, env buildEnv) (*Router, error) {
	if err := Validate(&cfg); err != nil {
		return nil, err
	}
	r := NewRouter()
	fail := func(err error) (*Router, error) {
		_ = r.Close()
		return nil, err
	}
	for i := range cfg.Sinks {
		o := cfg.Sinks[i]
		types := o.Types
		if len(types) == 0 {
			types = RecordTypes
		}
		stats := new(Stats)
		spoolDir := filepath.Join(cfg.StateDir, "spool", o.Name)
		wrap := func(err error) error { return fmt.Errorf("outputs.sinks[%d] (%s): %w", i, o.Name, err) }
		switch o.Type {
		case "stdout":
			r.Add(o.Name, record.NewWriterSinkOptions(env.stdout, record.WriterOptions{FlushInterval: time.Second, Counted: stats.Count}), stats, types...)
		case "file":
			f, err := NewFileSink(FileOptions{
				Path: o.File.Path, MaxSize: int64(o.File.MaxSize), MaxAge: o.File.MaxAge.D(), Keep: o.File.Keep,
				Compress: o.File.Compress, FlushInterval: o.File.FlushInterval.D(), Now: env.now, Stats: stats,
			})
			if err != nil {
				return fail(wrap(err))
			}
			r.Add(o.Name, f, stats, types...)
		case "syslog":
			s := o.Syslog
			opt := syslogOptions{
				Network: s.Network, Address: s.Address, Facility: facilities[s.Facility],
				Hostname: s.Hostname, AppName: s.AppName, ProcID: strconv.Itoa(os.Getpid()),
				DialTimeout: s.DialTimeout.D(), WriteTimeout: s.WriteTimeout.D(), Now: env.now, Stats: stats,
			}
			if opt.Network == "" {
				opt.Network = "tcp"
			}
			if s.Facility == "" {
				opt.Facility = 16
			}
			if opt.Hostname == "" {
				opt.Hostname = env.hostname
			}
			if opt.Network == "tls" {
				tc, err := loadTLS(s.TLS, s.Address)
				if err != nil {
					return fail(wrap(err))
				}
				opt.TLS = tc
			}
			qo := queueOpts(o.Queue, spoolDir)
			if opt.Network == "udp" {
				// A record must fit in one datagram with its header (the
				// longest MSGID is 32 bytes).
				hdr := len(formatSyslog(nil, opt.Facility, time.Time{}, opt.Hostname, cmpStr(opt.AppName, "tapdlp"), opt.ProcID, 0, 0, nil)) + 32
				qo.MaxRecord = int(cmp0(s.MaxMessageSize, 64000)) - hdr
				if qo.MaxRecord < 64 {
					return fail(wrap(fmt.Errorf("syslog.max_message_size %s leaves no room after the %d-byte header", s.MaxMessageSize, hdr)))
				}
			}
			d, err := newDurable(o.Name, newSyslogTransport(opt), qo, stats)
			if err != nil {
				return fail(wrap(err))
			}
			r.Add(o.Name, d, stats, types...)
		case "kafka":
			k := o.Kafka
			topics := map[string]string{}
			for t, v := range DefaultTopics {
				topics[t] = v
			}
			for t, v := range k.Topics {
				topics[t] = v
			}
			opt := kafkaOptions{
				Brokers: k.Brokers, Topics: topics, Acks: k.Acks, Compression: k.Compression,
				ClientID: k.ClientID, DeliveryTimeout: k.DeliveryTimeout.D(), Stats: stats,
				SASLMechanism: k.SASL.Mechanism, SASLUser: k.SASL.Username,
			}
			if k.TLS.Enabled || !reflect.ValueOf(k.TLS).IsZero() {
				tc, err := loadTLS(k.TLS, k.Brokers[0])
				if err != nil {
					return fail(wrap(err))
				}
				if k.TLS.ServerName == "" {
					tc.ServerName = "" // one client talks to many brokers: verify each by its own name
				}
				opt.TLS = tc
			}
			if k.SASL.PasswordFile != "" {
				pw, err := os.ReadFile(k.SASL.PasswordFile)
				if err != nil {
					return fail(wrap(fmt.Errorf("kafka sasl password_file: %w", err)))
				}
				opt.SASLPassword = strings.TrimRight(string(pw), "\r\n")
			}
			t, err := newKafkaTransport(opt)
			if err != nil {
				return fail(wrap(err))
			}
			d, err := newDurable(o.Name, t, queueOpts(o.Queue, spoolDir), stats)
			if err != nil {
				_ = t.close()
				return fail(wrap(err))
			}
			r.Add(o.Name, d, stats, types...)
		}
		f, _ := siem.ParseFormat(o.Format) // validated
		r.SetFormat(o.Name, f)
	}
	return r, nil
}

func cmp0(v config.Size, def int64) int64 {
	if v == 0 {
		return def
	}
	return int64(v)
}

func cmpStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
