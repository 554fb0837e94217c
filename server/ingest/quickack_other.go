//go:build !linux

package ingest

import "net"

// quickAck does nothing where TCP_QUICKACK does not exist.
func quickAck(net.Conn) {}
