package rtmpguard

import "net"

// Conn is a net.Conn whose Read passes everything the peer sends through
// a Guard. Hand it (not the bare connection) to go-rtmp, from the first
// handshake byte on. Reads must come from one goroutine at a time.
type Conn struct {
	net.Conn
	guard *Guard
}

// NewConn wraps c, a connection at its very start (nothing read yet),
// with a new Guard. Over TLS, wrap the *tls.Conn: the guard must see
// plaintext.
func NewConn(c net.Conn) *Conn {
	return &Conn{Conn: c, guard: New()}
}

// Read reads from the connection and feeds what it read to the guard.
// When the guard refuses the bytes, Read returns 0 and an error wrapping
// ErrUnsafeMessage, and keeps returning it without reading further; the
// caller should close the connection.
func (c *Conn) Read(p []byte) (int, error) {
	if err := c.guard.Err(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if gerr := c.guard.Feed(p[:n]); gerr != nil {
			return 0, gerr
		}
	}
	return n, err
}
