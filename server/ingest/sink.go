package ingest

import "golive/media"

// Sink receives a live publisher's stream. At most one publisher is live,
// and calls never overlap: StartStream, WritePacket..., StopStream, and
// again. A publisher that takes over an idle one (Server.TakeoverAfter)
// goes on with the same stream: no StopStream and StartStream while the
// codec parameters stay the same, and timestamps continue from the last
// packet's.
type Sink interface {
	// StartStream is called once the stream's codecs are known; audio is
	// nil for a stream without audio. An error refuses the publisher.
	StartStream(video, audio *media.CodecParams) error
	// WritePacket is called for every packet after StartStream. The sink
	// owns pkt; it must not block for long (the publisher's reads wait).
	WritePacket(pkt *media.Packet)
	// StopStream is called when the publisher leaves or its codec
	// parameters change (StartStream follows then).
	StopStream()
}
