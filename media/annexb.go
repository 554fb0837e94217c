package media

import (
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// ErrBadBitstream is returned by the Annex-B and AVCC converters when the
// input holds no NAL unit or a length runs past the end.
var ErrBadBitstream = errors.New("bad H.264 bitstream")

// AnnexBToAVCC converts an Annex-B access unit (start codes) into AVCC
// (4-byte lengths), leaving out access unit delimiters and, when
// dropParams is true, SPS and PPS (they travel in the AVCConfig).
func AnnexBToAVCC(au []byte, dropParams bool) ([]byte, error) {
	var nalus h264.AnnexB
	if err := nalus.Unmarshal(au); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBitstream, err)
	}
	return NALUsToAVCC(nalus, dropParams)
}

// NALUsToAVCC joins NAL units into one AVCC access unit, leaving out access
// unit delimiters and, when dropParams is true, SPS and PPS.
func NALUsToAVCC(nalus [][]byte, dropParams bool) ([]byte, error) {
	keep := make(h264.AVCC, 0, len(nalus))
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1F) {
		case h264.NALUTypeAccessUnitDelimiter:
			continue
		case h264.NALUTypeSPS, h264.NALUTypePPS:
			if dropParams {
				continue
			}
		}
		keep = append(keep, n)
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("%w: no NAL unit to carry", ErrBadBitstream)
	}
	out, err := keep.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBitstream, err)
	}
	return out, nil
}

// AVCCToNALUs splits an AVCC access unit into its NAL units, which alias au.
func AVCCToNALUs(au []byte) ([][]byte, error) {
	var nalus h264.AVCC
	if err := nalus.Unmarshal(au); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBitstream, err)
	}
	return nalus, nil
}

// AVCCToAnnexB converts an AVCC access unit into Annex-B with 4-byte start
// codes, prepending the given parameter sets (pass nil for none).
func AVCCToAnnexB(au []byte, params [][]byte) ([]byte, error) {
	nalus, err := AVCCToNALUs(au)
	if err != nil {
		return nil, err
	}
	out, err := h264.AnnexB(append(append([][]byte(nil), params...), nalus...)).Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBitstream, err)
	}
	return out, nil
}

// ParamsFromNALUs returns the SPS and PPS found among nalus, as an
// AVCConfig with no units when there are none.
func ParamsFromNALUs(nalus [][]byte) AVCConfig {
	var c AVCConfig
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1F) {
		case h264.NALUTypeSPS:
			c.SPS = append(c.SPS, n)
		case h264.NALUTypePPS:
			c.PPS = append(c.PPS, n)
		}
	}
	return c
}
