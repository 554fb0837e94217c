package encoder

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/media"
)

// externalStreams are H.264 streams made by the ffmpeg CLI, as OBS or a
// phone would publish them: B-frames, other chroma formats.
var externalStreams = []struct {
	name    string
	args    []string
	w, h    int
	frames  int
	bframes bool
}{
	{name: "main 4:2:0 with B-frames", w: 320, h: 240, frames: 30, bframes: true,
		args: []string{"-pix_fmt", "yuv420p", "-profile:v", "main", "-bf", "2"}},
	{name: "high 4:2:2 converted to 4:2:0", w: 256, h: 144, frames: 20,
		args: []string{"-pix_fmt", "yuv422p", "-profile:v", "high422", "-bf", "0"}},
	{name: "high 4:4:4 converted to 4:2:0", w: 192, h: 108, frames: 20,
		args: []string{"-pix_fmt", "yuv444p", "-profile:v", "high444", "-bf", "0"}},
}

// splitAccessUnits splits an Annex-B stream written with aud=1 into
// access units and the parameter sets.
func splitAccessUnits(t *testing.T, stream []byte) (media.AVCConfig, [][][]byte) {
	t.Helper()
	var nalus h264.AnnexB
	require.NoError(t, nalus.Unmarshal(stream))
	cfg := media.ParamsFromNALUs(nalus)
	var aus [][][]byte
	for _, n := range nalus {
		if h264.NALUType(n[0]&0x1F) == h264.NALUTypeAccessUnitDelimiter {
			aus = append(aus, nil)
			continue
		}
		require.NotEmpty(t, aus, "stream must start with an AUD")
		aus[len(aus)-1] = append(aus[len(aus)-1], n)
	}
	return cfg, aus
}

func TestH264DecoderExternalStreams(t *testing.T) {
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	for _, tc := range externalStreams {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.h264")
			args := append([]string{"-hide_banner", "-loglevel", "error", "-f", "lavfi",
				"-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", tc.w, tc.h), "-frames:v", fmt.Sprint(tc.frames),
				"-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "aud=1"}, tc.args...)
			runTool(t, ffmpeg, append(args, "-f", "h264", path)...)
			stream, err := os.ReadFile(path)
			require.NoError(t, err)
			cfg, aus := splitAccessUnits(t, stream)
			require.Len(t, aus, tc.frames)
			config, err := cfg.Marshal()
			require.NoError(t, err)

			d := &H264Decoder{Params: media.CodecParams{Codec: media.CodecH264, Config: config}, Threads: 2, Logger: quietLogger()}
			require.NoError(t, d.Initialize())
			defer d.Close()
			var got []*media.VideoFrame
			for i, au := range aus {
				data, err := media.NALUsToAVCC(au, true)
				require.NoError(t, err)
				ts := time.Duration(i) * time.Second / 30
				out, err := d.Decode(&media.Packet{Codec: media.CodecH264, Data: data, PTS: ts, DTS: ts})
				require.NoError(t, err)
				got = append(got, out...)
			}
			out, err := d.Decode(nil)
			require.NoError(t, err)
			got = append(got, out...)
			require.Len(t, got, tc.frames)

			// DecodePictures lends the same (converted) pictures without copying.
			z := &H264Decoder{Params: media.CodecParams{Codec: media.CodecH264, Config: config}, Threads: 2, Logger: quietLogger()}
			require.NoError(t, z.Initialize())
			defer z.Close()
			var lent []*media.VideoFrame
			keep := func(p *Picture) { lent = append(lent, p.VideoFrame()) }
			for i, au := range aus {
				data, err := media.NALUsToAVCC(au, true)
				require.NoError(t, err)
				ts := time.Duration(i) * time.Second / 30
				require.NoError(t, z.DecodePictures(&media.Packet{Codec: media.CodecH264, Data: data, PTS: ts, DTS: ts}, keep))
			}
			require.NoError(t, z.DecodePictures(nil, keep))
			require.Equal(t, got, lent)
			for _, f := range got {
				require.Equal(t, tc.w, f.Width)
				require.Equal(t, tc.h, f.Height)
				require.NoError(t, f.Validate())
				require.Len(t, f.U, (tc.w/2)*(tc.h/2), "4:2:0 chroma")
			}
			// testsrc2 is colourful: chroma must not be flat grey after conversion.
			var spread int
			for _, v := range got[0].U {
				spread = max(spread, abs(int(v)-128))
			}
			require.Greater(t, spread, 20)
		})
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestH264DecoderErrors(t *testing.T) {
	cases := []struct {
		name   string
		params media.CodecParams
	}{
		{"no config", media.CodecParams{Codec: media.CodecH264}},
		{"garbage config", media.CodecParams{Codec: media.CodecH264, Config: []byte{1, 2, 3, 4, 5, 6, 7, 8}}},
		{"aac params", media.CodecParams{Codec: media.CodecAAC, Config: []byte{0x11, 0x90}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &H264Decoder{Params: tc.params, Logger: quietLogger()}
			require.ErrorIs(t, d.Initialize(), ErrBadConfig)
			d.Close()
		})
	}
	d := &H264Decoder{Logger: quietLogger()}
	_, err := d.Decode(&media.Packet{Data: []byte{0, 0, 0, 1, 0x65}})
	require.ErrorIs(t, err, ErrNotInitialized)
	require.ErrorIs(t, d.DecodePictures(&media.Packet{Data: []byte{0, 0, 0, 1, 0x65}}, func(*Picture) {}), ErrNotInitialized)
	d.Close()
	_, err = d.Decode(&media.Packet{Data: []byte{0, 0, 0, 1, 0x65}})
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, d.DecodePictures(nil, func(*Picture) {}), ErrClosed)
}

// fuzzDecoderSeeds encodes a few frames of each h264Cases size and returns
// the configuration record of the first and every packet as seeds.
func fuzzDecoderSeeds(f *testing.F) []byte {
	f.Helper()
	var config []byte
	for _, tc := range h264Cases[:2] {
		e := &H264{Encoder: "libx264", Width: tc.w, Height: tc.h, FPS: tc.fps, Bitrate: tc.bitrate, Logger: quietLogger()}
		if err := e.Initialize(); err != nil {
			f.Fatal(err)
		}
		for i := range 3 {
			pkts, err := e.Encode(patternFrame(tc.w, tc.h, i, tc.fps, false), false)
			if err != nil {
				f.Fatal(err)
			}
			for _, p := range pkts {
				f.Add(p.Data)
			}
		}
		if config == nil {
			config = e.Params().Config
		}
		e.Close()
	}
	f.Add([]byte{0, 0, 0, 1, 0x65, 0x88})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	return config
}

// FuzzH264Decode feeds arbitrary packet payloads (what a hostile RTMP
// publisher can send to the ladder) to the decoder: it may refuse them but
// must not crash, hang or return a malformed frame.
func FuzzH264Decode(f *testing.F) {
	// Corrupt input makes FFmpeg log per macroblock; fuzz workers stall
	// once their stderr pipe fills, so FFmpeg's log is dropped here.
	RouteFFmpegLog(slog.New(slog.DiscardHandler))
	f.Cleanup(func() { RouteFFmpegLog(quietLogger()) })
	config := fuzzDecoderSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &H264Decoder{Params: media.CodecParams{Codec: media.CodecH264, Config: config}, Threads: 1, Logger: quietLogger()}
		require.NoError(t, d.Initialize())
		defer d.Close()
		z := &H264Decoder{Params: media.CodecParams{Codec: media.CodecH264, Config: config}, Threads: 1, Logger: quietLogger()}
		require.NoError(t, z.Initialize())
		defer z.Close()
		for _, p := range []*media.Packet{{Data: data, Keyframe: true}, {Data: data, PTS: time.Millisecond, DTS: time.Millisecond}, nil} {
			frames, _ := d.Decode(p)
			for _, fr := range frames {
				require.NoError(t, fr.Validate())
			}
			// The ladder's path: pictures lent in FFmpeg memory.
			_ = z.DecodePictures(p, func(pic *Picture) {
				require.Positive(t, pic.Width())
				require.NoError(t, pic.VideoFrame().Validate())
			})
		}
	})
}
