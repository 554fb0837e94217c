package chat

import (
	"context"
	"sync/atomic"

	"github.com/coder/websocket"
)

// outFrame is one entry of a connection's send queue: a text frame, or (when
// closeCode is set) the instruction to close the connection with that status.
type outFrame struct {
	data        []byte
	closeCode   websocket.StatusCode
	closeReason string
}

// clientConn is one viewer's WebSocket connection on the Hub. The reader runs in
// the HTTP handler's goroutine, the writer in its own; the fields below "hub-owned"
// are touched only by the Hub's goroutine.
type clientConn struct {
	ws        *websocket.Conn
	ip        string
	moderator bool
	send      chan outFrame
	ctx       context.Context
	cancel    context.CancelFunc
	// helloed is set by the reader before it hands the first valid hello to the hub.
	helloed atomic.Bool

	// hub-owned
	joined bool
	user   User
}

// enqueue puts f on the send queue without blocking; it reports false when the
// queue is full.
func (c *clientConn) enqueue(f outFrame) bool {
	select {
	case c.send <- f:
		return true
	default:
		return false
	}
}
