package encoder

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/media"
)

// aacCases drives the AAC tests: one second of tone in blocks of the
// given size, at various input formats.
var aacCases = []struct {
	name         string
	inRate, inCh int
	block        int // samples per channel per input frame
	start        time.Duration
	outCh        int
}{
	{name: "48k stereo 10ms blocks", inRate: 48000, inCh: 2, block: 480, outCh: 2},
	{name: "44.1k mono 20ms blocks resampled", inRate: 44100, inCh: 1, block: 882, start: 5 * time.Second, outCh: 2},
	{name: "16k stereo to mono odd blocks", inRate: 16000, inCh: 2, block: 333, outCh: 1},
}

func TestAACEncode(t *testing.T) {
	for _, tc := range aacCases {
		t.Run(tc.name, func(t *testing.T) {
			a := &AAC{Channels: tc.outCh, Logger: quietLogger()}
			require.NoError(t, a.Initialize())
			defer a.Close()

			params := a.Params()
			require.Equal(t, media.CodecAAC, params.Codec)
			var asc mpeg4audio.AudioSpecificConfig
			require.NoError(t, asc.Unmarshal(params.Config))
			require.Equal(t, mpeg4audio.ObjectTypeAACLC, asc.Type)
			require.Equal(t, 48000, asc.SampleRate)
			require.Equal(t, tc.outCh, asc.ChannelCount)

			var pkts []*media.Packet
			fed := 0
			for fed < tc.inRate {
				n := min(tc.block, tc.inRate-fed)
				f := &media.AudioFrame{SampleRate: tc.inRate, Channels: tc.inCh, Samples: tone(tc.inRate, tc.inCh, n, fed),
					PTS: tc.start + media.FromTicks(int64(fed), int64(tc.inRate))}
				out, err := a.Encode(f)
				require.NoError(t, err)
				pkts = append(pkts, out...)
				fed += n
			}
			out, err := a.Flush()
			require.NoError(t, err)
			pkts = append(pkts, out...)

			// 1 s at 48 kHz is 46.9 frames of 1024: 47 frames plus the
			// encoder's priming frame (a sample or two either way from the
			// resampler's rounding).
			require.InDelta(t, 48, len(pkts), 1, "packets for 1 s")
			step := media.FromTicks(1024, 48000)
			for i, p := range pkts {
				require.Equal(t, media.CodecAAC, p.Codec)
				require.NotEmpty(t, p.Data)
				require.True(t, p.Keyframe)
				require.Equal(t, p.PTS, p.DTS)
				want := tc.start + media.FromTicks(int64(i)*1024, 48000)
				require.InDelta(t, float64(want), float64(p.PTS), float64(time.Microsecond), "packet %d PTS", i)
				if i > 0 {
					require.InDelta(t, float64(step), float64(p.PTS-pkts[i-1].PTS), float64(time.Microsecond))
				}
			}
			st := a.Stats()
			require.EqualValues(t, len(pkts), st.PacketsOut)
			require.Equal(t, tc.inRate, st.InputRate)
			require.Zero(t, st.Resyncs)
			t.Logf("%d packets, %d bytes", len(pkts), st.Bytes)
			// 128 kb/s over ~1 s, give or take the encoder's ramp-up.
			require.InDelta(t, 16000, st.Bytes, 8000)
		})
	}
}

// TestAACTimeline checks re-anchoring on an input gap and on a change of
// input format.
func TestAACTimeline(t *testing.T) {
	a := &AAC{Logger: quietLogger()}
	require.NoError(t, a.Initialize())
	defer a.Close()
	var pkts []*media.Packet
	feed := func(rate, ch int, pts time.Duration, blocks int) {
		for i := range blocks {
			n := rate / 100
			out, err := a.Encode(&media.AudioFrame{SampleRate: rate, Channels: ch, Samples: tone(rate, ch, n, i*n),
				PTS: pts + time.Duration(i)*10*time.Millisecond})
			require.NoError(t, err)
			pkts = append(pkts, out...)
		}
	}
	feed(48000, 2, 0, 50)                     // 0 .. 0.5 s
	feed(48000, 2, 3*time.Second, 50)         // gap: jumps to 3 s
	feed(44100, 1, 3500*time.Millisecond, 50) // format change, continuous
	out, err := a.Flush()
	require.NoError(t, err)
	pkts = append(pkts, out...)
	require.EqualValues(t, 1, a.Stats().Resyncs)
	var sawJump bool
	for i := 1; i < len(pkts); i++ {
		d := pkts[i].PTS - pkts[i-1].PTS
		require.Positive(t, d, "monotonic at %d", i)
		if d > time.Second {
			sawJump = true
			require.InDelta(t, float64(3*time.Second), float64(pkts[i].PTS), float64(50*time.Millisecond))
		}
	}
	require.True(t, sawJump)
	last := pkts[len(pkts)-1].PTS
	require.InDelta(t, float64(4*time.Second), float64(last), float64(50*time.Millisecond))
}

func TestAACErrors(t *testing.T) {
	cases := []struct {
		name string
		a    *AAC
		want error
	}{
		{"6 channels", &AAC{Channels: 6}, ErrBadConfig},
		{"closed", func() *AAC { a := &AAC{}; a.Close(); return a }(), ErrBadConfig},
		{"rate too low", &AAC{SampleRate: 4000}, ErrBadConfig},
		{"negative bitrate", &AAC{Bitrate: -1}, ErrBadConfig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			a.Logger = quietLogger()
			require.ErrorIs(t, a.Initialize(), tc.want)
			a.Close()
		})
	}
	a := &AAC{Logger: quietLogger()}
	_, err := a.Encode(&media.AudioFrame{SampleRate: 48000, Channels: 2, Samples: make([]int16, 960)})
	require.ErrorIs(t, err, ErrNotInitialized)
	require.NoError(t, a.Initialize())
	_, err = a.Encode(&media.AudioFrame{SampleRate: 48000, Channels: 2, Samples: make([]int16, 3)})
	require.ErrorIs(t, err, media.ErrBadFrame)
	a.Close()
	a.Close()
	_, err = a.Encode(&media.AudioFrame{SampleRate: 48000, Channels: 2, Samples: make([]int16, 960)})
	require.ErrorIs(t, err, ErrClosed)
}

// TestAACFFprobe writes the packets as ADTS and has the real ffprobe count
// and describe them.
func TestAACFFprobe(t *testing.T) {
	ffprobe := peers.RequireTool(t, "ffprobe")
	a := &AAC{Logger: quietLogger()}
	require.NoError(t, a.Initialize())
	defer a.Close()
	var pkts []*media.Packet
	for i := range 100 {
		out, err := a.Encode(&media.AudioFrame{SampleRate: 44100, Channels: 1, Samples: tone(44100, 1, 441, i*441),
			PTS: time.Duration(i) * 10 * time.Millisecond})
		require.NoError(t, err)
		pkts = append(pkts, out...)
	}
	out, err := a.Flush()
	require.NoError(t, err)
	pkts = append(pkts, out...)
	var adts mpeg4audio.ADTSPackets
	for _, p := range pkts {
		adts = append(adts, &mpeg4audio.ADTSPacket{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelCount: 2, AU: p.Data})
	}
	buf, err := adts.Marshal()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "out.aac")
	require.NoError(t, os.WriteFile(path, buf, 0o644))
	res := runTool(t, ffprobe, "-v", "error", "-count_frames", "-show_streams", "-of", "json", path)
	var probe struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			Profile      string `json:"profile"`
			SampleRate   string `json:"sample_rate"`
			Channels     int    `json:"channels"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	require.NoError(t, json.Unmarshal(res, &probe), "%s", res)
	require.Len(t, probe.Streams, 1)
	s := probe.Streams[0]
	require.Equal(t, "aac", s.CodecName)
	require.Equal(t, "LC", s.Profile)
	require.Equal(t, "48000", s.SampleRate)
	require.Equal(t, 2, s.Channels)
	require.Equal(t, strconv.Itoa(len(pkts)), s.NbReadFrames)

	// Decode with the ffmpeg CLI: the 1 kHz tone must come out at 1 kHz
	// (a resampling mistake shifts the pitch): 1000 rising zero crossings
	// per second, counted over the middle half second.
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	pcm := runTool(t, ffmpeg, "-v", "error", "-i", path, "-f", "s16le", "-ac", "1", "-")
	samples := make([]int16, len(pcm)/2)
	for i := range samples {
		samples[i] = int16(uint16(pcm[2*i]) | uint16(pcm[2*i+1])<<8)
	}
	require.Greater(t, len(samples), 48000*9/10)
	mid := samples[12000:36000]
	crossings := 0
	for i := 1; i < len(mid); i++ {
		if mid[i-1] < 0 && mid[i] >= 0 {
			crossings++
		}
	}
	require.InDelta(t, 500, crossings, 5, "1 kHz over 0.5 s")
}
