package live

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"testing"
	"time"
)

// dropHelperEnv makes the test binary, re-executed, open a socket on the
// named interface, drop privileges and read one frame: dropping them is
// irreversible, so it cannot happen in the test process itself.
const dropHelperEnv = "TAPDLP_LIVE_DROP_HELPER"

func TestMain(m *testing.M) {
	if iface := os.Getenv(dropHelperEnv); iface != "" {
		if err := dropHelper(iface); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func dropHelper(iface string) error {
	c, err := Open(Config{Interfaces: []string{iface}, RingSize: 4 << 20, FanoutGroup: uint16(0x4000 + os.Getpid()&0x3fff)})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := DropPrivileges("nobody"); err != nil {
		return err
	}
	caps, err := Capabilities()
	if err != nil {
		return err
	}
	fmt.Printf("dropped uid=%d caps=%#x\n", os.Geteuid(), caps)
	s := c.Sockets(0)[0]
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, _, err := s.Next()
		if errors.Is(err, ErrTimeout) {
			continue
		}
		if err != nil {
			return err
		}
		if _, err := s.Stats(); err != nil {
			return fmt.Errorf("statistics after the drop: %w", err)
		}
		fmt.Println("frame")
		return nil
	}
	return errors.New("no frame within 10s")
}

// TestDropPrivileges checks that after DropPrivileges the process runs as
// nobody with no capability, and that the open socket still captures and
// reports its statistics.
func TestDropPrivileges(t *testing.T) {
	tx, rx := veth(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), dropHelperEnv+"="+rx)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		t.Fatalf("helper said nothing: %v", cmd.Wait())
	}
	if want := "dropped uid=" + nobody.Uid + " caps=0x0"; lines.Text() != want {
		t.Fatalf("helper: %q, want %q", lines.Text(), want)
	}
	s := newSender(t, tx)
	done := make(chan string, 1)
	go func() {
		lines.Scan()
		done <- lines.Text()
	}()
	for i := 0; ; i++ {
		s.send(t, udpFrame(hostA, hostB, 44000, 53, 20))
		select {
		case got := <-done:
			if !strings.HasPrefix(got, "frame") {
				t.Fatalf("helper: %q", got)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("helper: %v", err)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if i > 200 {
			t.Fatal("helper read no frame after dropping privileges")
		}
	}
}
