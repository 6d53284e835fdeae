package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapdlp/tapdlp/internal/cli"
)

// Every command and subcommand answers -h, --help and `tapdlp help ...`
// with its own usage line on stderr and status 0.
func TestHelpForEveryCommand(t *testing.T) {
	var all [][]string
	program.Walk(func(words []string, _ *cli.Command) { all = append(all, words) })
	if len(all) < 12 {
		t.Fatalf("%d commands and subcommands: the walk lost some", len(all))
	}
	for _, words := range all {
		want := "usage: tapdlp " + strings.Join(words, " ")
		for _, args := range [][]string{
			append(append([]string{}, words...), "-h"),
			append(append([]string{}, words...), "--help"),
			append([]string{"help"}, words...),
		} {
			code, out, errOut := run(t, args...)
			if code != 0 {
				t.Errorf("%v: exit %d", args, code)
			}
			if !strings.Contains(errOut, want) {
				t.Errorf("%v: stderr %q lacks %q", args, firstLine(errOut), want)
			}
			if out != "" {
				t.Errorf("%v wrote %q to stdout", args, firstLine(out))
			}
		}
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

func TestReplayOutputsWithOIsAnError(t *testing.T) {
	code, _, errOut := run(t, "replay", "--outputs", "-o", filepath.Join(t.TempDir(), "x"), demo)
	if code != 2 || !strings.Contains(errOut, "--outputs and -o") {
		t.Errorf("exit %d, stderr %q: want 2 and a message naming both flags", code, errOut)
	}
}

// scan --json names the input in every line, so findings over several
// files (and stdin) can be told apart.
func TestScanJSONNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b\"q.txt")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte("contact alice@example.org today\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := run(t, "scan", "--json", a, b)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), out)
	}
	for i, want := range []string{`{"file":"` + a + `","type":"email"`, `{"file":"` + strings.ReplaceAll(b, `"`, `\"`) + `","type":"email"`} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d %q, want prefix %q", i, lines[i], want)
		}
	}
}

// The bash completion script parses, offers every command, and each
// command's flags as its -h lists them.
func TestCompletion(t *testing.T) {
	code, script, errOut := run(t, "completion", "bash")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	program.Walk(func(words []string, _ *cli.Command) {
		if name := words[len(words)-1]; !strings.Contains(script, " "+name) {
			t.Errorf("script lacks command %s", strings.Join(words, " "))
		}
	})
	for _, want := range []string{"--cpuprofile", "--outputs", "--json", "check default", "check test default"} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q", want)
		}
	}
	if code, _, _ := run(t, "completion", "fish"); code != 2 {
		t.Errorf("completion fish: exit %d, want 2", code)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	p := filepath.Join(t.TempDir(), "c.bash")
	if err := os.WriteFile(p, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	probe := `source "$1"; COMP_WORDS=(tapdlp replay --cpu); COMP_CWORD=2; _tapdlp; echo "${COMPREPLY[*]}"; ` +
		`COMP_WORDS=(tapdlp rules t); COMP_CWORD=2; _tapdlp; echo "${COMPREPLY[*]}"; ` +
		`COMP_WORDS=(tapdlp rep); COMP_CWORD=1; _tapdlp; echo "${COMPREPLY[*]}"`
	got, err := exec.Command(bash, "-c", probe, "bash", p).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v: %s", err, got)
	}
	if want := "--cpuprofile\ntest\nreplay report\n"; string(got) != want {
		t.Errorf("completions %q, want %q", got, want)
	}
}

// replay applies capture.bpf_filter from the configuration (and says so);
// -f replaces it.
func TestReplayHonoursConfiguredFilter(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "tapdlp.yaml")
	if err := os.WriteFile(cfg, []byte("capture:\n  bpf_filter: port 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "replay", "-c", cfg, demo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != "" || !strings.Contains(errOut, "capture.bpf_filter") || !strings.Contains(errOut, "filtered out") {
		t.Errorf("with bpf_filter 'port 1': %d bytes of records, stderr %q", len(out), errOut)
	}
	code, out, errOut = run(t, "replay", "-c", cfg, "-f", "tcp or udp", demo)
	if code != 0 || strings.Count(out, "\n") < 10 {
		t.Errorf("-f did not replace the configured filter: exit %d, %d records, %s", code, strings.Count(out, "\n"), errOut)
	}
}
