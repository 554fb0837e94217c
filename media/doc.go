// Package media holds the types every GoLive stage shares: raw video and
// audio frames, encoded packets, codec parameters and the one time base.
//
// Timestamps everywhere are time.Duration values on the capture clock
// (see TimeBase); stages convert to their own units (FLV milliseconds,
// 90 kHz MPEG ticks, FFmpeg time bases) only at their edges.
package media
