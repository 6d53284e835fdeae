package live

import (
	"errors"
	"fmt"
	"os/user"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrCapabilitiesKept is returned (wrapped) by DropPrivileges when the
// process keeps capabilities because a cgo build cannot clear them on every
// thread; build with CGO_ENABLED=0 (the default build) to drop them.
var ErrCapabilitiesKept = errors.New("live: capabilities kept: a cgo build cannot clear them on every thread (build with CGO_ENABLED=0)")

// DropPrivileges switches the whole process to the named account (its
// primary group, no supplementary groups) and then clears every capability,
// including the bounding set's effect through PR_SET_NO_NEW_PRIVS. It is
// called after Open: an AF_PACKET socket, its ring and its fanout and
// promiscuous settings keep working without CAP_NET_RAW once
// set up, so nothing is kept — a later bug in a payload parser then runs
// without any privilege. name == "" keeps the account but still drops the
// capabilities (useful when the binary runs with file capabilities, setcap
// cap_net_raw,cap_net_admin+eip).
//
// Go applies setuid/setgid/setgroups to every thread (since Go 1.16), and
// the capability clear goes through AllThreadsSyscall for the same reason:
// the capability sets are per thread on Linux.
func DropPrivileges(name string) error {
	if name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			return fmt.Errorf("live: drop privileges: %w", err)
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("live: drop privileges: user %q has non-numeric uid %q or gid %q", name, u.Uid, u.Gid)
		}
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("live: drop privileges: setgroups: %w", err)
		}
		if err := syscall.Setgid(gid); err != nil {
			return fmt.Errorf("live: drop privileges: setgid %d: %w", gid, err)
		}
		// Without PR_SET_KEEPCAPS, leaving uid 0 clears the permitted and
		// effective capability sets.
		if err := syscall.Setuid(uid); err != nil {
			return fmt.Errorf("live: drop privileges: setuid %d: %w", uid, err)
		}
	}
	if err := clearCapabilities(); err != nil {
		if errors.Is(err, ErrCapabilitiesKept) {
			return err
		}
		return fmt.Errorf("live: drop privileges: %w", err)
	}
	// No exec'd program may gain privileges either. A cgo build cannot
	// apply it to every thread (ENOTSUP) and goes without: the default
	// build is cgo-free.
	if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); e != 0 && e != syscall.ENOTSUP {
		return fmt.Errorf("live: drop privileges: prctl(PR_SET_NO_NEW_PRIVS): %w", e)
	}
	return nil
}

// clearCapabilities empties the effective, permitted and inheritable sets
// of every thread (and the ambient set with them).
func clearCapabilities() error {
	// Heap objects (new) do not move, and KeepAlive holds them across the
	// call, whose uintptr arguments the GC does not see.
	hdr := &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := new([2]unix.CapUserData)
	_, _, e := syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	runtime.KeepAlive(hdr)
	runtime.KeepAlive(data)
	if e == syscall.ENOTSUP {
		// A cgo build cannot run a syscall on every thread. After setuid
		// away from root the kernel has already emptied the sets; anything
		// else would leave threads privileged, which is an error.
		if caps, err := permitted(); err != nil || caps != 0 {
			return fmt.Errorf("%w: %#x", ErrCapabilitiesKept, caps)
		}
		return nil
	}
	if e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	return nil
}

func permitted() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, err
	}
	return uint64(data[1].Permitted)<<32 | uint64(data[0].Permitted), nil
}

// Capabilities returns the calling thread's effective capability set as a
// bit mask (bit n = capability n), for tests and start-up logging.
func Capabilities() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("live: capget: %w", err)
	}
	return uint64(data[1].Effective)<<32 | uint64(data[0].Effective), nil
}
