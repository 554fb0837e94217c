package media

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAnnexBToAVCC(t *testing.T) {
	for _, c := range h264Cases {
		t.Run(c.name, func(t *testing.T) {
			avcc, err := AnnexBToAVCC(c.annexB, true)
			require.NoError(t, err)
			require.Equal(t, c.avcc, avcc)

			withParams, err := AnnexBToAVCC(c.annexB, false)
			require.NoError(t, err)
			nalus, err := AVCCToNALUs(withParams)
			require.NoError(t, err)
			params := ParamsFromNALUs(nalus)

			back, err := AVCCToAnnexB(avcc, append(params.SPS, params.PPS...))
			require.NoError(t, err)
			again, err := AnnexBToAVCC(back, false)
			require.NoError(t, err)
			require.Equal(t, withParams, again)
		})
	}
}

func TestParamsFromNALUs(t *testing.T) {
	nalus, err := AVCCToNALUs(mustAVCC(t, h264Cases[0].annexB))
	require.NoError(t, err)
	require.Equal(t, h264Cases[0].config, ParamsFromNALUs(nalus))
}

func mustAVCC(t testing.TB, annexB []byte) []byte {
	out, err := AnnexBToAVCC(annexB, false)
	require.NoError(t, err)
	return out
}

func TestBitstreamErrors(t *testing.T) {
	_, err := AnnexBToAVCC([]byte{1, 2, 3}, false)
	require.ErrorIs(t, err, ErrBadBitstream)
	_, err = AnnexBToAVCC([]byte{0, 0, 0, 1, 0x09, 0xF0}, false) // only an AUD
	require.ErrorIs(t, err, ErrBadBitstream)
	_, err = AVCCToNALUs([]byte{0, 0, 0, 9, 1})
	require.ErrorIs(t, err, ErrBadBitstream)
	_, err = AVCCToAnnexB([]byte{0, 0}, nil)
	require.ErrorIs(t, err, ErrBadBitstream)
}

func FuzzAnnexBToAVCC(f *testing.F) {
	for _, c := range h264Cases {
		f.Add(c.annexB)
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		avcc, err := AnnexBToAVCC(buf, false)
		if err != nil {
			return
		}
		back, err := AVCCToAnnexB(avcc, nil)
		require.NoError(t, err)
		again, err := AnnexBToAVCC(back, false)
		require.NoError(t, err)
		require.Equal(t, avcc, again)
	})
}

func FuzzAVCCToNALUs(f *testing.F) {
	for _, c := range h264Cases {
		f.Add(c.avcc)
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		nalus, err := AVCCToNALUs(buf)
		if err != nil {
			return
		}
		for _, n := range nalus {
			require.LessOrEqual(t, len(n), len(buf))
		}
	})
}
