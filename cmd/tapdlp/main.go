// Command tapdlp is the sensor's command line: replay captures, run on live
// interfaces, scan files for sensitive data, explain destination lookups and
// check configuration. It parses flags and subcommands only: `run` and
// `replay` fill a sensor.Config and call sensor.New(cfg).Run(ctx), which
// builds and wires the components; the logic lives in the packages it calls.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/tapdlp/tapdlp/sensor"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands is every subcommand, in the order usage lists them. A table, not
// init-time registration: what the binary can do is read in one place.
var commands = []command{
	{"completion", "`completion bash|zsh` prints a shell completion script",
		func(args []string, stdout, stderr io.Writer) int { return completion(args, stdout, stderr) }},
	{"config", "`config check FILE` validates a file; `config default` prints the embedded default", runConfig},
	{"lookup", "explain how a host name or IP address is classified", runLookup},
	{"replay", "read pcap/pcapng files (gzip/zstd too, - for stdin) and write flow records", runReplay},
	{"report", "render flow/alert/volume records (JSON lines, gzip/zstd too) as one HTML page", runReport},
	{"rules", "`rules check FILE|DIR` validates policies; `rules test RULES CAPTURE...` shows which fire", runRules},
	{"run", "capture from network interfaces (AF_PACKET) and write flow records", runLive},
	{"scan", "find sensitive data in a file or stdin with the sensor's detectors (a validating PII grep)", runScan},
	{"version", "print version, commit and build date", runVersion},
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) > 1 && args[0] == "help" { // `tapdlp help CMD [SUB]` is `tapdlp CMD [SUB] -h`
		return dispatch(append(args[1:len(args):len(args)], "-h"), stdout, stderr)
	}
	if len(args) == 0 || isHelp(args[0]) {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "tapdlp: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "tapdlp — a payload-inspecting DLP sensor for network taps")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: tapdlp COMMAND [flags] [args]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every command takes -c/--config FILE; `tapdlp help COMMAND` or `tapdlp COMMAND -h` lists its flags.")
}

// isHelp reports whether arg asks for usage.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// parseInterspersed parses flags that may appear before or after positional
// arguments (`replay a.pcap -o out.jsonl`), as users of tcpdump-style tools
// expect. "--" ends flag parsing; "-" alone is a positional (stdin).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// configFlag registers -c and --config on fs.
func configFlag(fs *flag.FlagSet) *string {
	p := new(string)
	fs.StringVar(p, "c", "", "configuration `FILE` (YAML); default: the embedded defaults")
	fs.StringVar(p, "config", "", "configuration `FILE` (same as -c)")
	return p
}

// runSensor runs an assembled sensor until it finishes or the process is
// interrupted. SIGINT and SIGTERM stop it cleanly (sinks flushed, summary
// printed); a replay they cut short exits 128+signal, as a shell reports a
// filter killed by it, while `run` (which only ends that way) exits 0.
func runSensor(cfg sensor.Config, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var got atomic.Value
	go func() {
		select {
		case sig := <-sigs:
			got.Store(sig)
			cancel()
		case <-ctx.Done():
		}
	}()
	err := sensor.New(cfg).Run(ctx)
	sig, _ := got.Load().(syscall.Signal)
	if sig != 0 && errors.Is(err, context.Canceled) {
		if len(cfg.Files) == 0 {
			return 0
		}
		fmt.Fprintf(stderr, "tapdlp: replay stopped by %v before the end of its input\n", sig)
		return 128 + int(sig)
	}
	return exitCode(stderr, err)
}

// exitCode maps an error to the process exit status: 2 for usage errors, 1
// for anything else.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "tapdlp") {
		msg = "tapdlp: " + msg
	}
	fmt.Fprintln(stderr, msg)
	return 1
}

// withInput calls read with the named input: "-" is stdin (labelled
// "stdin"), anything else a file that is closed afterwards.
func withInput(name string, read func(label string, r io.Reader) error) error {
	if name == "-" {
		return read("stdin", os.Stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return read(name, f)
}
