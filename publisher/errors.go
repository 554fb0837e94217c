package publisher

import "errors"

// ErrBadURL is returned by ParseURL, RTMP.Initialize and WHIP.Initialize
// when the destination URL is not rtmp:// or rtmps:// with an application
// and a stream key (RTMP), or http(s)://[KEY@]HOST/PATH (WHIP).
var ErrBadURL = errors.New("bad RTMP URL")

// ErrUnreachable is returned by RTMP.Initialize (and reported while
// reconnecting) when the TCP or TLS connection to the server cannot be
// made.
var ErrUnreachable = errors.New("server unreachable")

// ErrRefused is returned by RTMP.Initialize when the server answers but
// does not let us publish: it rejects the connect or publish command
// (wrong application, wrong or busy stream key) or closes the connection
// during the handshake or the command exchange.
var ErrRefused = errors.New("server refused the stream")

// ErrTimeout is returned by RTMP.Initialize when the server does not
// complete the handshake or answer a command in time.
var ErrTimeout = errors.New("server did not answer in time")

// ErrConnectionLost is what RTMP.Err returns after the connection broke
// while live (write or read error, server close) and no reconnection was
// configured.
var ErrConnectionLost = errors.New("connection lost")

// ErrClosed is what a connection attempt returns when Close interrupts it
// (while reconnecting); it never reaches Err.
var ErrClosed = errors.New("publisher closed")

// ErrProtocol is returned by RTMP.Initialize (and reported while
// reconnecting) when the server sends something that is not RTMP.
var ErrProtocol = errors.New("server does not speak RTMP")

// ErrStalled is wrapped, with ErrConnectionLost, in the error of a
// connection on which the peer acknowledged nothing for StallTimeout while
// media waited: the destination's LastError while it reconnects, or its
// Err without a Reconnect policy.
var ErrStalled = errors.New("link stalled")
