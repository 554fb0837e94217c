package publisher

import "time"

// RTMPState is where an RTMP destination stands.
type RTMPState int

// The states of an RTMP destination.
const (
	StateOffline RTMPState = iota
	StateConnecting
	StateLive
	StateReconnecting
	StateFailed
	StateClosed
)

// String returns the state's lower-case name.
func (s RTMPState) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateLive:
		return "live"
	case StateReconnecting:
		return "reconnecting"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	}
	return "offline"
}

// RTMPStats is a snapshot of an RTMP destination.
type RTMPStats struct {
	State RTMPState
	// BytesSent counts bytes written to the socket(s), RTMP overhead
	// included.
	BytesSent int64
	// Bitrate is the rate bytes were written to the socket over about the
	// last second, bits/s.
	Bitrate int
	// BytesAcked counts the bytes the peer acknowledged, all connections
	// (RTMP and TLS framing included).
	BytesAcked int64
	// LinkBitrate is the rate the peer acknowledged bytes over about the
	// last second, bits/s: the link's throughput, whatever the socket
	// buffers took. Without Measured it is the rate bytes were written.
	LinkBitrate int
	// InputBitrate is the rate media came in through WritePacket over
	// about the last second, bits/s: what the encoder makes.
	InputBitrate int
	// QueueLen counts the packets in the send queue.
	QueueLen int
	// QueueDelay is how far behind the stream the peer is: media time from
	// the newest packet it acknowledged to the newest packet in, so what
	// waits in the send queue, what waits in the kernel, and the frames
	// dropped in between. Without Measured, what was written counts as
	// acknowledged.
	QueueDelay time.Duration
	// KernelQueued counts the bytes written to the socket and not yet
	// acknowledged (in flight or unsent); KernelDelay is the media time
	// they hold.
	KernelQueued int64
	KernelDelay  time.Duration
	// BaseDelay is the least QueueDelay seen on the current connection:
	// about one round trip, which even an idle link costs. What waits
	// beyond it is congestion.
	BaseDelay time.Duration
	// Congested is set while live when the link carries less than the
	// stream needs: media has waited more than 0.5 s beyond BaseDelay (it
	// clears under 0.25 s).
	Congested bool
	// Measured reports that the kernel tells what the peer acknowledged
	// (Linux, macOS). Elsewhere the socket's send buffer is kept to about
	// a second of media, and what was written counts as acknowledged.
	Measured bool
	// FramesDelivered counts the video frames the peer acknowledged;
	// FramesLost those written to a connection that broke before the peer
	// acknowledged them; FramesUnconfirmed those written to the current
	// connection and not acknowledged yet.
	FramesDelivered, FramesLost, FramesUnconfirmed int64
	// Undelivered is, once the stage has stopped, the media time that had
	// not reached the peer: still queued when the flush ran out, or
	// unacknowledged when the connection closed. FramesUndelivered counts
	// its video frames.
	Undelivered       time.Duration
	FramesUndelivered int64
	// DroppedVideo and DroppedAudio count frames the queue dropped.
	DroppedVideo, DroppedAudio int
	// PacketsSent counts media packets handed to the connection.
	PacketsSent int64
	// Attempts counts failed reconnection attempts since the last loss;
	// Reconnects counts successful reconnections.
	Attempts, Reconnects int
	// NextAttempt is when the next reconnection attempt is due (zero when
	// not reconnecting).
	NextAttempt time.Time
	// LastError is the most recent connection error (nil if none).
	LastError error
}
