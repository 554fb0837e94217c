package media

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAVCConfigRoundTrip(t *testing.T) {
	for _, c := range h264Cases {
		t.Run(c.name, func(t *testing.T) {
			buf, err := c.config.Marshal()
			require.NoError(t, err)
			require.Equal(t, byte(1), buf[0])
			require.Equal(t, c.config.SPS[0][1], buf[1], "profile")
			var got AVCConfig
			require.NoError(t, got.Unmarshal(buf))
			require.Equal(t, c.config, got)
		})
	}
}

func TestAVCConfigHighProfileTrailer(t *testing.T) {
	buf, err := h264Cases[0].config.Marshal()
	require.NoError(t, err)
	// 4:2:0, 8-bit: chroma_format 1, depths 0, no SPS extensions.
	require.Equal(t, []byte{0xFD, 0xF8, 0xF8, 0}, buf[len(buf)-4:])
}

func TestAVCConfigErrors(t *testing.T) {
	for _, buf := range [][]byte{
		nil,
		{1, 0x64, 0, 0x1f, 0xFF, 0xE1, 0},
		{2, 0x64, 0, 0x1f, 0xFF, 0xE1, 0, 1, 0x67},
		{1, 0x64, 0, 0x1f, 0xFC, 0xE1, 0, 1, 0x67, 1, 0, 1, 0x68}, // 1-byte lengths
		{1, 0x64, 0, 0x1f, 0xFF, 0xE0, 0, 1, 0x67},                // no SPS
		{1, 0x64, 0, 0x1f, 0xFF, 0xE1, 0, 9, 0x67},                // SPS runs past the end
		{1, 0x64, 0, 0x1f, 0xFF, 0xE1, 0, 1, 0x67},                // no PPS count
		{1, 0x64, 0, 0x1f, 0xFF, 0xE1, 0, 1, 0x67, 0},             // zero PPS
	} {
		var c AVCConfig
		require.ErrorIs(t, c.Unmarshal(buf), ErrBadAVCConfig, "%x", buf)
	}
	_, err := AVCConfig{}.Marshal()
	require.ErrorIs(t, err, ErrBadAVCConfig)
	_, err = AVCConfig{SPS: [][]byte{{0x67, 1, 2, 3}}, PPS: [][]byte{{}}}.Marshal()
	require.ErrorIs(t, err, ErrBadAVCConfig)
}

func FuzzAVCConfigUnmarshal(f *testing.F) {
	for _, c := range h264Cases {
		buf, err := c.config.Marshal()
		require.NoError(f, err)
		f.Add(buf)
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		var c AVCConfig
		if c.Unmarshal(buf) != nil {
			return
		}
		// Whatever decodes must encode again and decode to the same units.
		out, err := c.Marshal()
		if err != nil {
			return // e.g. a 1-3 byte SPS cannot carry a profile
		}
		var again AVCConfig
		require.NoError(t, again.Unmarshal(out))
		require.Equal(t, c, again)
	})
}
