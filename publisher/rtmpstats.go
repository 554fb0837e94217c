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
	// Bitrate is the send rate over about the last second, bits/s.
	Bitrate int
	// QueueLen and QueueDelay describe the send queue: packets, and media
	// time between the newest packet in and the oldest waiting.
	QueueLen   int
	QueueDelay time.Duration
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
