// Package publisher sends encoded media out of GoLive.
//
//   - RTMP publishes H.264 + AAC packets to one rtmp:// or rtmps://
//     destination. It drives go-rtmp's handshake, chunk streamer and message
//     codecs over a connection it owns (go-rtmp's ClientConn waits for
//     replies without a timeout), waits for NetStream.Publish.Start, sends
//     @setDataFrame onMetaData and the sequence headers, then FLV tags built
//     with go-flv. One goroutine runs the stage (dial → publish → pump →
//     reconnect) and owns the connection; WritePacket only queues and never
//     blocks. With a ReconnectPolicy a lost connection comes back by itself
//     (backoff on an injected Clock, headers re-sent, resumed at a
//     keyframe, bounded buffer while away).
//   - WHIP publishes H.264 + Opus to one WHIP endpoint (RFC 9725) over
//     pion/webrtc: a sendonly offer POSTed with the stream key as the
//     bearer token, the encoder's H.264 as RTP (packetization-mode 1), the
//     session DELETEd on close; the same queue, states, reconnect policy
//     and stats as RTMP.
//   - Queue bounds the send queue in media time and drops video before
//     audio, never handing out a frame whose reference was dropped.
//   - Multi fans one encode out to several destinations, RTMP and WHIP.
//   - BitrateController lowers and raises the encoder's bitrate from the
//     queue delay and the measured send rate.
//   - Recorder writes the same packets to a crash-safe fragmented MP4 (or
//     MKV) through FFmpeg's muxer.
//
// Errors wrap the sentinels ErrBadURL, ErrUnreachable, ErrRefused,
// ErrTimeout, ErrProtocol, ErrConnectionLost, ErrClosed, ErrNoDestination
// and ErrRecorder.
package publisher
