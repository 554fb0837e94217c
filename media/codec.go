package media

// Codec identifies the compression format of a packet or stream.
type Codec int

// The codecs GoLive produces and accepts.
const (
	CodecUnknown Codec = iota
	CodecH264
	CodecAAC
)

// String returns the codec's short name.
func (c Codec) String() string {
	switch c {
	case CodecH264:
		return "h264"
	case CodecAAC:
		return "aac"
	}
	return "unknown"
}

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool { return c == CodecH264 }
