package broadcast

import "time"

// Summary is what one Go Live delivered, destination by destination, once
// it has stopped and flushed.
type Summary struct {
	// Frames counts the video frames encoded; FPS is the frame rate.
	Frames int64
	FPS    int
	// Destinations are in the order Go Live was given them.
	Destinations []DestinationSummary
}

// DestinationSummary is what one destination's server took of the stream.
type DestinationSummary struct {
	URL string // stream key masked
	// FramesDelivered counts the video frames the server acknowledged.
	FramesDelivered int64
	// Undelivered is the media still queued or unacknowledged when the
	// flush at the end ran out of time (0 when everything got there).
	Undelivered time.Duration
	// Dropped counts the frames its queue dropped on the way (the link
	// could not carry them, or it was away too long).
	Dropped int64
	// Err is why it stopped, when it failed.
	Err string
}

// Missing returns how many of the encoded frames did not reach the server.
func (s Summary) Missing(d DestinationSummary) int64 { return max(0, s.Frames-d.FramesDelivered) }

// Took reports whether the server took the stream at all: at least a
// second of it acknowledged (a first keyframe and nothing after it is not
// a stream).
func (s Summary) Took(d DestinationSummary) bool {
	return d.FramesDelivered >= int64(max(1, s.FPS)) || (s.Frames > 0 && d.FramesDelivered >= s.Frames)
}

// summarize reads what a closed onAir's destinations delivered.
func summarize(s *onAir) Summary {
	sum := Summary{Frames: s.venc.Stats().FramesOut, FPS: s.fps}
	for i, ps := range s.out.Stats() {
		d := DestinationSummary{
			URL: s.urls[i], FramesDelivered: ps.FramesDelivered, Undelivered: ps.Undelivered,
			Dropped: int64(ps.DroppedVideo + ps.DroppedAudio),
		}
		if err := s.out.Destinations[i].Err(); err != nil {
			d.Err = err.Error()
		}
		sum.Destinations = append(sum.Destinations, d)
	}
	return sum
}
