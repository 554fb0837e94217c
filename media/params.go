package media

// CodecParams describes an encoded stream: what a muxer or a remote peer
// needs before the first packet.
type CodecParams struct {
	Codec Codec
	// Config is the H.264 AVCDecoderConfigurationRecord or the AAC
	// AudioSpecificConfig, exactly as FLV and MP4 carry them.
	Config []byte
	// Bitrate is the target bitrate in bits per second (0 if unknown).
	Bitrate int

	// Video only.
	Width, Height int
	FPS           float64

	// Audio only.
	SampleRate int
	Channels   int
}
