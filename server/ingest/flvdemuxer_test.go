package ingest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/media"
)

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x03, 0xc5, 0x0a, 0xa8}
	testPPS = []byte{0x68, 0xce, 0x0f, 0xc8}
	testASC = []byte{0x11, 0x90} // AAC-LC, 48 kHz, stereo
)

func avcRecord(t testing.TB) []byte {
	rec, err := media.AVCConfig{SPS: [][]byte{testSPS}, PPS: [][]byte{testPPS}}.Marshal()
	require.NoError(t, err)
	return rec
}

// videoTag builds an FLV video tag body: frame type, AVC packet type,
// composition time (ms) and data.
func videoTag(frameType, pktType byte, cts int32, data []byte) []byte {
	b := []byte{frameType<<4 | 7, pktType, byte(cts >> 16), byte(cts >> 8), byte(cts)}
	return append(b, data...)
}

func audioTag(pktType byte, data []byte) []byte {
	return append([]byte{0xAF, pktType}, data...)
}

var idrAVCC = []byte{0, 0, 0, 3, 0x65, 0x88, 0x80}

// withParams is an access unit carrying SPS, PPS and an IDR in-band.
var withParams = func() []byte {
	b := []byte{0, 0, 0, byte(len(testSPS))}
	b = append(b, testSPS...)
	b = append(b, 0, 0, 0, byte(len(testPPS)))
	b = append(b, testPPS...)
	return append(b, idrAVCC...)
}()

// demuxStep is one tag fed to a demuxer and what it must produce.
type demuxStep struct {
	video   bool
	ts      uint32
	payload []byte
	params  bool   // new codec parameters expected
	packet  bool   // a packet expected
	pts     int64  // its PTS in ms
	data    []byte // its data, if checked
	err     error
}

// demuxCases drives TestFLVDemuxer and seeds the fuzz targets.
func demuxCases(t testing.TB) []struct {
	name  string
	steps []demuxStep
} {
	rec := avcRecord(t)
	return []struct {
		name  string
		steps []demuxStep
	}{
		{"h264 and aac", []demuxStep{
			{video: true, ts: 0, payload: videoTag(1, 1, 0, idrAVCC)}, // before the header: dropped
			{video: true, ts: 0, payload: videoTag(1, 0, 0, rec), params: true},
			{video: false, ts: 0, payload: audioTag(0, testASC), params: true},
			{video: true, ts: 0, payload: videoTag(1, 1, 66, idrAVCC), packet: true, pts: 66, data: idrAVCC},
			{video: false, ts: 21, payload: audioTag(1, []byte{0x21, 0x10}), packet: true, pts: 21},
			{video: true, ts: 33, payload: videoTag(2, 1, 0, idrAVCC), packet: true, pts: 33},
		}},
		{"repeated sequence headers", []demuxStep{
			{video: true, ts: 0, payload: videoTag(1, 0, 0, rec), params: true},
			{video: true, ts: 1000, payload: videoTag(1, 0, 0, rec)},
			{video: false, ts: 0, payload: audioTag(0, testASC), params: true},
			{video: false, ts: 1000, payload: audioTag(0, testASC)},
		}},
		{"in-band parameter sets stripped", []demuxStep{
			{video: true, ts: 0, payload: videoTag(1, 0, 0, rec), params: true},
			{video: true, ts: 40, payload: videoTag(1, 1, 0, withParams), packet: true, pts: 40, data: idrAVCC},
		}},
		{"timestamp jump back", []demuxStep{
			{video: true, ts: 0, payload: videoTag(1, 0, 0, rec), params: true},
			{video: true, ts: 5000, payload: videoTag(1, 1, 0, idrAVCC), packet: true, pts: 5000},
			{video: true, ts: 0, payload: videoTag(1, 1, 0, idrAVCC), packet: true, pts: 5001},
			{video: true, ts: 33, payload: videoTag(2, 1, 0, idrAVCC), packet: true, pts: 5034},
		}},
		{"timestamp jump forward", []demuxStep{
			{video: true, ts: 0, payload: videoTag(1, 0, 0, rec), params: true},
			{video: true, ts: 100, payload: videoTag(1, 1, 0, idrAVCC), packet: true, pts: 100},
			{video: true, ts: 4000000000, payload: videoTag(2, 1, 0, idrAVCC), packet: true, pts: 101},
		}},
		{"unsupported video codec", []demuxStep{
			{video: true, payload: []byte{0x12, 0, 0, 0}, err: ErrUnsupportedCodec},
		}},
		{"enhanced rtmp hevc", []demuxStep{
			{video: true, payload: []byte{0x90, 'h', 'v', 'c', '1', 0}, err: ErrUnsupportedCodec},
		}},
		{"mp3 audio", []demuxStep{
			{video: false, payload: []byte{0x2F, 0xFF, 0xFB}, err: ErrUnsupportedCodec},
		}},
		{"truncated avc packet", []demuxStep{
			{video: true, payload: []byte{0x17, 0x01}, err: ErrBadTag},
		}},
		{"truncated aac packet", []demuxStep{
			{video: false, payload: []byte{0xAF}, err: ErrBadTag},
		}},
		{"bad sequence header", []demuxStep{
			{video: true, payload: videoTag(1, 0, 0, []byte{1, 2, 3}), err: ErrBadTag},
			{video: false, payload: audioTag(0, []byte{0xFF}), err: ErrBadTag},
		}},
		{"bad avcc length", []demuxStep{
			{video: true, ts: 0, payload: videoTag(1, 0, 0, rec), params: true},
			{video: true, ts: 0, payload: videoTag(1, 1, 0, []byte{0, 0, 0, 9, 0x65}), err: ErrBadTag},
		}},
		{"end of sequence and video info ignored", []demuxStep{
			{video: true, payload: videoTag(1, 0, 0, rec), params: true},
			{video: true, payload: videoTag(1, 2, 0, nil)},
			{video: true, payload: []byte{0x57, 0}},
		}},
	}
}

func TestFLVDemuxer(t *testing.T) {
	for _, c := range demuxCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var d FLVDemuxer
			for i, s := range c.steps {
				var res TagResult
				var err error
				if s.video {
					res, err = d.Video(s.ts, s.payload)
				} else {
					res, err = d.Audio(s.ts, s.payload)
				}
				if s.err != nil {
					require.ErrorIs(t, err, s.err, "step %d", i)
					continue
				}
				require.NoError(t, err, "step %d", i)
				require.Equal(t, s.params, res.Params != nil, "step %d params", i)
				require.Equal(t, s.packet, res.Packet != nil, "step %d packet", i)
				if res.Packet != nil {
					require.Equal(t, time.Duration(s.pts)*time.Millisecond, res.Packet.PTS, "step %d pts", i)
					if s.data != nil {
						require.Equal(t, s.data, res.Packet.Data, "step %d data", i)
					}
				}
			}
		})
	}
}

func TestFLVDemuxerParams(t *testing.T) {
	var d FLVDemuxer
	res, err := d.Video(0, videoTag(1, 0, 0, avcRecord(t)))
	require.NoError(t, err)
	require.Equal(t, media.CodecH264, res.Params.Codec)
	require.Equal(t, 320, res.Params.Width)
	require.Equal(t, 240, res.Params.Height)
	res, err = d.Audio(0, audioTag(0, testASC))
	require.NoError(t, err)
	require.Equal(t, 48000, res.Params.SampleRate)
	require.Equal(t, 2, res.Params.Channels)
}

// FuzzFLVDemuxer feeds arbitrary tag bodies, after valid sequence headers,
// to both tag parsers: they must return an error or well-formed output.
func FuzzFLVDemuxer(f *testing.F) {
	for _, c := range demuxCases(f) {
		for _, s := range c.steps {
			f.Add(s.video, s.ts, s.payload)
		}
	}
	rec := avcRecord(f)
	f.Fuzz(func(t *testing.T, video bool, ts uint32, payload []byte) {
		var d FLVDemuxer
		_, err := d.Video(0, videoTag(1, 0, 0, rec))
		require.NoError(t, err)
		_, err = d.Audio(0, audioTag(0, testASC))
		require.NoError(t, err)
		var res TagResult
		if video {
			res, err = d.Video(ts, payload)
		} else {
			res, err = d.Audio(ts, payload)
		}
		if err != nil {
			return
		}
		if p := res.Packet; p != nil {
			require.NotEmpty(t, p.Data)
			require.GreaterOrEqual(t, p.DTS, time.Duration(0))
			if p.Codec == media.CodecH264 {
				_, err := media.AVCCToNALUs(p.Data)
				require.NoError(t, err)
			}
		}
		if p := res.Params; p != nil && p.Codec == media.CodecH264 {
			require.Positive(t, p.Width)
			require.Positive(t, p.Height)
		}
	})
}

// FuzzSequenceHeaders feeds arbitrary AVC and AAC sequence headers.
func FuzzSequenceHeaders(f *testing.F) {
	f.Add(avcRecord(f))
	f.Add(testASC)
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, buf []byte) {
		if p, err := parseAVCSequenceHeader(buf); err == nil {
			var c media.AVCConfig
			require.NoError(t, c.Unmarshal(p.Config))
			require.Positive(t, p.Width)
		}
		if p, err := parseAACSequenceHeader(buf); err == nil {
			require.Positive(t, p.SampleRate)
			require.Positive(t, p.Channels)
		}
	})
}

// FuzzParseMetadata feeds arbitrary onMetaData bodies.
func FuzzParseMetadata(f *testing.F) {
	for _, c := range metadataCases {
		f.Add(c.payload)
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		md, ok := ParseMetadata(buf)
		if !ok {
			return
		}
		require.GreaterOrEqual(t, md.FPS, 0.0)
		require.GreaterOrEqual(t, md.VideoKbps, 0.0)
	})
}
