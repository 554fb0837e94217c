// Package dash is the bundled server's DASH manifest: a live MPD over
// the same CMAF init sections and segments the LL-HLS variants make
// (the media is packaged once). It follows every variant through
// hls.SegmentSink, reads each complete segment's exact start and
// duration from its fragments, and lists every rung as a Representation
// of one video AdaptationSet and the audio as its own AdaptationSet,
// with a SegmentTimeline that follows the keyframes.
package dash
