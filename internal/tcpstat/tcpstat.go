// Package tcpstat reads what the kernel knows about the send side of a TCP
// connection: how many bytes the peer has acknowledged and how many wait,
// written but not yet acknowledged, in the socket. A publisher needs both
// to tell what the network has really taken from what it merely accepted
// into a socket buffer, which may hold minutes of a low-bitrate stream.
//
// Linux answers through TCP_INFO and SIOCOUTQ, macOS through
// TCP_CONNECTION_INFO; elsewhere Read returns ErrUnsupported and the caller
// bounds the socket's send buffer instead.
package tcpstat

import (
	"errors"
	"runtime"
	"syscall"
)

// ErrUnsupported is returned by Read and LimitUnsent on systems whose
// kernel does not report a TCP connection's send queue here.
var ErrUnsupported = errors.New("tcpstat: not supported on " + runtime.GOOS)

// Sample is the kernel's view of a TCP connection's send side.
type Sample struct {
	// Acked counts the bytes the peer has acknowledged since the
	// connection opened: written − Queued (the kernel's own counters
	// differ between systems, and Linux's counts the SYN of a connection
	// it opened).
	Acked int64
	// Queued counts the bytes written to the socket and not yet
	// acknowledged: in flight, or not sent yet.
	Queued int64
	// Unsent is the part of Queued not sent yet (-1 when the system does
	// not say).
	Unsent int64
}

// Supported reports whether Read works on this system.
func Supported() bool { return supported }

// Read returns the kernel's view of c's send side. written is how many
// bytes were written to c since it opened (Acked = written − Queued). c is
// a *net.TCPConn, or anything whose SyscallConn is a TCP socket.
func Read(c syscall.Conn, written int64) (Sample, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return Sample{}, err
	}
	var s Sample
	var rerr error
	if err := rc.Control(func(fd uintptr) { s, rerr = read(fd, written) }); err != nil {
		return Sample{}, err
	}
	return s, rerr
}

// LimitUnsent asks the kernel to keep at most about n bytes written but not
// yet sent (TCP_NOTSENT_LOWAT): further writes wait, so a link slower than
// the stream shows in the writer's own queue within a fraction of a second
// instead of filling a socket buffer of megabytes. It returns
// ErrUnsupported where the system has no such option.
func LimitUnsent(c syscall.Conn, n int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = limitUnsent(fd, n) }); err != nil {
		return err
	}
	return serr
}
