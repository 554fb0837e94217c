//go:build linux || darwin

package tcpstat

import (
	"os"

	"golang.org/x/sys/unix"
)

func setRcvbuf(fd uintptr, n int) {
	_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
}

func errTimeout() error { return os.ErrDeadlineExceeded }
