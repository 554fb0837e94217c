package hls

import (
	"errors"
	"strconv"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// ErrNoVariants is returned by MultivariantPlaylist when none of the
// variants was ever started.
var ErrNoVariants = errors.New("hls: no variant to list")

// Bitrates that stand in for one nobody declared (a publisher without
// onMetaData videodatarate or audiodatarate), until the first segment is
// measured.
const (
	videoBitrateGuess = 4_000_000
	audioBitrateGuess = 128_000
)

// description is what the multivariant playlist says of a stream, as
// given to Start.
type description struct {
	width, height int
	fps           float64
	// videoCodec and audioCodec are RFC 6381 strings; audioCodec is empty
	// without audio.
	videoCodec, audioCodec string
	// videoBitrate and audioBitrate are the declared bitrates in bit/s (0
	// if unknown).
	videoBitrate, audioBitrate int
}

// MultivariantPlaylist writes the playlist that lists variants, best
// first as given, each with what its muxer's segments measured: BANDWIDTH
// the peak segment bitrate, AVERAGE-BANDWIDTH the average, audio
// included, with RESOLUTION, CODECS and FRAME-RATE. When audio carries
// audio, its audio media playlist is the one audio rendition every
// variant uses (all rungs carry the same AAC stream on the same
// timeline). Variants never started are left out.
func MultivariantPlaylist(variants []*Variant, audio *Variant) ([]byte, error) {
	pl := &playlist.Multivariant{Version: 9, IndependentSegments: true}
	var audioCodec string
	var audioBW Bandwidth
	if audio != nil {
		if d, _, measured, ok := audio.measured(); ok && d.audioCodec != "" {
			uri := audio.Name + "/" + AudioPlaylist
			pl.Renditions = append(pl.Renditions, &playlist.MultivariantRendition{
				Type: playlist.MultivariantRenditionTypeAudio, GroupID: "audio", Name: "main",
				Autoselect: true, Default: true, URI: &uri,
			})
			audioCodec = d.audioCodec
			audioBW = measuredOr(measured, d.audioBitrate, audioBitrateGuess)
		}
	}
	for _, v := range variants {
		d, measured, _, ok := v.measured()
		if !ok {
			continue
		}
		video := measuredOr(measured, d.videoBitrate, videoBitrateGuess)
		avg := video.Average + audioBW.Average
		mv := &playlist.MultivariantVariant{
			Bandwidth:        video.Peak + audioBW.Peak,
			AverageBandwidth: &avg,
			Codecs:           []string{d.videoCodec},
			Resolution:       strconv.Itoa(d.width) + "x" + strconv.Itoa(d.height),
			URI:              v.Name + "/" + VideoPlaylist,
		}
		if d.fps > 0 {
			fps := d.fps
			mv.FrameRate = &fps
		}
		if audioCodec != "" {
			mv.Codecs = append(mv.Codecs, audioCodec)
			mv.Audio = "audio"
		}
		pl.Variants = append(pl.Variants, mv)
	}
	if len(pl.Variants) == 0 {
		return nil, ErrNoVariants
	}
	return pl.Marshal()
}

// measuredOr returns the measured bandwidth, or before the first segment
// is measured the declared bitrate (guess when none was declared) with a
// fifth on top for the peak.
//
// Why a floor, and only then: a player that loads the multivariant
// playlist as the stream starts must see a BANDWIDTH for every variant,
// and the declared rates rank the variants as their encoders were told
// to. Once segments are measured, the bytes alone count. Commit aee9d4b
// held the measured source at least at its declared rate because the
// lower rungs were listed at their declared targets, and a simple
// picture made the source look cheaper than 480p; now every variant is
// measured the same way, from what its own muxer produced, so a declared
// rate would only overstate a variant.
func measuredOr(measured Bandwidth, declared, guess int) Bandwidth {
	if measured.Segments > 0 {
		return measured
	}
	if declared <= 0 {
		declared = guess
	}
	return Bandwidth{Peak: declared * 6 / 5, Average: declared}
}
