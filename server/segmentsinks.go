package server

import "golive/server/hls"

// segmentSinks hands every variant's segments to each of its sinks in
// turn (the DASH manifest, the object-storage uploader); none of them
// blocks.
type segmentSinks []hls.SegmentSink

// SegmentDone passes s to every sink.
func (ss segmentSinks) SegmentDone(s hls.Segment) {
	for _, k := range ss {
		k.SegmentDone(s)
	}
}

// StreamEnded passes the end of a stream to every sink.
func (ss segmentSinks) StreamEnded(rung string, stream uint64) {
	for _, k := range ss {
		k.StreamEnded(rung, stream)
	}
}
