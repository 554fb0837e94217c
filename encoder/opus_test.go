package encoder

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/media"
)

// opusCases drive the Opus tests: one second of a 1 kHz tone in blocks of
// the given size, at various input formats.
var opusCases = []struct {
	name         string
	inRate, inCh int
	block        int
	start        time.Duration
	outCh        int
}{
	{name: "48k stereo 10ms blocks", inRate: 48000, inCh: 2, block: 480, outCh: 2},
	{name: "44.1k mono 20ms blocks resampled", inRate: 44100, inCh: 1, block: 882, start: 5 * time.Second, outCh: 2},
	{name: "16k stereo to mono odd blocks", inRate: 16000, inCh: 2, block: 333, outCh: 1},
}

// encodeTone encodes one second of tone with enc and returns every packet.
func encodeTone(t *testing.T, enc interface {
	Encode(*media.AudioFrame) ([]*media.Packet, error)
	Flush() ([]*media.Packet, error)
}, rate, ch, block int, start time.Duration) []*media.Packet {
	t.Helper()
	var pkts []*media.Packet
	for fed := 0; fed < rate; {
		n := min(block, rate-fed)
		out, err := enc.Encode(&media.AudioFrame{SampleRate: rate, Channels: ch, Samples: tone(rate, ch, n, fed),
			PTS: start + media.FromTicks(int64(fed), int64(rate))})
		require.NoError(t, err)
		pkts = append(pkts, out...)
		fed += n
	}
	out, err := enc.Flush()
	require.NoError(t, err)
	return append(pkts, out...)
}

// risingCrossings counts the rising zero crossings of channel 0.
func risingCrossings(samples []int16, ch int) int {
	n := 0
	for i := ch; i < len(samples); i += ch {
		if samples[i-ch] < 0 && samples[i] >= 0 {
			n++
		}
	}
	return n
}

func TestOpusEncode(t *testing.T) {
	for _, tc := range opusCases {
		t.Run(tc.name, func(t *testing.T) {
			o := &Opus{Channels: tc.outCh, Logger: quietLogger()}
			require.NoError(t, o.Initialize())
			defer o.Close()
			p := o.Params()
			require.Equal(t, media.CodecOpus, p.Codec)
			require.Equal(t, 48000, p.SampleRate)
			require.Equal(t, tc.outCh, p.Channels)

			pkts := encodeTone(t, o, tc.inRate, tc.inCh, tc.block, tc.start)
			// 1 s is 50 frames of 20 ms, and a last one for what libopus
			// still holds.
			require.InDelta(t, 51, len(pkts), 1, "packets for 1 s")
			for i, pk := range pkts {
				require.Equal(t, media.CodecOpus, pk.Codec)
				require.NotEmpty(t, pk.Data)
				require.Equal(t, pk.PTS, pk.DTS)
				want := tc.start + time.Duration(i)*OpusFrame
				require.InDelta(t, float64(want), float64(pk.PTS), float64(time.Microsecond), "packet %d PTS", i)
			}
			st := o.Stats()
			require.EqualValues(t, len(pkts), st.PacketsOut)
			require.Zero(t, st.Resyncs)
			// 96 kb/s over ~1 s, give or take VBR and FEC.
			require.InDelta(t, 12000, st.Bytes, 8000)
		})
	}
}

func TestOpusErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    *Opus
	}{
		{"6 channels", &Opus{Channels: 6}},
		{"bitrate too low", &Opus{Bitrate: 1000}},
		{"bitrate too high", &Opus{Bitrate: 600000}},
		{"negative loss", &Opus{PacketLoss: -1}},
		{"closed", func() *Opus { o := &Opus{}; o.Close(); return o }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Logger = quietLogger()
			require.ErrorIs(t, tc.o.Initialize(), ErrBadConfig)
			tc.o.Close()
		})
	}
	o := &Opus{Logger: quietLogger()}
	_, err := o.Encode(&media.AudioFrame{SampleRate: 48000, Channels: 2, Samples: make([]int16, 960)})
	require.ErrorIs(t, err, ErrNotInitialized)
	require.NoError(t, o.Initialize())
	o.Close()
	o.Close()
	_, err = o.Encode(&media.AudioFrame{SampleRate: 48000, Channels: 2, Samples: make([]int16, 960)})
	require.ErrorIs(t, err, ErrClosed)
}

// writeOgg writes Opus packets into an Ogg Opus file with pion's writer,
// as RTP (a 48 kHz clock) carries them.
func writeOgg(t *testing.T, pkts []*media.Packet, channels int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.ogg")
	w, err := oggwriter.New(path, 48000, uint16(channels))
	require.NoError(t, err)
	for i, p := range pkts {
		require.NoError(t, w.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i),
			Timestamp: uint32(media.ToTicks(p.PTS, 48000))}, Payload: p.Data}))
	}
	require.NoError(t, w.Close())
	return path
}

// TestOpusFFmpeg has the ffmpeg command line read and decode the packets
// (in an Ogg file pion wrote): Opus, 48 kHz, the tone at 1 kHz.
func TestOpusFFmpeg(t *testing.T) {
	ffprobe, ffmpeg := peers.RequireTool(t, "ffprobe"), peers.RequireTool(t, "ffmpeg")
	o := &Opus{Logger: quietLogger()}
	require.NoError(t, o.Initialize())
	defer o.Close()
	pkts := encodeTone(t, o, 44100, 1, 441, 0)
	path := writeOgg(t, pkts, 2)
	res := runTool(t, ffprobe, "-v", "error", "-count_frames", "-show_streams", "-of", "json", path)
	var probe struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			SampleRate   string `json:"sample_rate"`
			Channels     int    `json:"channels"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	require.NoError(t, json.Unmarshal(res, &probe), "%s", res)
	require.Len(t, probe.Streams, 1)
	s := probe.Streams[0]
	require.Equal(t, "opus", s.CodecName)
	require.Equal(t, "48000", s.SampleRate)
	require.Equal(t, 2, s.Channels)
	// pion's writer declares the RFC's 80 ms pre-skip: 4 frames decoder
	// warm-up that ffprobe does not count.
	require.Equal(t, strconv.Itoa(len(pkts)-4), s.NbReadFrames)
	pcm := runTool(t, ffmpeg, "-v", "error", "-i", path, "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	samples := make([]int16, len(pcm)/2)
	for i := range samples {
		samples[i] = int16(uint16(pcm[2*i]) | uint16(pcm[2*i+1])<<8)
	}
	require.Greater(t, len(samples), 48000*9/10)
	require.InDelta(t, 500, risingCrossings(samples[12000:36000], 1), 5, "1 kHz over 0.5 s")
}
