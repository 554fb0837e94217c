package encoder

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/media"
)

// decodeAll decodes packets and joins the PCM, checking the frames'
// format and that their PTS follow one another.
func decodeAll(t *testing.T, d *AudioDecoder, pkts []*media.Packet, rate, ch int) []int16 {
	t.Helper()
	var pcm []int16
	var next time.Duration
	for i, p := range pkts {
		frames, err := d.Decode(p)
		require.NoError(t, err, "packet %d", i)
		for _, f := range frames {
			require.Equal(t, rate, f.SampleRate)
			require.Equal(t, ch, f.Channels)
			require.NoError(t, f.Validate())
			if len(pcm) > 0 {
				require.InDelta(t, float64(next), float64(f.PTS), float64(2*time.Millisecond), "frame PTS after %d samples", len(pcm)/ch)
			}
			next = f.PTS + f.Duration()
			pcm = append(pcm, f.Samples...)
		}
	}
	return pcm
}

// TestAudioDecoderOpus decodes the Opus encoder's packets: a second of the
// 1 kHz tone comes back.
func TestAudioDecoderOpus(t *testing.T) {
	for _, ch := range []int{1, 2} {
		o := &Opus{Channels: ch, Logger: quietLogger()}
		require.NoError(t, o.Initialize())
		pkts := encodeTone(t, o, 48000, 2, 480, time.Second)
		o.Close()
		d := &AudioDecoder{Params: media.CodecParams{Codec: media.CodecOpus, Channels: ch}, Logger: quietLogger()}
		require.NoError(t, d.Initialize())
		pcm := decodeAll(t, d, pkts, 48000, ch)
		d.Close()
		require.InDelta(t, 48000+960, len(pcm)/ch, 960, "%d channels: samples for 1 s", ch)
		require.InDelta(t, 500, risingCrossings(pcm[12000*ch:36000*ch], ch), 5, "1 kHz over 0.5 s")
	}
}

// TestAudioDecoderAAC decodes AAC the ffmpeg command line encoded (ADTS,
// read with mediacommon): the tone comes back at its rate.
func TestAudioDecoderAAC(t *testing.T) {
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	path := filepath.Join(t.TempDir(), "tone.aac")
	runTool(t, ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100", "-t", "1",
		"-ac", "2", "-c:a", "aac", "-b:a", "128k", "-f", "adts", "-y", path)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var adts mpeg4audio.ADTSPackets
	require.NoError(t, adts.Unmarshal(b))
	require.NotEmpty(t, adts)
	asc, err := (&mpeg4audio.AudioSpecificConfig{Type: adts[0].Type, SampleRate: adts[0].SampleRate,
		ChannelCount: adts[0].ChannelCount}).Marshal()
	require.NoError(t, err)
	var pkts []*media.Packet
	for i, p := range adts {
		pts := media.FromTicks(int64(i)*1024, 44100)
		pkts = append(pkts, &media.Packet{Codec: media.CodecAAC, Data: p.AU, PTS: pts, DTS: pts, Keyframe: true})
	}
	d := &AudioDecoder{Params: media.CodecParams{Codec: media.CodecAAC, Config: asc}, Logger: quietLogger()}
	require.NoError(t, d.Initialize())
	defer d.Close()
	pcm := decodeAll(t, d, pkts, 44100, 2)
	require.InDelta(t, len(adts)*1024, len(pcm)/2, 1024)
	require.InDelta(t, 500, risingCrossings(pcm[11025*2:33075*2], 2), 5, "1 kHz over 0.5 s")

	_, err = d.Decode(&media.Packet{Codec: media.CodecAAC, Data: []byte{0xff, 0xff, 0xff, 0xff, 0, 1, 2}})
	require.ErrorIs(t, err, ErrCodec, "a packet the decoder rejects")
	more := decodeAll(t, d, pkts[:4], 44100, 2)
	require.NotEmpty(t, more, "and it goes on decoding")
}

func TestAudioDecoderErrors(t *testing.T) {
	for _, p := range []media.CodecParams{
		{Codec: media.CodecAAC},
		{Codec: media.CodecOpus, Channels: 6},
		{Codec: media.CodecH264},
	} {
		d := &AudioDecoder{Params: p, Logger: quietLogger()}
		require.ErrorIs(t, d.Initialize(), ErrBadConfig, "%+v", p)
		d.Close()
	}
	d := &AudioDecoder{Params: media.CodecParams{Codec: media.CodecOpus}, Logger: quietLogger()}
	_, err := d.Decode(&media.Packet{Data: []byte{1}})
	require.ErrorIs(t, err, ErrNotInitialized)
	require.NoError(t, d.Initialize())
	d.Close()
	d.Close()
	_, err = d.Decode(&media.Packet{Data: []byte{1}})
	require.ErrorIs(t, err, ErrClosed)
}
