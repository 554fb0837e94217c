package encoder

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"golive/media"
)

// avcConfigFromExtradata turns an encoder's global header (Annex-B
// SPS/PPS, possibly with SEI, or already an avcC record) into an
// AVCDecoderConfigurationRecord.
func avcConfigFromExtradata(extra []byte) ([]byte, error) {
	if len(extra) == 0 {
		return nil, fmt.Errorf("%w: encoder produced no global header", ErrCodec)
	}
	if extra[0] == 1 { // already an AVCDecoderConfigurationRecord
		var c media.AVCConfig
		if err := c.Unmarshal(extra); err != nil {
			return nil, fmt.Errorf("%w: extradata: %w", ErrCodec, err)
		}
		return c.Marshal()
	}
	var nalus h264.AnnexB
	if err := nalus.Unmarshal(extra); err != nil {
		return nil, fmt.Errorf("%w: extradata: %w", ErrCodec, err)
	}
	cfg := media.ParamsFromNALUs(nalus)
	out, err := cfg.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: extradata: %w", ErrCodec, err)
	}
	return out, nil
}
