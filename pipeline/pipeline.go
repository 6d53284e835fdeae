package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapdlp/tapdlp/appproto/demux"
	"github.com/tapdlp/tapdlp/appproto/tlsdecrypt"
	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/classify"
	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/destinations"
	"github.com/tapdlp/tapdlp/reassembly"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/pcaplog"
	"github.com/tapdlp/tapdlp/rules"
)

// Options are what the caller (the CLI) decides beyond the configuration.
type Options struct {
	Sink     record.Sink  // where records go (required)
	Log      *slog.Logger // nil: slog.Default()
	Progress io.Writer    // progress bar target (a terminal); nil: none
	// Latency, when set, receives sampled per-packet pipeline latencies.
	Latency LatencyObserver
	// Filter is a tcpdump-syntax expression; frames it rejects are counted
	// and skipped.
	Filter string
	// ExtraRules are rule files or directories loaded besides the
	// configuration's (`tapdlp rules test RULES …`).
	ExtraRules []string
	// KeyLogs are NSS key log files read whole before the replay
	// (`replay --keylog`); with them (or tls.keylog_files) TLS flows are
	// decrypted where keys are known.
	KeyLogs []string
	// ContinuationBytes bounds, over all workers, the scanner carry-overs
	// kept for connections that continue after an idle timeout (see
	// continuation.go); 0 means DefaultContinuationBytes, negative off.
	ContinuationBytes int
}

// Pipeline is one configured sensor run.
type Pipeline struct {
	cfg        *config.Config
	opts       Options
	log        *slog.Logger
	nworkers   int
	inFlight   int // batches per worker (batchesInFlight)
	stats      *Stats
	decStats   *capture.DecodeStats
	flowStats  *reassembly.Stats
	mem        *reassembly.Memory
	httpStats  *demux.HTTPStats
	demuxStats *demux.Stats
	parsers    *demux.ParserStats
	pending    *tlsdecrypt.PendingBudget // shared bound on ciphertext waiting for keys
	swap       swappable                 // rules and detectors, replaced by Reload
	dest       *destinations.Engine
	inspection inspection
	inspStats  *InspectionStats
	rejects    RejectStats
	tlsStats   TLSStats
	aiStats    AIStats
	contStats  ContinuationStats
	out        *writer
	// keys holds TLS secrets from key logs and pcapng Decryption Secrets
	// Blocks (always present: a replayed pcapng may bring keys of its own).
	keys           *tlsdecrypt.Store
	keysConfigured bool
	pcaps          atomic.Pointer[pcaplog.Log] // alert pcaps (alertpcap.go); nil when off or not started
}

// New builds a pipeline from a validated configuration.
func New(cfg *config.Config, opts Options) (*Pipeline, error) {
	if opts.Sink == nil {
		return nil, errors.New("pipeline: no sink")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	n := cfg.Workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &Pipeline{
		cfg:        cfg,
		opts:       opts,
		log:        opts.Log,
		nworkers:   n,
		inFlight:   batchesInFlight(runtime.GOMAXPROCS(0)),
		stats:      new(Stats),
		decStats:   new(capture.DecodeStats),
		flowStats:  new(reassembly.Stats),
		mem:        reassembly.NewMemory(int64(cfg.Reassembly.Memcap)),
		httpStats:  new(demux.HTTPStats),
		demuxStats: new(demux.Stats),
		parsers:    new(demux.ParserStats),
	}
	dest, err := destinations.NewEngine(DestinationsConfig(cfg))
	if err != nil {
		return nil, err
	}
	p.dest = dest
	cl, err := BuildClassifier(cfg)
	if err != nil {
		return nil, err
	}
	p.swap.classify.Store(cl)
	p.inspection = newInspection(cfg)
	p.inspStats = newInspectionStats(cl.Types())
	eng, err := BuildRules(cfg, opts.ExtraRules...)
	if err != nil {
		return nil, err
	}
	p.swap.rules.Store(eng)
	if err := p.loadKeys(); err != nil {
		return nil, err
	}
	return p, nil
}

// Classifier returns the content detection engine.
func (p *Pipeline) Classifier() *classify.Engine { return p.swap.classify.Load() }

// Destinations returns the destination naming and classification engine.
func (p *Pipeline) Destinations() *destinations.Engine { return p.dest }

// Rules returns the compiled policy engine.
func (p *Pipeline) Rules() *rules.Engine { return p.swap.rules.Load() }

// Stats returns the pipeline's counters.
func (p *Pipeline) Stats() *Stats { return p.stats }

// DecodeStats returns the decoder's counters.
func (p *Pipeline) DecodeStats() *capture.DecodeStats { return p.decStats }

// DemuxStats returns the protocol recognition counters.
func (p *Pipeline) DemuxStats() *demux.Stats { return p.demuxStats }

// ParserStats returns the HTTP/2, WebSocket, gRPC and SSE parsers' counters.
func (p *Pipeline) ParserStats() *demux.ParserStats { return p.parsers }

// FlowStats returns the flow table's counters.
func (p *Pipeline) FlowStats() *reassembly.Stats { return p.flowStats }

func (p *Pipeline) tableConfig() reassembly.Config {
	c := p.cfg
	maxFlows := c.Flows.MaxFlows / p.nworkers
	if maxFlows < 1 {
		maxFlows = 1
	}
	return reassembly.Config{
		MaxFlows:              maxFlows,
		Memcap:                int64(c.Flows.Memcap) / int64(p.nworkers),
		FlowCost:              sessionBytes,
		InspectDepth:          int(c.Reassembly.InspectDepth),
		FlowOOOCap:            int(c.Reassembly.FlowMemcap),
		TCPNewTimeout:         c.Flows.TCPHandshakeTimeout.D(),
		TCPEstablishedTimeout: c.Flows.TCPEstablishedTimeout.D(),
		TCPClosedLinger:       c.Flows.TCPClosedTimeout.D(),
		TCPCloseGrace:         closeGrace(c.Flows.TCPCloseGrace.D()),
		UDPTimeout:            c.Flows.UDPTimeout.D(),
		DNSTimeout:            c.Flows.DNSTimeout.D(),
		OtherTimeout:          c.Flows.OtherTimeout.D(),
		ActiveTimeout:         c.Flows.ActiveTimeout.D(),
		ExpireOnAdvance:       true, // expiry at the dispatcher's ticks only (doc.go)
	}
}

func (p *Pipeline) decoderConfig() capture.DecoderConfig {
	d := p.cfg.Decode
	csum, _ := capture.ParseChecksumMode(d.Checksums) // validated with the configuration
	return capture.DecoderConfig{
		Checksums:      csum,
		KeepFrames:     p.cfg.Alerts.PcapDir != "", // alert pcaps keep raw frames
		MaxTunnelDepth: d.TunnelDepth,
		VXLANPorts:     append([]uint16{}, d.VXLANPorts...),
		GENEVEPorts:    append([]uint16{}, d.GENEVEPorts...),
		Defrag: capture.DefragConfig{
			MaxBytes: int(d.DefragMemcap),
			Timeout:  d.DefragTimeout.D(),
		},
	}
}

// Summary is what a replay did.
type Summary struct {
	Packets      uint64
	Filtered     uint64 // frames the filter rejected
	WireBytes    uint64
	Flows        uint64
	Records      uint64
	DecodeErrors uint64
	// DefragDropped counts IP datagrams whose held fragments were thrown
	// away (evicted for room, timed out incomplete, too many fragments).
	DefragDropped uint64
	// SinkDropped counts records a sink refused or dropped; Replay fills
	// it with the records the sink's Write failed for, and a caller with
	// finer sink counters (cmd/tapdlp --outputs) may replace it after
	// closing the sink.
	SinkDropped uint64
	Elapsed     time.Duration
}

// String is the one-paragraph summary `replay` prints on stderr.
func (s Summary) String() string {
	secs := s.Elapsed.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	filtered := ""
	if s.Filtered > 0 {
		filtered = fmt.Sprintf(" (%d filtered out)", s.Filtered)
	}
	return fmt.Sprintf("packets %d%s, bytes %d, flows %d, records %d, decode errors %d, defrag drops %d, sink drops %d, elapsed %s, %.2f Mpps, %.2f Gbit/s",
		s.Packets, filtered, s.WireBytes, s.Flows, s.Records, s.DecodeErrors, s.DefragDropped, s.SinkDropped, s.Elapsed.Round(time.Millisecond),
		float64(s.Packets)/secs/1e6, float64(s.WireBytes)*8/secs/1e9)
}

// packetSource is what the dispatcher reads: a capture file or a ring.
type packetSource interface {
	Next() ([]byte, capture.Meta, error)
}

// Replay reads the files in order (path "-" is standard input) through the
// whole pipeline and writes every record, including flows still open at the
// end (state shutdown). It returns when every record has reached the sink.
func (p *Pipeline) Replay(ctx context.Context, paths []string) (Summary, error) {
	start := time.Now()
	var err error
	var total int64
	for _, path := range paths {
		if path == "-" {
			total = -1
			break
		}
		if sz := fileSize(path); sz >= 0 {
			total += sz
		} else {
			total = -1
			break
		}
	}
	if err := p.startAlertPcap(true); err != nil {
		return Summary{}, err
	}
	p.out = newWriter(p.opts.Sink, p.stats, p.log)
	workers, order, wg := p.startWorkers()
	d := newDispatcher(p, workers)
	if d.filter, err = newFrameFilter(p.opts.Filter); err != nil {
		d.close()
		wg.Wait()
		order.wait()
		p.closeAlertPcap(workers)
		p.out.close()
		return Summary{}, err
	}
	stopProgress := p.startProgress(d, total, start)
	for _, path := range paths {
		if err = ctx.Err(); err != nil {
			break
		}
		if err = p.replayFile(ctx, d, path); err != nil {
			break
		}
	}
	d.close()
	wg.Wait()
	order.wait()
	if perr := p.closeAlertPcap(workers); err == nil {
		err = perr
	}
	stopProgress()
	if cerr := p.out.close(); err == nil {
		err = cerr
	}
	if serr := p.saveState(); err == nil {
		err = serr
	}
	return p.summary(time.Since(start)), err
}

// startWorkers starts the workers and the ordered stage they feed.
func (p *Pipeline) startWorkers() ([]*worker, *orderStage, *sync.WaitGroup) {
	order := newOrderStage(p, p.nworkers)
	order.toWriter = true
	workers := make([]*worker, p.nworkers)
	wg := new(sync.WaitGroup)
	for i := range workers {
		w := newWorker(i, p)
		w.h.out, w.h.wid, w.h.direct, w.h.spare, w.h.refs = order.in, i, nil, order.spare[i], order.refs[i]
		w.h.credit = &order.credits[i]
		order.pcaps = append(order.pcaps, w.h.pcap)
		workers[i] = w
		wg.Go(w.run)
	}
	go order.run()
	return workers, order, wg
}

func (p *Pipeline) replayFile(ctx context.Context, d *dispatcher, path string) error {
	src, err := capture.OpenFile(path)
	if err != nil {
		return err
	}
	defer src.Close()
	src.OnSecret(p.addSecret)
	d.bytesBase = d.bytesDone.Load()
	return d.run(ctx, src, src.BytesRead)
}

func (p *Pipeline) summary(elapsed time.Duration) Summary {
	s := Summary{
		Packets:   p.stats.Packets.Load(),
		Filtered:  p.stats.Filtered.Load(),
		WireBytes: p.stats.WireBytes.Load(),
		Flows:     p.stats.Flows.Load(),
		Records:   p.stats.Records.Load(),
		Elapsed:   elapsed,

		SinkDropped: p.stats.RecordErrors.Load(),
	}
	f := &p.decStats.Defrag
	s.DefragDropped = f.Evicted.Load() + f.Timeouts.Load() + f.TooMany.Load()
	for _, r := range capture.DecodeErrors() {
		s.DecodeErrors += p.decStats.Result(r)
	}
	return s
}

// writeRecord encodes a record with the calling goroutine's encoder and
// queues it for the writer. Replay blocks when the writer is behind (it must
// be lossless); the writer counts failures.
func (p *Pipeline) writeRecord(enc *recordEncoder, v encodable) {
	b, slab := enc.encode(v)
	kind, key := v.Route()
	rec := record.Encoded{Kind: kind, Key: key, JSON: b}
	if r, ok := p.opts.Sink.(record.Renderer); ok {
		rec = r.Render(v, rec) // sensor identity, ECS and EVE sinks
	}
	p.out.ch <- queued{rec: rec, slab: slab}
	p.stats.Records.Add(1)
}

// writeFlow queues a flow record for the writer to encode, render and
// write, and then release: rec is a cloneFlow copy the caller gives up.
// The ordered stage is the one goroutine every record passes through, and
// at the end of a capture every open flow's record comes at once: encoding
// there ran after the workers' parallel shutdown flush, on one core, while
// the other idled (BENCHMARKS.md, par5). On the writer it runs beside the
// stage.
func (p *Pipeline) writeFlow(rec *record.Flow) {
	p.out.ch <- queued{flow: rec}
	p.stats.Records.Add(1)
}

// queued is a record waiting for the writer: encoded, with the slab its
// JSON was carved from (see recordEncoder), or a flow record for the writer
// to encode (writeFlow).
type queued struct {
	rec  record.Encoded
	slab *recordSlab
	flow *record.Flow
}

// writer drains encoded records into the sink on its own goroutine so a slow
// sink delays workers only when its queue is full.
type writer struct {
	ch     chan queued
	sink   record.Sink
	render record.Renderer // the sink's, if it renders (see writeRecord)
	enc    recordEncoder   // for the records queued unencoded (writeFlow)
	boxes  boxCache        // the records it releases (releaseFlow)
	stats  *Stats
	log    *slog.Logger
	done   chan struct{}
	err    atomic.Pointer[error]
}

func newWriter(sink record.Sink, stats *Stats, log *slog.Logger) *writer {
	w := &writer{ch: make(chan queued, 4096), sink: sink, stats: stats, log: log, done: make(chan struct{})}
	w.render, _ = sink.(record.Renderer)
	go w.run()
	return w
}

// encode encodes and renders a record queued by writeFlow, as writeRecord
// does on the producer's goroutine, then releases it.
func (w *writer) encode(f *record.Flow) (record.Encoded, *recordSlab) {
	b, slab := w.enc.encode(f)
	kind, key := f.Route()
	rec := record.Encoded{Kind: kind, Key: key, JSON: b}
	if w.render != nil {
		rec = w.render.Render(f, rec)
	}
	releaseFlow(&w.boxes, f)
	return rec, slab
}

func (w *writer) run() {
	defer close(w.done)
	for q := range w.ch {
		if q.flow != nil {
			q.rec, q.slab = w.encode(q.flow)
		}
		err := w.sink.Write(q.rec)
		q.slab.release() // Write does not retain the JSON
		if err != nil {
			if w.stats.RecordErrors.Add(1) == 1 {
				w.log.Error("sink write failed", "err", err)
				first := err // its own variable: storing &err moved err to the heap, an allocation per record
				w.err.Store(&first)
			}
		}
	}
}

// close waits for every queued record to be written and reports the first
// sink error, if any.
func (w *writer) close() error {
	close(w.ch)
	<-w.done
	if e := w.err.Load(); e != nil {
		return fmt.Errorf("writing records: %w", *e)
	}
	return nil
}

// closeGrace maps flows.tcp_close_grace to the table's: there 0 means the
// default, here "written at the close itself".
func closeGrace(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
