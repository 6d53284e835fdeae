package sinks

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tapdlp/tapdlp/config"
)

func kafkaRec(typ string, i int) []byte {
	return fmt.Appendf(nil, `{"type":%q,"ts":"2026-11-22T15:04:05.000000Z","sensitive":[{"type":"email"}],"community_id":"1:cid%d+/=","n":%d}`, typ, i%7, i)
}

// consume reads n records from the topics of a kfake cluster.
func consume(t *testing.T, addrs []string, n int, topics ...string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d records, want %d", len(out), n)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	// Anything more would be a duplicate.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	cl.PollFetches(ctx2).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	return out
}

func kafkaOutput(addrs []string, q QueueConfig) OutputConfig {
	return OutputConfig{Name: "bus", Type: "kafka", Queue: q,
		Kafka: KafkaConfig{Brokers: addrs, Topics: map[string]string{"alert": "dlp-alerts"},
			DeliveryTimeout: config.Duration(time.Second)}}
}

// checkPerKeyOrder asserts each community_id's records arrived in the
// order written, exactly once, on the topic of their type.
func checkPerKeyOrder(t *testing.T, got []*kgo.Record, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("consumed %d records, want %d", len(got), n)
	}
	last := map[string]int{}
	seen := map[int]bool{}
	for _, r := range got {
		e := enc(r.Value)
		typ := e.Kind.String()
		_, num, _ := strings.Cut(string(r.Value), `"n":`)
		i, err := strconv.Atoi(strings.TrimSuffix(num, "}"))
		if err != nil {
			t.Fatalf("bad record %q", r.Value)
		}
		if seen[i] {
			t.Fatalf("record %d delivered twice", i)
		}
		seen[i] = true
		if cid := e.Key; string(r.Key) != cid {
			t.Fatalf("key %q, want community_id %q", r.Key, cid)
		}
		wantTopic := map[string]string{"flow": "tapdlp-flows", "alert": "dlp-alerts"}[typ]
		if r.Topic != wantTopic {
			t.Fatalf("%s record on topic %s, want %s", typ, r.Topic, wantTopic)
		}
		if p, ok := last[string(r.Key)+r.Topic]; ok && i <= p {
			t.Fatalf("key %s: record %d after %d (reordered)", r.Key, i, p)
		}
		last[string(r.Key)+r.Topic] = i
	}
}

func TestKafkaEndToEnd(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "tapdlp-flows", "dlp-alerts", "tapdlp-volume"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Observe produce requests: acks=all, idempotent (a producer id on
	// every batch), zstd (the client sends a batch uncompressed when zstd
	// would not shrink it, so at least one, not all).
	var produces, badReq, zstdBatches atomic.Int64
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		produces.Add(1)
		for _, tp := range pr.Topics {
			for _, p := range tp.Partitions {
				b := p.Records
				const attrOff, pidOff = 21, 43
				if pr.Acks != -1 || len(b) < pidOff+8 || int64(binary.BigEndian.Uint64(b[pidOff:])) < 0 {
					badReq.Add(1)
					continue
				}
				if binary.BigEndian.Uint16(b[attrOff:])&7 == 4 {
					zstdBatches.Add(1)
				}
			}
		}
		return nil, nil, false
	})
	r, err := build(OutputsConfig{StateDir: t.TempDir(), Sinks: []OutputConfig{kafkaOutput(c.ListenAddrs(), QueueConfig{})}}, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		typ := "flow"
		if i%5 == 0 {
			typ = "alert"
		}
		if err := r.Write(enc(kafkaRec(typ, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	got := consume(t, c.ListenAddrs(), n, "tapdlp-flows", "dlp-alerts")
	checkPerKeyOrder(t, got, n)
	if produces.Load() == 0 || badReq.Load() != 0 || zstdBatches.Load() == 0 {
		t.Fatalf("%d produce requests, %d not acks=all/idempotent, %d zstd batches", produces.Load(), badReq.Load(), zstdBatches.Load())
	}
	if s := r.Stats("bus"); s.Written.Load() != n {
		t.Fatalf("written %d", s.Written.Load())
	}
}

// TestKafkaOutageExactlyOnce takes the cluster down (every request closes
// the connection) in the middle of a stream and brings it back.
func TestKafkaOutageExactlyOnce(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "tapdlp-flows", "dlp-alerts", "tapdlp-volume"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var down atomic.Bool
	c.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if down.Load() {
			return nil, errors.New("broker down"), true
		}
		return nil, nil, false
	})
	// The producer retries inside a send until its delivery timeout, so the
	// spool is reached by the half-full threshold: 1500 records written
	// during the outage pass half of 2048 and never reach the cap.
	q := smallQueue
	q.MemoryRecords = 2048
	r, err := build(OutputsConfig{StateDir: t.TempDir(), Sinks: []OutputConfig{kafkaOutput(c.ListenAddrs(), q)}}, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	s := r.Stats("bus")
	var mu sync.Mutex
	write := func(from, to int) {
		mu.Lock()
		defer mu.Unlock()
		for i := from; i < to; i++ {
			if err := r.Write(enc(kafkaRec("flow", i))); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
			if i%50 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	write(0, 500)
	for deadline := time.Now().Add(10 * time.Second); s.Written.Load() < 500 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	down.Store(true)
	write(500, 2000)
	// Past the delivery timeout sends fail and memory spills.
	if !eventually(10*time.Second, func() bool { return s.Spooled.Load() > 0 }) {
		t.Fatal("nothing spooled during the outage")
	}
	down.Store(false)
	write(2000, 2500)
	for deadline := time.Now().Add(20 * time.Second); s.Written.Load() < 2500 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	got := consume(t, c.ListenAddrs(), 2500, "tapdlp-flows")
	checkPerKeyOrder(t, got, 2500)
}

// TestKafkaTLSAndSASL goes through Build with the options a real cluster
// needs: TLS with a private CA and SCRAM-SHA-512 with a password file.
func TestKafkaTLSAndSASL(t *testing.T) {
	srvTLS, caFile := selfSigned(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "tapdlp-flows"),
		kfake.TLS(srvTLS), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "tapdlp", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		password string
		wantOK   bool
	}{
		{"right password", pwFile, true},
		{"wrong password", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pf := tt.password
			if pf == "" {
				pf = filepath.Join(t.TempDir(), "bad")
				_ = os.WriteFile(pf, []byte("nope"), 0o600)
			}
			o := OutputConfig{Name: "bus", Type: "kafka", Types: []string{"flow"},
				Queue: QueueConfig{ShutdownTimeout: config.Duration(1500 * time.Millisecond)},
				Kafka: KafkaConfig{Brokers: c.ListenAddrs(), DeliveryTimeout: config.Duration(time.Second),
					TLS:  TLSConfig{Enabled: true, CAFile: caFile},
					SASL: SASLConfig{Mechanism: "scram-sha-512", Username: "tapdlp", PasswordFile: pf}}}
			r, err := build(OutputsConfig{StateDir: t.TempDir(), Sinks: []OutputConfig{o}}, testEnv())
			if err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				_ = r.Write(enc(kafkaRec("flow", i)))
			}
			_ = r.Close()
			s := r.Stats("bus")
			if ok := s.Written.Load() == 20; ok != tt.wantOK {
				t.Fatalf("written %d spooled %d; want success %v", s.Written.Load(), s.Spooled.Load(), tt.wantOK)
			}
			if !tt.wantOK && s.Spooled.Load() != 20 {
				t.Fatalf("spooled %d, want all 20 kept for later", s.Spooled.Load())
			}
		})
	}
}
