package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testProgram has a plain command, a group and a command that fails.
func testProgram(got *Env) *Program {
	return &Program{Name: "prog", Title: "prog — a test", Commands: []*Command{
		{Name: "echo", Usage: "[-n] WORD...", Summary: "print words",
			Setup: func(fs *flag.FlagSet) func(*Env) error {
				n := fs.Bool("n", false, "no newline")
				return func(e *Env) error {
					*got = *e
					if len(e.Args) == 0 {
						return Usagef("no word")
					}
					e.Stdout.Write([]byte(strings.Join(e.Args, " ")))
					if !*n {
						e.Stdout.Write([]byte("\n"))
					}
					return nil
				}
			}},
		{Name: "grp", Summary: "a group", Subcommands: []*Command{
			{Name: "fail", Summary: "fails", Setup: func(*flag.FlagSet) func(*Env) error {
				return func(*Env) error { return errors.New("it broke") }
			}},
			{Name: "none", Usage: "FILE", Setup: func(*flag.FlagSet) func(*Env) error {
				return func(*Env) error { return Status(7) }
			}},
		}},
	}}
}

func TestProgramMain(t *testing.T) {
	tests := []struct {
		args               []string
		code               int
		stdout, stderr     string // stderr: a substring
		wantArgs, wantConf string
	}{
		{nil, 2, "", "usage: prog COMMAND", "", ""},
		{[]string{"help"}, 0, "", "  echo       print words", "", ""},
		{[]string{"nope"}, 2, "", `prog: unknown command "nope"`, "", ""},
		{[]string{"echo", "a", "-n", "b", "--config", "x.yaml"}, 0, "a b", "", "a b", "x.yaml"},
		{[]string{"echo", "-c", "y", "--", "-n", "-"}, 0, "-n -\n", "", "-n -", "y"},
		{[]string{"echo"}, 2, "", "prog echo: no word\nusage: prog echo [-n] WORD...\n\nprint words", "", ""},
		{[]string{"echo", "-h"}, 0, "", "usage: prog echo [-n] WORD...", "", ""},
		{[]string{"help", "echo"}, 0, "", "  -n\tno newline", "", ""},
		{[]string{"echo", "-x"}, 1, "", "flag provided but not defined: -x", "", ""},
		{[]string{"grp"}, 2, "", "usage: prog grp fail | prog grp none FILE", "", ""},
		{[]string{"grp", "--help"}, 0, "", "  fail       fails", "", ""},
		{[]string{"help", "grp", "none"}, 0, "", "usage: prog grp none FILE", "", ""},
		{[]string{"grp", "zap"}, 2, "", `prog grp: unknown subcommand "zap" (fail, none)`, "", ""},
		{[]string{"grp", "fail"}, 1, "", "prog: it broke\n", "", ""},
		{[]string{"grp", "none"}, 7, "", "", "", ""},
		{[]string{"completion"}, 2, "", "usage: prog completion bash|zsh", "", ""},
	}
	for _, tt := range tests {
		var got Env
		var stdout, stderr bytes.Buffer
		code := testProgram(&got).Main(context.Background(), nil, tt.args, &stdout, &stderr)
		if code != tt.code || stdout.String() != tt.stdout || !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d, %q, %q", tt.args, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
		}
		if tt.wantArgs != "" && (strings.Join(got.Args, " ") != tt.wantArgs || got.Config != tt.wantConf) {
			t.Errorf("%q: args %q config %q, want %q %q", tt.args, got.Args, got.Config, tt.wantArgs, tt.wantConf)
		}
	}
}

// Only an Interruptible command keeps the signals diverted to its context.
func TestReleaseBeforeUninterruptible(t *testing.T) {
	var got Env
	p := testProgram(&got)
	released := 0
	p.Main(context.Background(), func() { released++ }, []string{"echo", "a"}, new(bytes.Buffer), new(bytes.Buffer))
	p.Commands[0].Interruptible = true
	p.Main(context.Background(), func() { released++ }, []string{"echo", "a"}, new(bytes.Buffer), new(bytes.Buffer))
	if released != 1 {
		t.Errorf("released %d times, want 1 (for the uninterruptible run only)", released)
	}
}

// The completion script lists commands, subcommands and each one's flags
// from its flag set.
func TestCompletionFromTable(t *testing.T) {
	var got Env
	var stdout bytes.Buffer
	if code := testProgram(&got).Main(context.Background(), nil, []string{"completion", "zsh"}, &stdout, new(bytes.Buffer)); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"#compdef prog\n",
		`compgen -W "completion echo grp help"`,
		`echo) words="--config -c -n" ;;`,
		`words="fail none"`,
		`completion) words="bash zsh" ;;`,
		`"$cmd" == help || "$cmd" == completion ||`,
		`"$cmd" =~ ^(grp)$`,
		"complete -o filenames -F _prog prog\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("script lacks %q:\n%s", want, stdout.String())
		}
	}
}

// Signal reads which signal cancelled a signal.NotifyContext: this pins
// the standard library's cause text it relies on.
func TestSignal(t *testing.T) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGUSR1)
	defer stop()
	if s := Signal(ctx, syscall.SIGUSR1); s != 0 {
		t.Fatalf("live context: %v", s)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("signal not delivered")
	}
	if s := Signal(ctx, os.Interrupt, syscall.SIGUSR1); s != syscall.SIGUSR1 {
		t.Errorf("Signal = %v (cause %v), want SIGUSR1", s, context.Cause(ctx))
	}
	if s := Signal(ctx, os.Interrupt); s != 0 {
		t.Errorf("Signal among others = %v, want 0", s)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s := Signal(cctx, syscall.SIGUSR1); s != 0 {
		t.Errorf("plain cancel: %v", s)
	}
}
