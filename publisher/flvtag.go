package publisher

import (
	"bytes"
	"time"

	"github.com/yutopp/go-amf0"
	flvtag "github.com/yutopp/go-flv/tag"

	"golive/media"
)

// avcSequenceHeader is the FLV video tag body carrying the
// AVCDecoderConfigurationRecord (AVCPacketType 0).
func avcSequenceHeader(config []byte) []byte {
	var b bytes.Buffer
	_ = flvtag.EncodeVideoData(&b, &flvtag.VideoData{
		FrameType: flvtag.FrameTypeKeyFrame, CodecID: flvtag.CodecIDAVC,
		AVCPacketType: flvtag.AVCPacketTypeSequenceHeader, Data: bytes.NewReader(config),
	})
	return b.Bytes()
}

// aacSequenceHeader is the FLV audio tag body carrying the
// AudioSpecificConfig (AACPacketType 0).
func aacSequenceHeader(p *media.CodecParams) []byte {
	var b bytes.Buffer
	_ = flvtag.EncodeAudioData(&b, aacHeader(p, flvtag.AACPacketTypeSequenceHeader, p.Config))
	return b.Bytes()
}

func aacHeader(p *media.CodecParams, t flvtag.AACPacketType, data []byte) *flvtag.AudioData {
	st := flvtag.SoundTypeStereo
	if p.Channels == 1 {
		st = flvtag.SoundTypeMono
	}
	// For AAC the rate and size bits are fixed (44 kHz, 16 bit); the
	// decoder reads the real ones from the AudioSpecificConfig.
	return &flvtag.AudioData{
		SoundFormat: flvtag.SoundFormatAAC, SoundRate: flvtag.SoundRate44kHz, SoundSize: flvtag.SoundSize16Bit,
		SoundType: st, AACPacketType: t, Data: bytes.NewReader(data),
	}
}

// videoTag is the FLV video tag body of an AVCC access unit: key or inter
// frame, AVCPacketType 1, composition time PTS-DTS in milliseconds.
func videoTag(p *media.Packet) []byte {
	var b bytes.Buffer
	b.Grow(len(p.Data) + 5)
	ft := flvtag.FrameTypeInterFrame
	if p.Keyframe {
		ft = flvtag.FrameTypeKeyFrame
	}
	_ = flvtag.EncodeVideoData(&b, &flvtag.VideoData{
		FrameType: ft, CodecID: flvtag.CodecIDAVC, AVCPacketType: flvtag.AVCPacketTypeNALU,
		CompositionTime: int32(media.ToTicks(p.PTS-p.DTS, 1000)), Data: bytes.NewReader(p.Data),
	})
	return b.Bytes()
}

// audioTag is the FLV audio tag body of a raw AAC frame.
func audioTag(params *media.CodecParams, p *media.Packet) []byte {
	var b bytes.Buffer
	b.Grow(len(p.Data) + 2)
	_ = flvtag.EncodeAudioData(&b, aacHeader(params, flvtag.AACPacketTypeRaw, p.Data))
	return b.Bytes()
}

// onMetaData is the metadata object sent with @setDataFrame.
func onMetaData(v media.CodecParams, a *media.CodecParams) amf0.ECMAArray {
	m := amf0.ECMAArray{
		"width":        float64(v.Width),
		"height":       float64(v.Height),
		"framerate":    v.FPS,
		"videocodecid": float64(flvtag.CodecIDAVC),
		"encoder":      "GoLive",
		"duration":     float64(0),
	}
	if v.Bitrate > 0 {
		m["videodatarate"] = float64(v.Bitrate) / 1000
	}
	if a != nil {
		m["audiocodecid"] = float64(flvtag.SoundFormatAAC)
		m["audiosamplerate"] = float64(a.SampleRate)
		m["audiosamplesize"] = float64(16)
		m["audiochannels"] = float64(a.Channels)
		m["stereo"] = a.Channels == 2
		if a.Bitrate > 0 {
			m["audiodatarate"] = float64(a.Bitrate) / 1000
		}
	}
	return m
}

// flvTimestamp converts a DTS relative to the stream's base into an RTMP
// timestamp in milliseconds (never negative; wraps after 49 days as RTMP
// does).
func flvTimestamp(dts, base time.Duration) uint32 {
	d := dts - base
	if d < 0 {
		d = 0
	}
	return uint32(media.ToTicks(d, 1000))
}
