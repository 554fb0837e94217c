package ingest

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	flvtag "github.com/yutopp/go-flv/tag"

	"golive/media"
)

// maxTimestampJump is how far a tag's timestamp may move forward from the
// previous tag before the demuxer treats it as a discontinuity.
const maxTimestampJump = 10 * time.Second

// maxTimestampBack is how far a tag's timestamp may go back (audio and video
// interleave loosely) before the demuxer treats it as a discontinuity.
const maxTimestampBack = time.Second

// TagResult is what one FLV tag produced: a packet, new codec parameters,
// both or neither (metadata, an end-of-sequence tag, a repeated header).
type TagResult struct {
	// Packet is the media packet the tag carried, or nil.
	Packet *media.Packet
	// Params is set when the tag was a sequence header that changed the
	// stream's codec parameters (the first one always does).
	Params *media.CodecParams
}

// FLVDemuxer turns the bodies of FLV video and audio tags (as RTMP carries
// them) into media packets with time.Duration timestamps and codec
// parameters. It keeps timestamps monotonic across jumps and drops packets
// that arrive before their sequence header. The zero value is ready; it is
// used from one goroutine.
type FLVDemuxer struct {
	video, audio *media.CodecParams

	started bool
	last    time.Duration // last mapped DTS
	offset  time.Duration // added to every tag timestamp
	jumps   int
}

// VideoParams returns the current video parameters, or nil before the AVC
// sequence header.
func (d *FLVDemuxer) VideoParams() *media.CodecParams { return d.video }

// AudioParams returns the current audio parameters, or nil before the AAC
// sequence header.
func (d *FLVDemuxer) AudioParams() *media.CodecParams { return d.audio }

// Jumps returns how many timestamp discontinuities were smoothed over.
func (d *FLVDemuxer) Jumps() int { return d.jumps }

// mapTimestamp converts an FLV millisecond timestamp to the demuxer's
// monotonic timeline.
func (d *FLVDemuxer) mapTimestamp(ts uint32) time.Duration {
	t := time.Duration(ts)*time.Millisecond + d.offset
	if !d.started {
		d.started = true
		d.last = t
		return t
	}
	if t < d.last-maxTimestampBack || t > d.last+maxTimestampJump {
		// A discontinuity (encoder restart, wrap, bogus jump): continue one
		// millisecond after the last tag.
		d.jumps++
		d.offset += d.last + time.Millisecond - t
		t = d.last + time.Millisecond
	}
	if t > d.last {
		d.last = t
	}
	return t
}

// Video parses the body of an FLV video tag received with timestamp ts
// (milliseconds). The payload is not retained.
func (d *FLVDemuxer) Video(ts uint32, payload []byte) (TagResult, error) {
	if len(payload) == 0 {
		return TagResult{}, nil
	}
	if payload[0]&0x80 != 0 {
		return TagResult{}, fmt.Errorf("video: %w: enhanced RTMP (codec fourcc %q)", ErrUnsupportedCodec, fourCC(payload))
	}
	if flvtag.FrameType(payload[0]>>4) == flvtag.FrameTypeVideoInfoCommandFrame {
		return TagResult{}, nil
	}
	var vd flvtag.VideoData
	if err := flvtag.DecodeVideoData(bytes.NewReader(payload), &vd); err != nil {
		return TagResult{}, fmt.Errorf("video: %w: %w", ErrBadTag, err)
	}
	if vd.CodecID != flvtag.CodecIDAVC {
		return TagResult{}, fmt.Errorf("video: %w: FLV codec id %d (only H.264)", ErrUnsupportedCodec, vd.CodecID)
	}
	data, err := io.ReadAll(vd.Data)
	if err != nil {
		return TagResult{}, fmt.Errorf("video: %w: %w", ErrBadTag, err)
	}
	switch vd.AVCPacketType {
	case flvtag.AVCPacketTypeSequenceHeader:
		p, err := parseAVCSequenceHeader(data)
		if err != nil {
			return TagResult{}, err
		}
		if d.video != nil && bytes.Equal(d.video.Config, p.Config) {
			return TagResult{}, nil
		}
		d.video = p
		return TagResult{Params: p}, nil
	case flvtag.AVCPacketTypeNALU:
		if d.video == nil || len(data) == 0 {
			return TagResult{}, nil // nothing decodable before the sequence header
		}
		au, err := stripInBandParams(data)
		if err != nil {
			return TagResult{}, fmt.Errorf("video: %w: %w", ErrBadTag, err)
		}
		if au == nil {
			return TagResult{}, nil
		}
		dts := d.mapTimestamp(ts)
		return TagResult{Packet: &media.Packet{
			Codec:    media.CodecH264,
			Data:     au,
			DTS:      dts,
			PTS:      dts + time.Duration(vd.CompositionTime)*time.Millisecond,
			Keyframe: vd.FrameType == flvtag.FrameTypeKeyFrame,
		}}, nil
	default: // end of sequence, or unknown
		return TagResult{}, nil
	}
}

// Audio parses the body of an FLV audio tag received with timestamp ts
// (milliseconds). The payload is not retained.
func (d *FLVDemuxer) Audio(ts uint32, payload []byte) (TagResult, error) {
	if len(payload) == 0 {
		return TagResult{}, nil
	}
	var ad flvtag.AudioData
	if err := flvtag.DecodeAudioData(bytes.NewReader(payload), &ad); err != nil {
		return TagResult{}, fmt.Errorf("audio: %w: %w", ErrBadTag, err)
	}
	if ad.SoundFormat != flvtag.SoundFormatAAC {
		return TagResult{}, fmt.Errorf("audio: %w: FLV sound format %d (only AAC)", ErrUnsupportedCodec, ad.SoundFormat)
	}
	data, err := io.ReadAll(ad.Data)
	if err != nil {
		return TagResult{}, fmt.Errorf("audio: %w: %w", ErrBadTag, err)
	}
	switch ad.AACPacketType {
	case flvtag.AACPacketTypeSequenceHeader:
		p, err := parseAACSequenceHeader(data)
		if err != nil {
			return TagResult{}, err
		}
		if d.audio != nil && bytes.Equal(d.audio.Config, p.Config) {
			return TagResult{}, nil
		}
		d.audio = p
		return TagResult{Params: p}, nil
	case flvtag.AACPacketTypeRaw:
		if d.audio == nil || len(data) == 0 {
			return TagResult{}, nil
		}
		t := d.mapTimestamp(ts)
		return TagResult{Packet: &media.Packet{
			Codec: media.CodecAAC, Data: data, PTS: t, DTS: t, Keyframe: true,
		}}, nil
	default:
		return TagResult{}, nil
	}
}

// parseAVCSequenceHeader parses an AVCDecoderConfigurationRecord into
// codec parameters, reading the picture size and frame rate from the SPS.
func parseAVCSequenceHeader(rec []byte) (*media.CodecParams, error) {
	var c media.AVCConfig
	if err := c.Unmarshal(rec); err != nil {
		return nil, fmt.Errorf("video: %w: %w", ErrBadTag, err)
	}
	var sps h264.SPS
	if err := sps.Unmarshal(c.SPS[0]); err != nil {
		return nil, fmt.Errorf("video: %w: SPS: %w", ErrBadTag, err)
	}
	w, h := sps.Width(), sps.Height()
	if w <= 0 || h <= 0 || w > 8192 || h > 8192 {
		return nil, fmt.Errorf("video: %w: picture size %dx%d", ErrBadTag, w, h)
	}
	config, err := c.Marshal() // normalised: only what players need
	if err != nil {
		return nil, fmt.Errorf("video: %w: %w", ErrBadTag, err)
	}
	return &media.CodecParams{
		Codec: media.CodecH264, Config: config,
		Width: w, Height: h, FPS: sps.FPS(),
	}, nil
}

// parseAACSequenceHeader parses an AudioSpecificConfig into codec parameters.
func parseAACSequenceHeader(asc []byte) (*media.CodecParams, error) {
	var c mpeg4audio.AudioSpecificConfig
	if err := c.Unmarshal(asc); err != nil {
		return nil, fmt.Errorf("audio: %w: AudioSpecificConfig: %w", ErrBadTag, err)
	}
	if c.SampleRate <= 0 || c.ChannelCount <= 0 || c.ChannelCount > 8 {
		return nil, fmt.Errorf("audio: %w: %d Hz, %d channels", ErrBadTag, c.SampleRate, c.ChannelCount)
	}
	return &media.CodecParams{
		Codec: media.CodecAAC, Config: append([]byte(nil), asc...),
		SampleRate: c.SampleRate, Channels: c.ChannelCount,
	}, nil
}

// stripInBandParams validates an AVCC access unit and removes the SPS, PPS
// and access unit delimiters some encoders repeat in-band (media.Packet
// carries parameter sets only in CodecParams). It returns nil when nothing
// is left.
func stripInBandParams(au []byte) ([]byte, error) {
	nalus, err := media.AVCCToNALUs(au)
	if err != nil {
		return nil, err
	}
	strip := false
	for _, n := range nalus {
		if len(n) == 0 {
			strip = true
			continue
		}
		switch h264.NALUType(n[0] & 0x1F) {
		case h264.NALUTypeSPS, h264.NALUTypePPS, h264.NALUTypeAccessUnitDelimiter:
			strip = true
		}
	}
	if !strip {
		return au, nil // au is the caller's copy already
	}
	out, err := media.NALUsToAVCC(nalus, true)
	if err != nil {
		return nil, nil //nolint:nilerr // only parameter sets: nothing to carry
	}
	return out, nil
}

func fourCC(payload []byte) string {
	if len(payload) < 5 {
		return ""
	}
	return string(payload[1:5])
}
