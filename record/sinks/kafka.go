package sinks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// ErrKafka wraps every Kafka transport error.
var ErrKafka = errors.New("kafka")

// DefaultTopics is where each record type goes unless configured.
var DefaultTopics = map[string]string{
	"flow":   "tapdlp-flows",
	"alert":  "tapdlp-alerts",
	"volume": "tapdlp-volume",
}

// kafkaOptions configure the producer. Zero values mean the defaults.
type kafkaOptions struct {
	Brokers         []string
	Topics          map[string]string // record type → topic
	Acks            string            // all (default, idempotent), leader, none
	Compression     string            // zstd (default), lz4, snappy, gzip, none
	ClientID        string            // default tapdlp
	DeliveryTimeout time.Duration     // a send fails after this (default 30s); the batch is retried from the spool
	TLS             *tls.Config       // nil: plaintext
	SASLMechanism   string            // "", plain, scram-sha-256, scram-sha-512
	SASLUser        string
	SASLPassword    string
	Stats           *Stats
}

type kafkaTransport struct {
	opt  kafkaOptions
	cl   *kgo.Client
	recs []*kgo.Record
	pool []kgo.Record
}

func newKafkaTransport(opt kafkaOptions) (*kafkaTransport, error) {
	if len(opt.Brokers) == 0 {
		return nil, fmt.Errorf("%w: no brokers", ErrKafka)
	}
	if opt.Topics == nil {
		opt.Topics = DefaultTopics
	}
	if opt.ClientID == "" {
		opt.ClientID = "tapdlp"
	}
	if opt.DeliveryTimeout <= 0 {
		opt.DeliveryTimeout = 30 * time.Second
	}
	if opt.Stats == nil {
		opt.Stats = new(Stats)
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(opt.Brokers...),
		kgo.ClientID(opt.ClientID),
		kgo.RecordDeliveryTimeout(opt.DeliveryTimeout),
	}
	switch opt.Acks {
	case "", "all":
		kopts = append(kopts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "leader":
		kopts = append(kopts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "none":
		kopts = append(kopts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("%w: acks %q is not all, leader or none", ErrKafka, opt.Acks)
	}
	switch opt.Compression {
	case "", "zstd":
		kopts = append(kopts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	case "lz4":
		kopts = append(kopts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "snappy":
		kopts = append(kopts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	case "gzip":
		kopts = append(kopts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "none":
		kopts = append(kopts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	default:
		return nil, fmt.Errorf("%w: compression %q is not zstd, lz4, snappy, gzip or none", ErrKafka, opt.Compression)
	}
	if opt.TLS != nil {
		kopts = append(kopts, kgo.DialTLSConfig(opt.TLS))
	}
	var mech sasl.Mechanism
	switch opt.SASLMechanism {
	case "":
	case "plain":
		mech = plain.Auth{User: opt.SASLUser, Pass: opt.SASLPassword}.AsMechanism()
	case "scram-sha-256":
		mech = scram.Auth{User: opt.SASLUser, Pass: opt.SASLPassword}.AsSha256Mechanism()
	case "scram-sha-512":
		mech = scram.Auth{User: opt.SASLUser, Pass: opt.SASLPassword}.AsSha512Mechanism()
	default:
		return nil, fmt.Errorf("%w: sasl mechanism %q is not plain, scram-sha-256 or scram-sha-512", ErrKafka, opt.SASLMechanism)
	}
	if mech != nil {
		kopts = append(kopts, kgo.SASL(mech))
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKafka, err)
	}
	return &kafkaTransport{opt: opt, cl: cl}, nil
}

// send produces recs and waits for every acknowledgement. The key is the
// record's community_id, so all records of a flow land in one partition
// and keep their order there. Records of a type with no topic are counted
// as dropped (the router only sends configured types, so this is a guard).
func (t *kafkaTransport) send(ctx context.Context, recs [][]byte) (int, error) {
	if cap(t.pool) < len(recs) {
		t.pool = make([]kgo.Record, len(recs))
	}
	t.pool = t.pool[:len(recs)]
	t.recs = t.recs[:0]
	idx := make([]int, 0, len(recs)) // position in recs of each produced record
	for i, r := range recs {
		kind, key, js := unframe(r)
		topic, ok := t.opt.Topics[kindName(kind)]
		if !ok {
			t.opt.Stats.Drop(DropUnrouted, 1)
			continue
		}
		if len(key) == 0 {
			key = nil
		}
		t.pool[i] = kgo.Record{Topic: topic, Key: key, Value: js}
		t.recs = append(t.recs, &t.pool[i])
		idx = append(idx, i)
	}
	if len(t.recs) == 0 {
		return len(recs), nil
	}
	res := t.cl.ProduceSync(ctx, t.recs...)
	for j, r := range res {
		if r.Err != nil {
			// Everything before the first failure is acknowledged; the
			// rest is retried (records of other partitions that did get in
			// may then be written twice: at-least-once).
			return idx[j], fmt.Errorf("%w: produce to %s: %w", ErrKafka, r.Record.Topic, r.Err)
		}
	}
	return len(recs), nil
}

func (t *kafkaTransport) close() error {
	t.cl.Close()
	return nil
}
