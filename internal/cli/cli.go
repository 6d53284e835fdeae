// Package cli runs a command-line program described by one table of
// commands. From that table it dispatches the arguments to a command,
// parses the command's flags wherever they stand among its arguments, and
// generates everything a user reads about the commands: the program's
// usage, each command's `-h` (also reached as `PROG help CMD`), the exit
// status of usage errors and the bash/zsh completion script. Help and
// completion are built from the same flag sets the commands parse, so they
// cannot drift from the flags a command really takes. Every command takes
// -c/--config FILE. The package reads no environment, registers no global
// flags and installs no signal handler: the caller passes a context
// (signal.NotifyContext in main).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Command is one entry of the table: a command, or a group whose words
// select one of its Subcommands.
type Command struct {
	Name    string // the word that selects it
	Summary string // one line, listed in the parent's usage and under the command's own
	// Usage is the synopsis after the command's words in "usage: PROG
	// WORDS USAGE", e.g. "[-c FILE] [-o FILE] CAPTURE...".
	Usage string
	// Setup defines the command's flags on fs (-c/--config is already
	// there) and returns the function that runs the command once they are
	// parsed. Nil for a group.
	Setup       func(fs *flag.FlagSet) func(e *Env) error
	Subcommands []*Command
	// Words are the values its first argument takes (completion offers
	// them instead of file names).
	Words []string
	// Interruptible says Run watches Env.Ctx, so a signal stops it cleanly.
	// Any other command gets the default action back (the process dies by
	// the signal) before it runs, as a filter should.
	Interruptible bool
}

// Env is what a running command gets.
type Env struct {
	Ctx            context.Context
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Config         string        // -c/--config FILE ("" when not given)
	Args           []string      // the positional arguments, flags removed
	Flags          *flag.FlagSet // the parsed flags (Visit lists those given)
}

// Open calls read with the named input: "-" is stdin (labelled "stdin"),
// anything else a file that is closed afterwards.
func (e *Env) Open(name string, read func(label string, r io.Reader) error) error {
	if name == "-" {
		return read("stdin", e.Stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return read(name, f)
}

// UsageError is a command line that does not say what to do: the program
// prints Msg (when set) and the command's usage, and exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// Status is an exit status a command chose (it printed what it had to
// say): scan's 1 for "nothing found", 128+N for a run cut short by signal N.
type Status int

func (s Status) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// Program is the table of a program's commands.
type Program struct {
	Name     string // argv[0] as users type it
	Title    string // first line of the usage
	Commands []*Command
	Stdin    io.Reader // default os.Stdin

	completion *Command
}

// all is the table with the generated completion command, by name.
func (p *Program) all() []*Command {
	if p.completion == nil {
		p.completion = &Command{Name: "completion", Usage: "bash|zsh  (e.g. source <(" + p.Name + " completion bash))",
			Summary: "`completion bash|zsh` prints a shell completion script", Words: []string{"bash", "zsh"},
			Setup: func(*flag.FlagSet) func(*Env) error { return p.runCompletion }}
	}
	cmds := append([]*Command{p.completion}, p.Commands...)
	slices.SortStableFunc(cmds, func(a, b *Command) int { return strings.Compare(a.Name, b.Name) })
	return cmds
}

// Walk calls fn with the words of every command and subcommand, in usage
// order.
func (p *Program) Walk(fn func(words []string, c *Command)) {
	var walk func(prefix []string, cmds []*Command)
	walk = func(prefix []string, cmds []*Command) {
		for _, c := range cmds {
			words := append(prefix[:len(prefix):len(prefix)], c.Name)
			fn(words, c)
			walk(words, c.Subcommands)
		}
	}
	walk(nil, p.all())
}

// Main runs the command args name and returns the process exit status.
// release, when not nil, gives signals their default action back (the
// stop function of signal.NotifyContext); it is called before a command
// that is not Interruptible runs.
func (p *Program) Main(ctx context.Context, release func(), args []string, stdout, stderr io.Writer) int {
	if len(args) > 1 && args[0] == "help" { // `PROG help CMD [SUB]` is `PROG CMD [SUB] -h`
		args = append(args[1:len(args):len(args)], "-h")
	}
	if len(args) == 0 || isHelp(args[0]) {
		p.usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	words, c, rest := p.find(args)
	if c == nil {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n", p.Name, args[0])
		p.usage(stderr)
		return 2
	}
	if c.Setup == nil { // a group: the next word was not one of its subcommands
		if len(rest) > 0 && !isHelp(rest[0]) {
			fmt.Fprintf(stderr, "%s %s: unknown subcommand %q (%s)\n", p.Name, strings.Join(words, " "), rest[0], strings.Join(names(c.Subcommands), ", "))
			return 2
		}
		p.groupUsage(stderr, words, c)
		if len(rest) == 0 {
			return 2
		}
		return 0
	}
	fs := p.flagSet(words, c, stderr)
	run := c.Setup(fs)
	e := &Env{Ctx: ctx, Stdin: p.Stdin, Stdout: stdout, Stderr: stderr, Flags: fs}
	if e.Stdin == nil {
		e.Stdin = os.Stdin
	}
	var err error
	if e.Args, err = parseInterspersed(fs, rest); err == nil {
		e.Config = fs.Lookup("c").Value.String()
		if release != nil && !c.Interruptible {
			release()
		}
		err = run(e)
	}
	return p.exit(err, words, fs, stderr)
}

// find follows args down the table: the words of the deepest command
// they name, the command, and the arguments after its words.
func (p *Program) find(args []string) ([]string, *Command, []string) {
	var words []string
	var found *Command
	cmds := p.all()
	for len(args) > 0 {
		i := slices.IndexFunc(cmds, func(c *Command) bool { return c.Name == args[0] })
		if i < 0 {
			break
		}
		found, words, args = cmds[i], append(words, args[0]), args[1:]
		if found.Setup != nil {
			break
		}
		cmds = found.Subcommands
	}
	return words, found, args
}

// flagSet is the command's flag set with -c/--config defined, whose -h
// prints the usage line, the summary and the flags.
func (p *Program) flagSet(words []string, c *Command, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(strings.Join(words, " "), flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := new(string)
	fs.StringVar(cfg, "c", "", "configuration `FILE` (YAML); default: the embedded defaults")
	fs.StringVar(cfg, "config", "", "configuration `FILE` (same as -c)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, strings.TrimRight(fmt.Sprintf("usage: %s %s %s", p.Name, strings.Join(words, " "), c.Usage), " "))
		if c.Summary != "" {
			fmt.Fprintf(stderr, "\n%s\n\n", strings.ReplaceAll(c.Summary, "`", ""))
		}
		fs.PrintDefaults()
	}
	return fs
}

// exit maps a command's error to its exit status: 0 for none or -h, 2 for
// usage errors, the chosen Status, else 1 with the error on stderr.
func (p *Program) exit(err error, words []string, fs *flag.FlagSet, stderr io.Writer) int {
	var ue *UsageError
	var st Status
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		if ue.Msg != "" {
			fmt.Fprintf(stderr, "%s %s: %s\n", p.Name, strings.Join(words, " "), ue.Msg)
		}
		fs.Usage()
		return 2
	case errors.As(err, &st):
		return int(st)
	}
	if msg := err.Error(); strings.HasPrefix(msg, p.Name) {
		fmt.Fprintln(stderr, msg)
	} else {
		fmt.Fprintf(stderr, "%s: %s\n", p.Name, msg)
	}
	return 1
}

func (p *Program) usage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nusage: %s COMMAND [flags] [args]\n\n", p.Title, p.Name)
	for _, c := range p.all() {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\nEvery command takes -c/--config FILE; `%[1]s help COMMAND` or `%[1]s COMMAND -h` lists its flags.\n", p.Name)
}

// groupUsage lists a group's synopses on one line, then its subcommands.
func (p *Program) groupUsage(w io.Writer, words []string, c *Command) {
	var syn []string
	for _, s := range c.Subcommands {
		syn = append(syn, strings.TrimRight(fmt.Sprintf("%s %s %s %s", p.Name, strings.Join(words, " "), s.Name, s.Usage), " "))
	}
	fmt.Fprintf(w, "usage: %s\n\n", strings.Join(syn, " | "))
	for _, s := range c.Subcommands {
		fmt.Fprintf(w, "  %-10s %s\n", s.Name, s.Summary)
	}
}

func names(cmds []*Command) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.Name)
	}
	return out
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
