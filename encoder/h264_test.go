package encoder

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/media"
)

// h264Cases drives the encode → check → decode → ffprobe test.
var h264Cases = []struct {
	name          string
	w, h, fps     int
	frames        int
	bitrate       int
	keyint        time.Duration
	forceKeyAt    []int // frame indexes given forceKey
	wantKeyFrames []int // frame indexes expected to be keyframes
}{
	{name: "320x240@30 2s GOP", w: 320, h: 240, fps: 30, frames: 150, bitrate: 500_000,
		wantKeyFrames: []int{0, 60, 120}},
	{name: "256x144@25 1s GOP", w: 256, h: 144, fps: 25, frames: 60, bitrate: 300_000, keyint: time.Second,
		wantKeyFrames: []int{0, 25, 50}},
	{name: "forced keyframes", w: 192, h: 108, fps: 30, frames: 45, bitrate: 200_000,
		forceKeyAt: []int{10, 17}, wantKeyFrames: []int{0, 10, 17}},
}

// encodeAll encodes frames and flushes, returning every packet in order.
func encodeAll(t *testing.T, e *H264, frames []*media.VideoFrame, forceKeyAt []int) []*media.Packet {
	t.Helper()
	var out []*media.Packet
	for i, f := range frames {
		pkts, err := e.Encode(f, contains(forceKeyAt, i))
		require.NoError(t, err, "frame %d", i)
		out = append(out, pkts...)
	}
	pkts, err := e.Flush()
	require.NoError(t, err)
	return append(out, pkts...)
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestH264EncodeDecode(t *testing.T) {
	for _, tc := range h264Cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &H264{Encoder: "libx264", Width: tc.w, Height: tc.h, FPS: tc.fps, Bitrate: tc.bitrate,
				KeyframeInterval: tc.keyint, Logger: quietLogger()}
			require.NoError(t, e.Initialize())
			defer e.Close()
			require.Equal(t, "libx264", e.Name())
			require.False(t, e.Hardware())

			frames := make([]*media.VideoFrame, tc.frames)
			for i := range frames {
				frames[i] = patternFrame(tc.w, tc.h, i, tc.fps, false)
			}
			pkts := encodeAll(t, e, frames, tc.forceKeyAt)
			require.Len(t, pkts, tc.frames, "one packet per frame")

			// Params: the configuration record parses and describes the stream.
			params := e.Params()
			require.Equal(t, media.CodecH264, params.Codec)
			require.Equal(t, tc.w, params.Width)
			require.Equal(t, tc.h, params.Height)
			var cfg media.AVCConfig
			require.NoError(t, cfg.Unmarshal(params.Config))
			require.Len(t, cfg.SPS, 1)
			require.Len(t, cfg.PPS, 1)
			profile, _, _ := cfg.Profile()
			require.EqualValues(t, 100, profile, "High profile")
			var sps h264.SPS
			require.NoError(t, sps.Unmarshal(cfg.SPS[0]))
			require.Equal(t, tc.w, sps.Width())
			require.Equal(t, tc.h, sps.Height())

			// Packets: AVCC without parameter sets, PTS = frame PTS, DTS = PTS
			// (no B-frames), keyframes exactly where expected and IDR inside.
			var keys []int
			for i, p := range pkts {
				require.Equal(t, media.CodecH264, p.Codec)
				require.Equal(t, frames[i].PTS, p.PTS, "packet %d PTS", i)
				require.Equal(t, p.PTS, p.DTS, "packet %d DTS", i)
				nalus, err := media.AVCCToNALUs(p.Data)
				require.NoError(t, err, "packet %d", i)
				idr := false
				for _, n := range nalus {
					typ := h264.NALUType(n[0] & 0x1F)
					require.NotEqual(t, h264.NALUTypeSPS, typ)
					require.NotEqual(t, h264.NALUTypePPS, typ)
					require.NotEqual(t, h264.NALUTypeAccessUnitDelimiter, typ)
					idr = idr || typ == h264.NALUTypeIDR
				}
				require.Equal(t, p.Keyframe, idr, "packet %d: keyframe flag vs IDR", i)
				if p.Keyframe {
					keys = append(keys, i)
				}
			}
			require.Equal(t, tc.wantKeyFrames, keys)
			st := e.Stats()
			require.EqualValues(t, tc.frames, st.FramesIn)
			require.EqualValues(t, tc.frames, st.FramesOut)
			require.EqualValues(t, len(tc.wantKeyFrames), st.Keyframes)
			require.Equal(t, "libx264", st.Encoder)

			// Decode back with our decoder.
			d := &H264Decoder{Params: params, Logger: quietLogger()}
			require.NoError(t, d.Initialize())
			defer d.Close()
			var decoded []*media.VideoFrame
			for _, p := range pkts {
				fs, err := d.Decode(p)
				require.NoError(t, err)
				decoded = append(decoded, fs...)
			}
			fs, err := d.Decode(nil)
			require.NoError(t, err)
			decoded = append(decoded, fs...)
			require.Len(t, decoded, tc.frames)
			for i, f := range decoded {
				require.Equal(t, tc.w, f.Width)
				require.Equal(t, tc.h, f.Height)
				require.Equal(t, frames[i].PTS, f.PTS)
				require.NoError(t, f.Validate())
			}
			// The picture survives (mean absolute luma error is small).
			mid := tc.frames / 2
			require.Less(t, meanAbsDiff(frames[mid].Y, decoded[mid].Y), 12.0)

			// Real ffprobe reads the Annex-B elementary stream.
			probeAnnexB(t, cfg, pkts, tc.w, tc.h, tc.frames)
		})
	}
}

func meanAbsDiff(a, b []byte) float64 {
	var sum int
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		sum += d
	}
	return float64(sum) / float64(len(a))
}

// probeAnnexB writes the packets as a raw .h264 stream (SPS/PPS before each
// keyframe) and checks ffprobe's view of it.
func probeAnnexB(t *testing.T, cfg media.AVCConfig, pkts []*media.Packet, w, h, frames int) {
	t.Helper()
	ffprobe := peers.RequireTool(t, "ffprobe")
	var stream []byte
	params := append(append([][]byte(nil), cfg.SPS...), cfg.PPS...)
	for _, p := range pkts {
		var ps [][]byte
		if p.Keyframe {
			ps = params
		}
		b, err := media.AVCCToAnnexB(p.Data, ps)
		require.NoError(t, err)
		stream = append(stream, b...)
	}
	path := filepath.Join(t.TempDir(), "out.h264")
	require.NoError(t, os.WriteFile(path, stream, 0o644))
	out := runTool(t, ffprobe, "-v", "error", "-count_frames", "-show_streams", "-of", "json", path)
	var res struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			Profile      string `json:"profile"`
			Width        int    `json:"width"`
			Height       int    `json:"height"`
			PixFmt       string `json:"pix_fmt"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	require.NoError(t, json.Unmarshal(out, &res), "ffprobe output: %s", out)
	require.Len(t, res.Streams, 1)
	s := res.Streams[0]
	require.Equal(t, "h264", s.CodecName)
	require.Equal(t, "High", s.Profile)
	require.Equal(t, w, s.Width)
	require.Equal(t, h, s.Height)
	require.Equal(t, "yuv420p", s.PixFmt)
	require.Equal(t, strconv.Itoa(frames), s.NbReadFrames)
}

// TestH264SetBitrate checks that changing the bitrate mid-stream really
// changes libx264's output, against an identical encoder left alone, that
// the new rate is met, and that SetBitrate is safe from another goroutine.
func TestH264SetBitrate(t *testing.T) {
	cases := []struct {
		name     string
		from, to int
	}{
		{"lower 1.5M to 150k", 1_500_000, 150_000},
		{"raise 150k to 1.5M", 150_000, 1_500_000},
	}
	const w, h, fps, n, switchAt = 320, 240, 30, 120, 30
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			newEnc := func() *H264 {
				e := &H264{Encoder: "libx264", Width: w, Height: h, FPS: fps, Bitrate: tc.from, Logger: quietLogger()}
				require.NoError(t, e.Initialize())
				t.Cleanup(e.Close)
				return e
			}
			ref, changed := newEnc(), newEnc()
			var refBytes, changedBytes int
			var wg sync.WaitGroup
			for i := range n {
				f := patternFrame(w, h, i, fps, true)
				if i == switchAt {
					wg.Add(1)
					go func() { // from another goroutine, as the congestion controller does
						defer wg.Done()
						changed.SetBitrate(tc.to)
						_ = changed.Stats()
					}()
					wg.Wait()
				}
				for _, c := range []struct {
					e   *H264
					sum *int
				}{{ref, &refBytes}, {changed, &changedBytes}} {
					pkts, err := c.e.Encode(f, false)
					require.NoError(t, err)
					if i >= switchAt+fps { // after a second to let VBV settle
						for _, p := range pkts {
							*c.sum += len(p.Data)
						}
					}
				}
			}
			require.Equal(t, tc.to, changed.Stats().Bitrate)
			require.Equal(t, tc.to, changed.Params().Bitrate)
			require.Equal(t, tc.from, ref.Stats().Bitrate)
			maxrate, bufsize := changed.contextRate(t)
			require.Equal(t, tc.to, maxrate)
			require.Equal(t, tc.to, bufsize)
			ratio := float64(changedBytes) / float64(refBytes)
			t.Logf("bytes after switch: reference %d, changed %d (%.2f)", refBytes, changedBytes, ratio)
			want := float64(tc.to) / float64(tc.from)
			require.Greater(t, ratio, want/2.5, "output must follow the new bitrate")
			require.Less(t, ratio, want*2.5, "output must follow the new bitrate")
			// The changed stream's rate over the last 2 s is near its new target.
			seconds := float64(n-switchAt-fps) / fps
			require.Less(t, float64(changedBytes*8)/seconds, 1.5*float64(tc.to))
		})
	}
}

// contextRate reads rc_max_rate and rc_buffer_size from the codec context.
func (e *H264) contextRate(t *testing.T) (int, int) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	return int(e.cc.RateControlMaxRate()), e.cc.RateControlBufferSize()
}

func TestH264BadConfig(t *testing.T) {
	cases := []struct {
		name string
		e    *H264
		want error
	}{
		{"odd width", &H264{Encoder: "libx264", Width: 321, Height: 240, FPS: 30}, ErrBadConfig},
		{"odd height", &H264{Encoder: "libx264", Width: 320, Height: 241, FPS: 30}, ErrBadConfig},
		{"zero width", &H264{Encoder: "libx264", Width: 0, Height: 240, FPS: 30}, ErrBadConfig},
		{"zero size", &H264{Encoder: "libx264", FPS: 30}, ErrBadConfig},
		{"fps 0", &H264{Encoder: "libx264", Width: 320, Height: 240}, ErrBadConfig},
		{"negative bitrate", &H264{Encoder: "libx264", Width: 320, Height: 240, FPS: 30, Bitrate: -1}, ErrBadConfig},
		{"negative keyint", &H264{Encoder: "libx264", Width: 320, Height: 240, FPS: 30, KeyframeInterval: -time.Second}, ErrBadConfig},
		{"unknown encoder", &H264{Encoder: "h264_nosuch", Width: 320, Height: 240, FPS: 30}, ErrEncoderNotFound},
		{"bad preset", &H264{Encoder: "libx264", Width: 320, Height: 240, FPS: 30, Preset: "warp9"}, ErrOpen},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.e
			e.Logger = quietLogger()
			err := e.Initialize()
			require.Error(t, err)
			require.ErrorIs(t, err, tc.want)
			e.Close()
			e.Close()
		})
	}
}

func TestH264Lifecycle(t *testing.T) {
	e := &H264{Encoder: "libx264", Width: 64, Height: 64, FPS: 30, Logger: quietLogger()}
	_, err := e.Encode(patternFrame(64, 64, 0, 30, false), false)
	require.ErrorIs(t, err, ErrNotInitialized)
	require.NoError(t, e.Initialize())
	require.ErrorIs(t, e.Initialize(), ErrBadConfig, "second Initialize")
	_, err = e.Encode(patternFrame(32, 32, 0, 30, false), false)
	require.ErrorIs(t, err, ErrFrameSize)
	_, err = e.Encode(&media.VideoFrame{Width: 64, Height: 64}, false)
	require.ErrorIs(t, err, media.ErrBadFrame)
	require.EqualValues(t, 3, e.Stats().Skipped) // not initialized, wrong size, bad frame
	// Equal PTS twice: nudged forward, both encoded.
	pkts := encodeAll(t, e, []*media.VideoFrame{patternFrame(64, 64, 0, 30, false), patternFrame(64, 64, 0, 30, false)}, nil)
	require.Len(t, pkts, 2)
	require.Less(t, pkts[0].PTS, pkts[1].PTS)
	require.EqualValues(t, 1, e.Stats().Retimed)
	_, err = e.Encode(patternFrame(64, 64, 1, 30, false), false)
	require.ErrorIs(t, err, ErrClosed)
	e.Close()
	e.Close()
	_, err = e.Encode(patternFrame(64, 64, 2, 30, false), false)
	require.ErrorIs(t, err, ErrClosed)
}

// TestH264AutoFallback checks that "auto" walks a failing candidate list,
// logs why each failed, and lands on libx264.
func TestH264AutoFallback(t *testing.T) {
	cases := []struct {
		name       string
		candidates []string
		want       string
		wantErr    error
	}{
		{"missing then libx264", []string{"h264_nosuch", "libx264"}, "libx264", nil},
		{"hardware unavailable here then libx264", []string{"h264_nvenc", "h264_vaapi", "h264_qsv", "libx264"}, "libx264", nil},
		{"nothing opens", []string{"h264_nosuch", "h264_nosuch2"}, "", ErrOpen},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			e := &H264{Width: 128, Height: 96, FPS: 30, Candidates: tc.candidates, Logger: testLogger(&logs)}
			err := e.Initialize()
			defer e.Close()
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				for _, c := range tc.candidates {
					require.Contains(t, err.Error(), c)
				}
				return
			}
			if errors.Is(err, ErrOpen) && strings.Contains(err.Error(), "libx264") {
				t.Fatalf("libx264 failed: %v", err)
			}
			require.NoError(t, err)
			name := e.Name()
			if name != tc.want {
				// A machine with working hardware may open it first: fine, but say so.
				require.True(t, e.Hardware(), "opened %s", name)
				t.Logf("hardware encoder %s works here", name)
				return
			}
			require.Equal(t, tc.want, e.Stats().Encoder)
			out := logs.String()
			require.Contains(t, out, "h264 encoder opened")
			for _, c := range tc.candidates[:len(tc.candidates)-1] {
				require.Contains(t, out, "encoder="+c, "log says why %s was skipped", c)
				if needs := encoderSettings(c, e).Needs; needs != "" {
					require.Contains(t, out, "(needs "+needs+")", "log says what %s needs", c)
					require.NotContains(t, out, "(needs "+needs+") (needs", "said once per error")
				}
			}
			pkts, err := e.Encode(patternFrame(128, 96, 0, 30, false), true)
			require.NoError(t, err)
			more, err := e.Flush()
			require.NoError(t, err)
			require.Len(t, append(pkts, more...), 1)
		})
	}
}

func TestAutoOrder(t *testing.T) {
	cases := []struct {
		goos string
		want []string
	}{
		{"linux", []string{"h264_nvenc", "h264_vaapi", "h264_qsv", "libx264"}},
		{"darwin", []string{"h264_videotoolbox", "libx264"}},
		{"windows", []string{"h264_nvenc", "h264_qsv", "h264_amf", "h264_mf", "libx264"}},
		{"plan9", []string{"libx264"}},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, AutoOrder(tc.goos), tc.goos)
	}
}

func TestProbe(t *testing.T) {
	res := Probe(quietLogger())
	require.NotEmpty(t, res)
	last := res[len(res)-1]
	require.Equal(t, "libx264", last.Name)
	require.False(t, last.Hardware)
	require.NoError(t, last.Err)
	for _, r := range res[:len(res)-1] {
		require.True(t, r.Hardware, r.Name)
		t.Logf("%s: %v", r.Name, r.Err)
	}
}
