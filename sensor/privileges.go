package sensor

import (
	"errors"
	"log/slog"

	"github.com/tapdlp/tapdlp/capture/live"
)

// dropPrivileges decides whether to give up the start-up privileges once
// the sockets and outputs are open (open sockets keep working without
// them), and does it with drop (live.DropPrivileges). user is the account
// to switch to ("" keeps the uid), euid the effective uid at start.
//
//   - A user is named, or the sensor is not root (it runs with file
//     capabilities): drop. Capabilities a cgo build cannot clear are a
//     warning; any other failure stops the run.
//   - Root without a user keeps everything, with a warning: dropping
//     capabilities but staying uid 0 would only pretend to be safe.
func dropPrivileges(user string, euid int, drop func(user string) error, log *slog.Logger) error {
	if user == "" && euid == 0 {
		log.Warn("running as root: set -user to drop privileges once the sockets are open")
		return nil
	}
	switch err := drop(user); {
	case errors.Is(err, live.ErrCapabilitiesKept):
		log.Warn("running with capabilities", "err", err)
	case err != nil:
		return err
	}
	return nil
}
