package ingest

import (
	"net"
	"syscall"
)

// quickAck asks the kernel to acknowledge what c received at once instead
// of delaying the ACK (by up to 40 ms on Linux). Publishers that write
// each RTMP message in several small pieces with Nagle's algorithm on
// (the ffmpeg command line does) otherwise wait for that delayed ACK
// before every piece after the first: five such waits make the RTMP
// handshake ~200 ms slower. The kernel leaves quick-ACK mode by itself,
// so it is set again after every read. Errors are ignored: it is an
// optimisation only.
func quickAck(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
