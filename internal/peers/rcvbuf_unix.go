//go:build unix

package peers

import "syscall"

// setReadBuffer sets a socket's SO_RCVBUF.
func setReadBuffer(fd uintptr, n int) {
	_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
}
