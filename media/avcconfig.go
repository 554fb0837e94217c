package media

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// ErrBadAVCConfig is returned by AVCConfig.Unmarshal and AVCConfig.Marshal
// when an AVCDecoderConfigurationRecord is truncated or inconsistent.
var ErrBadAVCConfig = errors.New("bad AVCDecoderConfigurationRecord")

// AVCConfig is an H.264 AVCDecoderConfigurationRecord (ISO 14496-15
// 5.2.4.1), the sequence header of FLV and the avcC box of MP4.
type AVCConfig struct {
	SPS [][]byte
	PPS [][]byte
}

// Profile returns profile_idc, the constraint flags and level_idc from the
// first SPS.
func (c AVCConfig) Profile() (profile, compat, level byte) {
	if len(c.SPS) == 0 || len(c.SPS[0]) < 4 {
		return 0, 0, 0
	}
	return c.SPS[0][1], c.SPS[0][2], c.SPS[0][3]
}

// Marshal encodes the record with 4-byte NAL unit lengths.
func (c AVCConfig) Marshal() ([]byte, error) {
	if len(c.SPS) == 0 || len(c.SPS) > 31 || len(c.PPS) == 0 || len(c.PPS) > 255 {
		return nil, fmt.Errorf("%w: %d SPS, %d PPS", ErrBadAVCConfig, len(c.SPS), len(c.PPS))
	}
	if len(c.SPS[0]) < 4 {
		return nil, fmt.Errorf("%w: SPS of %d bytes", ErrBadAVCConfig, len(c.SPS[0]))
	}
	profile, compat, level := c.Profile()
	buf := []byte{1, profile, compat, level, 0xFC | 3, 0xE0 | byte(len(c.SPS))}
	appendUnits := func(buf []byte, units [][]byte) ([]byte, error) {
		for _, u := range units {
			if len(u) == 0 || len(u) > 0xFFFF {
				return nil, fmt.Errorf("%w: parameter set of %d bytes", ErrBadAVCConfig, len(u))
			}
			buf = binary.BigEndian.AppendUint16(buf, uint16(len(u)))
			buf = append(buf, u...)
		}
		return buf, nil
	}
	buf, err := appendUnits(buf, c.SPS)
	if err != nil {
		return nil, err
	}
	buf = append(buf, byte(len(c.PPS)))
	buf, err = appendUnits(buf, c.PPS)
	if err != nil {
		return nil, err
	}
	// High profiles carry chroma format and bit depths (ISO 14496-15 5.3.3.1.2).
	if profile == 100 || profile == 110 || profile == 122 || profile == 144 {
		var sps h264.SPS
		chroma, depthL, depthC := byte(1), byte(0), byte(0)
		if sps.Unmarshal(c.SPS[0]) == nil {
			chroma = byte(sps.ChromaFormatIdc)
			depthL, depthC = byte(sps.BitDepthLumaMinus8), byte(sps.BitDepthChromaMinus8)
		}
		buf = append(buf, 0xFC|chroma, 0xF8|depthL, 0xF8|depthC, 0)
	}
	return buf, nil
}

// Unmarshal decodes a record; it requires 4-byte NAL unit lengths, the
// only size FLV and MP4 producers use in practice.
func (c *AVCConfig) Unmarshal(buf []byte) error {
	if len(buf) < 7 {
		return fmt.Errorf("%w: %d bytes", ErrBadAVCConfig, len(buf))
	}
	if buf[0] != 1 {
		return fmt.Errorf("%w: version %d", ErrBadAVCConfig, buf[0])
	}
	if buf[4]&3 != 3 {
		return fmt.Errorf("%w: NAL length size %d not supported", ErrBadAVCConfig, buf[4]&3+1)
	}
	pos := 5
	readUnits := func(countMask byte) ([][]byte, error) {
		if pos >= len(buf) {
			return nil, fmt.Errorf("%w: truncated", ErrBadAVCConfig)
		}
		n := int(buf[pos] & countMask)
		pos++
		if n == 0 {
			return nil, fmt.Errorf("%w: no parameter set", ErrBadAVCConfig)
		}
		units := make([][]byte, 0, n)
		for range n {
			if len(buf)-pos < 2 {
				return nil, fmt.Errorf("%w: truncated", ErrBadAVCConfig)
			}
			l := int(binary.BigEndian.Uint16(buf[pos:]))
			pos += 2
			if l == 0 || len(buf)-pos < l {
				return nil, fmt.Errorf("%w: parameter set of %d bytes", ErrBadAVCConfig, l)
			}
			units = append(units, append([]byte(nil), buf[pos:pos+l]...))
			pos += l
		}
		return units, nil
	}
	sps, err := readUnits(0x1F)
	if err != nil {
		return fmt.Errorf("SPS: %w", err)
	}
	pps, err := readUnits(0xFF)
	if err != nil {
		return fmt.Errorf("PPS: %w", err)
	}
	c.SPS, c.PPS = sps, pps
	return nil
}
