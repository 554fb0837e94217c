package chat

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
)

// Buffer sizes of a hijacked chat connection. Client frames are small (a hello
// or a message is tens to hundreds of bytes) and server frames a few hundred;
// larger reads and writes bypass the buffers.
const (
	connReadBuffer  = 256
	connWriteBuffer = 768
)

// smallBuffers is the http.ResponseWriter handed to websocket.Accept: its
// Hijack gives the WebSocket small buffers of its own instead of net/http's
// 4 KiB reader and writer, which an idle viewer would otherwise hold for hours.
type smallBuffers struct {
	http.ResponseWriter
}

// Hijack takes over the connection; bytes the HTTP server had already buffered
// are read first.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("chat: http.ResponseWriter cannot hijack")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		conn = &prefixConn{Conn: conn, r: io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn)}
	}
	return conn, bufio.NewReadWriter(bufio.NewReaderSize(conn, connReadBuffer), bufio.NewWriterSize(conn, connWriteBuffer)), nil
}

// Unwrap returns the wrapped ResponseWriter (for http.ResponseController).
func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// prefixConn is a net.Conn whose reads start with bytes already taken from it.
type prefixConn struct {
	net.Conn
	r io.Reader
}

// Read reads the prefix first, then the connection.
func (c *prefixConn) Read(p []byte) (int, error) { return c.r.Read(p) }
