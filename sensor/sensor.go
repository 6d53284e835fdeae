package sensor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tapdlp/tapdlp/capture"
	"github.com/tapdlp/tapdlp/capture/live"
	"github.com/tapdlp/tapdlp/config"
	"github.com/tapdlp/tapdlp/destinations"
	"github.com/tapdlp/tapdlp/internal/hugeheap"
	"github.com/tapdlp/tapdlp/metrics"
	"github.com/tapdlp/tapdlp/pipeline"
	"github.com/tapdlp/tapdlp/record"
	"github.com/tapdlp/tapdlp/record/sinks"
)

// Config is one run: the loaded configuration, with the command line's
// overrides already applied to it, and what only the command line says.
type Config struct {
	*config.Config
	// Path is the configuration file, re-read on SIGHUP ("" for the
	// embedded defaults).
	Path string
	// Files are the captures to replay; none means capture live from
	// Capture.Interfaces (`tapdlp run`).
	Files []string
	// Output, when set, is a file ("-": stdout) that receives every record
	// instead of the configured outputs. A replay without Output or
	// UseOutputs writes to stdout.
	Output string
	// UseOutputs makes a replay write to the configured outputs.
	UseOutputs bool
	// Report also renders a replay's records as an HTML report to this file.
	Report string
	// KeyLogs are NSS key log files a replay reads whole (`--keylog`,
	// besides tls.keylog_files); their content is never echoed.
	KeyLogs []string
	// Filter is a tcpdump-syntax expression for a replay (live capture
	// filters in the kernel: Capture.BPFFilter).
	Filter string
	// Discard drops a replay's records (unless Output is set).
	Discard bool
	// ExtraRules are rule files or directories loaded besides the
	// configuration's; RulesTable, when set, receives after a replay how
	// often each rule fired (`tapdlp rules test`).
	ExtraRules []string
	RulesTable io.Writer
	// Quiet suppresses a replay's summary and progress lines.
	Quiet bool
	// CPUProfile and MemProfile are pprof files written by a replay;
	// ExecTrace is its Go execution trace (go tool trace).
	CPUProfile, MemProfile, ExecTrace string
	// Stdout receives records written to "-"; Stderr logs, status lines and
	// the summary. nil: the process's.
	Stdout, Stderr io.Writer
	// Hangup delivers reload requests; nil: SIGHUP.
	Hangup <-chan os.Signal
	// Build names the binary in tapdlp_build_info.
	Build BuildInfo
}

// Sensor is an assembled run. Build it with New and start it with Run.
type Sensor struct {
	cfg Config
	log *slog.Logger
	// started is the configuration file as it was at start-up, without
	// the command line's overrides: what a reload is compared with to
	// report settings that need a restart. nil: cfg.Config.
	started *config.Config
	reloads *reloadStats
}

// New prepares a run; nothing is opened before Run.
func New(cfg Config) *Sensor {
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	return &Sensor{cfg: cfg, log: cfg.Logger(cfg.Stderr), reloads: newReloadStats()}
}

// Run builds every component, runs until ctx is done (live) or the files
// are read (replay), then closes the sinks and prints the summary.
func (s *Sensor) Run(ctx context.Context) error {
	s.adviseHugePages()
	if len(s.cfg.Files) > 0 {
		return s.replay(ctx)
	}
	return s.live(ctx)
}

// adviseHugePages asks for huge pages under the heap before anything big is
// allocated (see internal/hugeheap). Without them the sensor is slower, not
// wrong, so a failure is logged and the run goes on.
func (s *Sensor) adviseHugePages() {
	if s.cfg.Config == nil {
		return
	}
	r, err := hugeheap.Advise(int64(s.cfg.Config.HeapHugePages))
	if errors.Is(err, hugeheap.ErrAgain) {
		// A second run in one process (tests, embedding): the first one
		// decided for the process.
		s.log.Debug("heap_huge_pages", "skipped", err)
		return
	}
	if err != nil {
		s.log.Warn("heap_huge_pages: not advised", "error", err)
		return
	}
	s.log.Debug("heap_huge_pages", "thp", r.Mode, "advised_bytes", r.Advised)
}

// Check builds, without opening anything, what a run would build from cfg
// beyond the configuration's own checks: the outputs, the destinations
// (catalog, range and IOC files read and parsed), the rules, the detectors
// (and the HMAC key file), the capture settings and kernel filter, and the
// metrics listen address — so a failing `tapdlp config check` in a
// systemd ExecStartPre means run would fail too. Its errors name file:line
// where the cause has one; every problem found is reported, not only the
// first.
func Check(cfg *config.Config) error {
	var errs []error
	if err := sinks.Validate(&cfg.Outputs); err != nil {
		errs = append(errs, err)
	}
	dc := pipeline.DestinationsConfig(cfg)
	dc.FirstSeen.StatePath = "" // read at start-up, never needed to check
	if _, err := destinations.NewEngine(dc); err != nil {
		errs = append(errs, fmt.Errorf("%s: destinations: %w", cfg.File, err))
	}
	if _, err := pipeline.BuildRules(cfg); err != nil {
		errs = append(errs, err)
	}
	if _, err := pipeline.BuildClassifier(cfg); err != nil {
		errs = append(errs, err)
	}
	if f := cfg.Capture.BPFFilter; f != "" {
		if err := live.CompileFilter(f, capture.LinkEthernet); err != nil {
			errs = append(errs, fmt.Errorf("%s: capture.bpf_filter: %w", cfg.Where("capture.bpf_filter"), err))
		}
	}
	if _, err := live.ParseFanoutMode(cfg.Capture.Fanout); err != nil {
		errs = append(errs, fmt.Errorf("%s: capture.fanout: %w", cfg.Where("capture.fanout"), err))
	}
	if u := cfg.Capture.User; u != "" {
		if _, err := user.Lookup(u); err != nil {
			if _, nerr := strconv.Atoi(u); nerr != nil {
				errs = append(errs, fmt.Errorf("%s: capture.user: %w", cfg.Where("capture.user"), err))
			}
		}
	}
	if d := cfg.Alerts.PcapDir; d != "" {
		if err := checkPcapDir(d); err != nil {
			errs = append(errs, fmt.Errorf("%s: alerts.pcap_dir: %w", cfg.Where("alerts.pcap_dir"), err))
		}
	}
	if l := cfg.Metrics.Listen; l != "" {
		if err := checkListen(l); err != nil {
			errs = append(errs, fmt.Errorf("%s: metrics.listen: %w", cfg.Where("metrics.listen"), err))
		}
	}
	return errors.Join(errs...)
}

// checkPcapDir checks that the alert pcap directory is a directory, or can
// be created (its nearest existing ancestor is one), without creating it.
func checkPcapDir(dir string) error {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%q is not a directory", d)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if p := filepath.Dir(d); p == d {
			return err
		}
	}
}

// checkListen parses a listen address the way net.Listen("tcp") will.
func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		if _, err := net.LookupPort("tcp", port); err != nil {
			return fmt.Errorf("%q: port %q is not a number 0..65535", addr, port)
		}
	}
	if host != "" && net.ParseIP(strings.Trim(host, "[]")) == nil {
		if strings.ContainsAny(host, " /") {
			return fmt.Errorf("%q: %q is not a host name or address", addr, host)
		}
	}
	return nil
}

// CaptureConfig builds the live capture settings from the configuration:
// the one place where capture.* becomes a live.Config.
func CaptureConfig(cfg *config.Config) (live.Config, error) {
	cc := cfg.Capture
	lc := live.Config{
		Interfaces: cc.Interfaces, Sockets: cc.SocketsPerInterface, FanoutGroup: cc.FanoutGroup,
		NoDefrag: !cc.Defrag, RingSize: int(cc.RingSize), BlockSize: int(cc.BlockSize),
		FrameSize: int(cc.FrameSize), BlockTimeout: cc.BlockTimeout.D(), Snaplen: cc.Snaplen,
		NoPromiscuous: !cc.Promiscuous, Filter: cc.BPFFilter, User: cc.User,
	}
	var err error
	if lc.Fanout, err = live.ParseFanoutMode(cc.Fanout); err != nil {
		return lc, fmt.Errorf("%s: capture.fanout: %w", cfg.Where("capture.fanout"), err)
	}
	if len(lc.Interfaces) == 0 {
		return lc, errors.New("no interface (-i, or capture.interfaces in the configuration)")
	}
	if lc.FanoutGroup == 0 {
		return lc, errors.New("capture.fanout_group 0: want 1..65535")
	}
	if lc.Sockets == 0 {
		lc.Sockets = cfg.Workers
		if lc.Sockets <= 0 {
			lc.Sockets = runtime.GOMAXPROCS(0)
		}
	}
	return lc, lc.Validate()
}

func (s *Sensor) live(ctx context.Context) error {
	lc, err := CaptureConfig(s.cfg.Config)
	if err != nil {
		return err
	}
	// The sinks first: files and spools are opened with the start-up
	// privileges, before they are dropped.
	sink, router, err := s.openSinks()
	if err != nil {
		return err
	}
	c, err := live.Open(lc)
	if err != nil {
		return errors.Join(err, sink.Close())
	}
	defer c.Close()
	if err := dropPrivileges(lc.User, os.Geteuid(), live.DropPrivileges, s.log); err != nil {
		return errors.Join(err, sink.Close())
	}

	// The registry before the pipeline, which feeds its latency histogram;
	// the stages' counters are added once the pipeline exists.
	var reg *metrics.Registry
	opts := pipeline.Options{Sink: sink, Log: s.log}
	if s.cfg.Metrics.Listen != "" {
		reg = metrics.New()
		opts.Latency = reg.Latency()
	}
	p, err := pipeline.New(s.cfg.Config, opts)
	if err != nil {
		return errors.Join(err, sink.Close())
	}
	lopts := pipeline.LiveOptions{StatusEvery: s.cfg.Capture.StatusInterval.D(), Counters: new(pipeline.LiveStats)}
	if lopts.StatusEvery > 0 {
		lopts.Status = &statusLog{log: s.log} // log.format applies to it too
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if reg != nil {
		src := pipelineSources(p)
		src.kernel, src.live, src.router, src.sinks = c.Stats, readLive(lopts.Counters), router, sinkNames(s.cfg.Outputs)
		src.build, src.reloads = &s.cfg.Build, s.reloads
		if err := src.register(reg); err != nil {
			return errors.Join(err, sink.Close())
		}
		ready := readiness(c.Stats, router, sinkNames(s.cfg.Outputs))
		go func() {
			if err := metrics.Serve(ctx, s.cfg.Metrics.Listen, reg.Handler(ready)); err != nil {
				s.log.Error("metrics endpoint", "err", err)
			}
		}()
	}
	hup := s.cfg.Hangup
	if hup == nil {
		// Registered before the capture starts: an early SIGHUP must
		// reload, not terminate the process.
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGHUP)
		defer signal.Stop(ch)
		hup = ch
	}
	if started, err := config.Load(s.cfg.Path); err == nil {
		s.started = started
	}
	go s.reloadOnHangup(ctx, hup, p, router)
	if router != nil {
		go newSinkWatch(router.Stats, sinkNames(s.cfg.Outputs), s.log, sinkLogGap).run(ctx, time.Second)
	}

	s.log.Info("capturing", "interfaces", strings.Join(lc.Interfaces, ","), "sockets_per_interface", lc.Sockets,
		"fanout", lc.Fanout.String(), "fanout_group", lc.FanoutGroup, "filter", lc.Filter, "metrics", s.cfg.Metrics.Listen)
	s.followKeyLogs(ctx, p)
	sum, err := p.RunLive(ctx, c, lopts)
	err = errors.Join(err, sink.Close())
	s.log.Info("capture stopped", "summary", sum.String())
	return err
}

// sinkLogGap is the shortest time between two state lines of one sink.
const sinkLogGap = 30 * time.Second

// openSinks opens where records go: Output when set, else the configured
// outputs (whose router is returned for metrics, readiness and reopening).
func (s *Sensor) openSinks() (record.Sink, *sinks.Router, error) {
	if s.cfg.Output != "" {
		sink, err := openSink(s.cfg.Output, s.cfg.Stdout)
		return sink, nil, err
	}
	router, err := sinks.Build(s.cfg.Outputs)
	if err != nil {
		return nil, nil, err
	}
	router.SetSensor(s.identity())
	return router, router, nil
}

// identity is the sensor identity the router adds to records: always in
// live capture, and in a replay only when sensor.name is configured, so
// replayed records stay the same on every machine by default.
func (s *Sensor) identity() record.Sensor {
	live := len(s.cfg.Files) == 0
	if !live && s.cfg.Sensor.Name == "" {
		return record.Sensor{}
	}
	id := record.Sensor{Name: s.cfg.Sensor.Name}
	id.Host, _ = os.Hostname()
	if live {
		id.Interface = strings.Join(s.cfg.Capture.Interfaces, ",")
	} else if len(s.cfg.Files) == 1 {
		id.Interface = filepath.Base(s.cfg.Files[0])
	}
	return id
}

// openSink returns the writer sink on stdout for "" and "-", else the file
// sink for path: a regular file is truncated, a device or pipe written
// straight into.
func openSink(path string, stdout io.Writer) (record.Sink, error) {
	if path == "" || path == "-" {
		return record.NewWriterSink(stdout), nil
	}
	return sinks.NewFileSink(sinks.FileOptions{Path: path, Truncate: true})
}

// reloadOnHangup re-reads the configuration on every hangup and applies
// what can change while packets flow (catalog, IOC lists, rules, detectors
// and their counters), and reopens file outputs for an external logrotate.
// A bad file keeps the old configuration and logs why, with file:line.
func (s *Sensor) reloadOnHangup(ctx context.Context, hup <-chan os.Signal, p *pipeline.Pipeline, router *sinks.Router) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		err := s.reload(p, router)
		s.reloads.record(err, time.Now())
		if err != nil {
			s.log.Error("SIGHUP: configuration not reloaded; the previous one stays in force", "err", err)
		}
	}
}

// reload is one hangup's work.
func (s *Sensor) reload(p *pipeline.Pipeline, router *sinks.Router) error {
	if router != nil {
		if err := router.Reopen(); err != nil {
			s.log.Error("SIGHUP: reopening outputs", "err", err)
		}
	}
	cfg, err := config.Load(s.cfg.Path)
	if err != nil {
		return err
	}
	if err := p.Reload(cfg); err != nil {
		return err
	}
	s.log.Info("SIGHUP: configuration reloaded", "file", cfg.File)
	started := s.started
	if started == nil {
		started = s.cfg.Config
	}
	for _, key := range needRestart(started, cfg) {
		s.log.Warn("SIGHUP: changed setting needs a restart to apply; the running value stays", "key", key)
	}
	return nil
}

// needRestart lists the settings that differ between the running
// configuration and a reloaded one but are only read at start-up: the
// metrics listener, the capture sockets and their filter, the workers, the
// heap's huge pages, the outputs and the alert pcaps.
func needRestart(old, cur *config.Config) []string {
	var keys []string
	diff := func(key string, changed bool) {
		if changed {
			keys = append(keys, key)
		}
	}
	diff("metrics.listen", old.Metrics.Listen != cur.Metrics.Listen)
	diff("capture.interfaces", !slices.Equal(old.Capture.Interfaces, cur.Capture.Interfaces))
	diff("capture.bpf_filter", old.Capture.BPFFilter != cur.Capture.BPFFilter)
	diff("capture.user", old.Capture.User != cur.Capture.User)
	diff("workers", old.Workers != cur.Workers)
	diff("heap_huge_pages", old.HeapHugePages != cur.HeapHugePages)
	diff("outputs", !reflect.DeepEqual(old.Outputs.Sinks, cur.Outputs.Sinks))
	diff("log", old.Log != cur.Log)
	diff("alerts.pcap_*", alertPcaps(old) != alertPcaps(cur))
	return keys
}

// alertPcaps is the alert pcap settings (read when a run starts).
func alertPcaps(c *config.Config) [7]any {
	a := &c.Alerts
	return [7]any{a.PcapDir, a.PcapFlowBytes, a.PcapAfterBytes, a.PcapMemory, a.PcapFileSize, a.PcapMaxFiles, a.PcapMaxBytes}
}
