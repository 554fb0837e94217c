package ingest

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/yutopp/go-amf0"
)

func amfBody(values ...interface{}) []byte {
	var b bytes.Buffer
	enc := amf0.NewEncoder(&b)
	for _, v := range values {
		if err := enc.Encode(v); err != nil {
			panic(err)
		}
	}
	return b.Bytes()
}

// metadataCases drives TestParseMetadata and seeds FuzzParseMetadata.
var metadataCases = []struct {
	name    string
	payload []byte
	ok      bool
	want    Metadata
}{
	{"ffmpeg ecma array", amfBody("onMetaData", amf0.ECMAArray{
		"width": 1280.0, "height": 720.0, "framerate": 30.0, "videocodecid": 7.0,
		"audiocodecid": 10.0, "videodatarate": 2500.0, "encoder": "Lavf59.27.100",
	}), true, Metadata{HasVideo: true, HasAudio: true, VideoCodec: "7", AudioCodec: "10",
		Width: 1280, Height: 720, FPS: 30, VideoKbps: 2500, Encoder: "Lavf59.27.100"}},
	{"object with string codecs, no audio", amfBody("onMetaData", map[string]interface{}{
		"videocodecid": "avc1", "fps": 25.0,
	}), true, Metadata{HasVideo: true, VideoCodec: "avc1", FPS: 25}},
	{"no name", amfBody(amf0.ECMAArray{"width": 640.0}), true, Metadata{Width: 640}},
	{"garbage", []byte{0xFF, 0x00}, false, Metadata{}},
	{"empty", nil, false, Metadata{}},
	{"only a name", amfBody("onMetaData"), false, Metadata{}},
}

func TestParseMetadata(t *testing.T) {
	for _, c := range metadataCases {
		t.Run(c.name, func(t *testing.T) {
			md, ok := ParseMetadata(c.payload)
			require.Equal(t, c.ok, ok)
			require.Equal(t, c.want, md)
		})
	}
}
