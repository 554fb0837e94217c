package server

import (
	"fmt"

	"golive/media"
	"golive/server/webrtc"
)

// newOpusTranscoder makes the AAC → Opus transcoder WebRTC viewers share.
func newOpusTranscoder(audio media.CodecParams) (webrtc.AudioTranscoder, error) {
	return nil, fmt.Errorf("no Opus encoder in this build yet (%s audio not sent)", audio.Codec)
}
