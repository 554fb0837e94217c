package encoder

import "errors"

// Sentinel errors of the encoder package; they are wrapped with %w and the
// operation's name, so test them with errors.Is.
var (
	// ErrBadConfig is returned by Initialize when a field is out of range
	// (odd or zero size, fps 0, negative bitrate, ...).
	ErrBadConfig = errors.New("encoder: bad configuration")
	// ErrEncoderNotFound is returned by Initialize when the named encoder
	// is not compiled into this FFmpeg.
	ErrEncoderNotFound = errors.New("encoder: encoder not found")
	// ErrOpen is returned by Initialize when the encoder or decoder (or,
	// for "auto", every candidate) fails to open on this machine.
	ErrOpen = errors.New("encoder: cannot open codec")
	// ErrNotInitialized is returned by Encode, Decode, Scale and Flush when
	// Initialize has not succeeded.
	ErrNotInitialized = errors.New("encoder: not initialized")
	// ErrClosed is returned by Encode, Decode and Flush after Close, and by
	// Encode after Flush.
	ErrClosed = errors.New("encoder: closed")
	// ErrFrameSize is returned by H264.Encode when a frame's size differs
	// from the configured one.
	ErrFrameSize = errors.New("encoder: frame size does not match")
	// ErrCodec is returned when FFmpeg fails while encoding, decoding,
	// resampling or scaling.
	ErrCodec = errors.New("encoder: codec error")
)
