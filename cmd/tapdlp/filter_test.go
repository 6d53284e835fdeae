package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run the command as a separate process (the test
// binary re-executed with TAPDLP_TEST_MAIN=1), so that pipes, signals and
// exit statuses are the real ones.
func TestMain(m *testing.M) {
	if os.Getenv("TAPDLP_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// tapdlpProcess returns the tapdlp command line as a process.
func tapdlpProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "TAPDLP_TEST_MAIN=1")
	return cmd
}

// endlessCapture writes the demo capture's packets to w over and over, an
// hour of packet time later each round so that flows end and records keep
// coming, until w fails.
func endlessCapture(t *testing.T, w io.WriteCloser) {
	data, err := os.ReadFile(demo)
	if err != nil {
		t.Error(err)
		return
	}
	defer w.Close()
	if binary.LittleEndian.Uint32(data) != 0xa1b23c4d && binary.LittleEndian.Uint32(data) != 0xa1b2c3d4 {
		t.Errorf("demo capture is not little-endian pcap")
		return
	}
	if _, err := w.Write(data[:24]); err != nil {
		return
	}
	body := data[24:]
	for round := uint32(1); ; round++ {
		buf := bytes.Clone(body)
		for off := 0; off+16 <= len(buf); {
			binary.LittleEndian.PutUint32(buf[off:], binary.LittleEndian.Uint32(buf[off:])+round*3600)
			off += 16 + int(binary.LittleEndian.Uint32(buf[off+8:]))
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
	}
}

// waitExit waits at most d for cmd and returns its exit status.
func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("tapdlp %v still running after %v", cmd.Args[1:], d)
		return -1
	}
}

// A reader that stops reading ends a replay of endless input, as it ends
// any Unix filter, whether records go to stdout or to -o /dev/stdout (which
// the process opens anew, so EPIPE and not SIGPIPE tells it).
func TestReplayEndsWhenReaderGoes(t *testing.T) {
	for _, args := range [][]string{
		{"replay", "-q", "-o", "/dev/stdout", "-"},
		{"replay", "-q", "-"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := tapdlpProcess(t, args...)
			in, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go endlessCapture(t, in)
			line := make([]byte, 64)
			if _, err := io.ReadFull(out, line); err != nil {
				t.Fatalf("no record: %v (%s)", err, stderr.String())
			}
			if !bytes.HasPrefix(line, []byte("{")) {
				t.Errorf("output %q is not a JSON record", line)
			}
			out.Close() // `| head -c 64`
			code := waitExit(t, cmd, 10*time.Second)
			// 0 when the sensor saw EPIPE, killed by SIGPIPE (-1 from
			// ExitCode) when the runtime did on fd 1: both are how a
			// filter ends; an error message is not.
			if code != 0 && !signalled(cmd, syscall.SIGPIPE) {
				t.Errorf("exit %d, want 0 or SIGPIPE; stderr %s", code, stderr.String())
			}
			if strings.Contains(stderr.String(), "broken pipe") {
				t.Errorf("broken pipe reported as an error: %s", stderr.String())
			}
		})
	}
}

func signalled(cmd *exec.Cmd, sig syscall.Signal) bool {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// SIGTERM stops a replay of endless input: the output is flushed and the
// status says which signal cut the input short.
func TestReplayStopsOnSIGTERM(t *testing.T) {
	outFile := filepath.Join(t.TempDir(), "out.jsonl")
	cmd := tapdlpProcess(t, "replay", "-q", "-o", outFile, "-")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go endlessCapture(t, in)
	deadline := time.Now().Add(10 * time.Second)
	for { // until records are being written
		if st, err := os.Stat(outFile); err == nil && st.Size() > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd, 10*time.Second); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit %d, want %d; stderr %s", code, 128+int(syscall.SIGTERM), stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped by terminated") {
		t.Errorf("stderr %q does not say why the replay stopped", stderr.String())
	}
	data, _ := os.ReadFile(outFile)
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Errorf("output not flushed to a whole record: %d bytes", len(data))
	}
}
