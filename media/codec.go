package media

// Codec identifies the compression format of a packet or stream.
type Codec int

// The codecs GoLive produces and accepts.
const (
	CodecUnknown Codec = iota
	CodecH264
	CodecAAC
	// CodecOpus is Opus at 48 kHz (WebRTC audio), one packet per frame.
	CodecOpus
)

// String returns the codec's short name.
func (c Codec) String() string {
	switch c {
	case CodecH264:
		return "h264"
	case CodecAAC:
		return "aac"
	case CodecOpus:
		return "opus"
	}
	return "unknown"
}

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool { return c == CodecH264 }
