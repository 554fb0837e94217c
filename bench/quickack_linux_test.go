package bench

import (
	"net"
	"syscall"
)

// quickAck acknowledges what c received at once (see server/ingest's
// quickAck): the wire proxy stands in for the server on the publisher's
// side of the connection, so it must acknowledge as the server does.
func quickAck(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
			})
		}
	}
}
