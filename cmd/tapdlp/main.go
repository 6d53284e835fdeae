// Command tapdlp is the sensor's command line: replay captures, run on live
// interfaces, scan files for sensitive data, explain destination lookups and
// check configuration. It holds the command table and each command's flags
// only: internal/cli turns the table into dispatch, help and completion;
// `run` and `replay` fill a sensor.Config and call sensor.New(cfg).Run(ctx),
// which builds and wires the components.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tapdlp/tapdlp/internal/cli"
	"github.com/tapdlp/tapdlp/sensor"
)

// program is every command, a table rather than init-time registration:
// what the binary can do is read in one place (usage lists it by name).
var program = &cli.Program{
	Name:  "tapdlp",
	Title: "tapdlp — a payload-inspecting DLP sensor for network taps",
	Commands: []*cli.Command{
		configCmd, lookupCmd, replayCmd, reportCmd, rulesCmd, runCmd, scanCmd, versionCmd,
	},
}

// stopSignals cancel the context a command runs under.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	code := program.Main(ctx, stop, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runSensor runs an assembled sensor until it finishes or e.Ctx is
// cancelled by a signal, which stops it cleanly (sinks flushed, summary
// printed); a replay a signal cuts short exits 128+signal, while `run`
// (which only ends that way) exits 0.
func runSensor(e *cli.Env, cfg sensor.Config) error {
	err := sensor.New(cfg).Run(e.Ctx)
	if sig := cli.Signal(e.Ctx, stopSignals...); sig != 0 && errors.Is(err, context.Canceled) {
		if len(cfg.Files) == 0 {
			return nil
		}
		fmt.Fprintf(e.Stderr, "tapdlp: replay stopped by %v before the end of its input\n", sig)
		return cli.Status(128 + int(sig))
	}
	return err
}
