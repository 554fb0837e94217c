package ingest

import (
	"bytes"
	"strconv"

	"github.com/yutopp/go-amf0"
)

// Metadata is what a publisher's onMetaData says about its stream. Every
// field is optional; encoders differ in what they send (ffmpeg, OBS, Larix
// and friends use numbers or strings for codec ids, objects or ECMA arrays).
type Metadata struct {
	// HasVideo and HasAudio report whether a video or audio codec id was
	// announced.
	HasVideo, HasAudio bool
	// VideoCodec and AudioCodec are the announced codec ids as text
	// ("7", "avc1", "10", "mp4a").
	VideoCodec, AudioCodec string
	// Width, Height and FPS are the announced picture size and rate.
	Width, Height int
	FPS           float64
	// VideoKbps and AudioKbps are the announced bitrates in kbit/s.
	VideoKbps, AudioKbps float64
	// Encoder is the announced encoder name.
	Encoder string
}

// ParseMetadata decodes the AMF0 body of an @setDataFrame/onMetaData data
// message. It returns ok=false when no metadata object is found; it never
// fails on unexpected types, and never hands go-amf0 a body whose counts
// exceed its size.
func ParseMetadata(payload []byte) (md Metadata, ok bool) {
	if checkAMF0(payload) != nil {
		return md, false // go-amf0 would trust its counts
	}
	dec := amf0.NewDecoder(bytes.NewReader(payload))
	for range 4 {
		var v interface{}
		if err := dec.Decode(&v); err != nil {
			return md, false
		}
		var obj map[string]interface{}
		switch m := v.(type) {
		case map[string]interface{}:
			obj = m
		case amf0.ECMAArray:
			obj = m
		default:
			continue // "onMetaData" name, nulls
		}
		md.VideoCodec, md.HasVideo = text(obj["videocodecid"])
		md.AudioCodec, md.HasAudio = text(obj["audiocodecid"])
		md.Width = int(number(obj["width"]))
		md.Height = int(number(obj["height"]))
		md.FPS = number(obj["framerate"])
		if md.FPS == 0 {
			md.FPS = number(obj["fps"])
		}
		md.VideoKbps = number(obj["videodatarate"])
		md.AudioKbps = number(obj["audiodatarate"])
		md.Encoder, _ = obj["encoder"].(string)
		return md, true
	}
	return md, false
}

func number(v interface{}) float64 {
	switch n := v.(type) {
	case float64:
		if n != n || n < 0 || n > 1e9 { // NaN or absurd
			return 0
		}
		return n
	case bool:
		if n {
			return 1
		}
	}
	return 0
}

func text(v interface{}) (string, bool) {
	switch n := v.(type) {
	case string:
		return n, true
	case float64:
		if n != n {
			return "", false
		}
		return formatFloat(n), true
	}
	return "", false
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
