package sinks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

var errNotAcked = errors.New("peer did not acknowledge the data")

// waitAcked waits until every byte written on c was acknowledged by the
// peer's TCP stack (SIOCOUTQ reports unacknowledged bytes), or the
// connection broke. The queue is read before the state: a socket that is
// still established after an empty queue was seen had that queue emptied by
// acknowledgements, not by a reset purging it.
func waitAcked(ctx context.Context, c *net.TCPConn, deadline time.Time) (peerClosed bool, err error) {
	if c == nil {
		return false, nil
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return false, fmt.Errorf("ack check: %w", err)
	}
	sleep := 50 * time.Microsecond
	for {
		var outq int
		var state uint8
		var serr error
		cerr := raw.Control(func(fd uintptr) {
			outq, serr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
			if serr != nil {
				return
			}
			var info *unix.TCPInfo
			info, serr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
			if serr == nil {
				state = info.State
			}
		})
		if cerr != nil {
			return false, fmt.Errorf("ack check: %w", cerr)
		}
		if serr != nil {
			return false, fmt.Errorf("ack check: %w", serr)
		}
		const established, closeWait = 1, 8
		if state != established && state != closeWait {
			return false, fmt.Errorf("%w (tcp state %d)", errNotAcked, state)
		}
		if outq == 0 {
			// In CLOSE_WAIT the receiver closed: what it acknowledged is
			// in, but the connection is useless for the next batch.
			return state == closeWait, nil
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("%w within the write timeout (%d bytes outstanding)", errNotAcked, outq)
		}
		if ctx.Err() != nil {
			return false, fmt.Errorf("ack check: %w", ctx.Err())
		}
		time.Sleep(sleep)
		sleep = min(sleep*2, 5*time.Millisecond)
	}
}
