// Package encoder wraps FFmpeg 8 (through go-astiav v0.42.0, with no cgo
// of its own) for GoLive's media stages: H264 encodes YUV420P frames into
// AVCC packets with a hardware encoder when one opens here and libx264
// otherwise; AAC encodes PCM into AAC-LC; H264Decoder and Scaler serve the
// bundled server's transcoding ladder; Probe lists the encoders that work
// on this machine; RouteFFmpegLog sends FFmpeg's log into slog.
//
// Every FFmpeg object is owned by one Go value, freed by its idempotent
// Close. No Go pointer is stored in C memory: frames are copied in and out
// through go-astiav's FrameData, and pictures that stay in FFmpeg memory
// (Picture) are not copied at all.
package encoder
