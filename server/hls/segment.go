package hls

import "time"

// Segment is a complete segment of one of a variant's media playlists,
// reported as soon as the playlist lists it complete (when a viewer's
// blocking reload would see it too). Its byte slices are shared: read
// them, never write them.
type Segment struct {
	// Rung is the variant's name (its path element under /hls/).
	Rung string
	// Playlist is the public name of its media playlist (VideoPlaylist or
	// AudioPlaylist).
	Playlist string
	// Stream numbers the streams through the variant: it grows by one on
	// every Start.
	Stream uint64
	// Seq is the segment's media sequence number.
	Seq int
	// Name is the segment's file name under /hls/<rung>/.
	Name string
	// Duration is the segment's EXTINF duration.
	Duration time.Duration
	// Time is the wall-clock time of its first sample
	// (EXT-X-PROGRAM-DATE-TIME), zero if the playlist did not say.
	Time time.Time
	// Data is the segment's bytes: its parts, each a moof and an mdat.
	Data []byte
	// InitName and Init are the init section the segment needs.
	InitName string
	Init     []byte
	// Completed is when the segment was seen complete.
	Completed time.Time
}

// SegmentSink is told about a variant's complete segments and the end of
// its streams. Its methods are called from the variant's own goroutines
// and must not block: a sink that does slow work queues it.
type SegmentSink interface {
	// SegmentDone reports a complete segment.
	SegmentDone(Segment)
	// StreamEnded reports that stream number stream through rung ended
	// (Stop, a stream replaced without Stop, or Close): no more segments
	// of it follow.
	StreamEnded(rung string, stream uint64)
}
