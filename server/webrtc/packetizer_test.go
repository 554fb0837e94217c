package webrtc

import (
	"bytes"
	"testing"

	"github.com/pion/rtp/codecs"
	"github.com/stretchr/testify/require"

	"golive/media"
)

// avcc joins NAL units with 4-byte lengths.
func avcc(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = append(b, byte(len(n)>>24), byte(len(n)>>16), byte(len(n)>>8), byte(len(n)))
		b = append(b, n...)
	}
	return b
}

func nalu(typ byte, size int) []byte {
	n := make([]byte, size)
	n[0] = 0x60 | typ
	for i := 1; i < size; i++ {
		n[i] = byte(i*7 + int(typ))
	}
	return n
}

var (
	testSPS = []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50}
	testPPS = []byte{0x68, 0xeb, 0xe3, 0xcb}
)

// packetizeCases drive TestPacketizer: access units and the NAL units a
// receiver must get back, in order.
var packetizeCases = []struct {
	name     string
	au       [][]byte
	key      bool
	want     [][]byte
	payloads int
}{
	{"small P frame", [][]byte{nalu(1, 300)}, false, [][]byte{nalu(1, 300)}, 1},
	{"keyframe gets SPS+PPS in a STAP-A", [][]byte{nalu(5, 500)}, true, [][]byte{testSPS, testPPS, nalu(5, 500)}, 2},
	{"large IDR in FU-A fragments", [][]byte{nalu(5, 5000)}, true, [][]byte{testSPS, testPPS, nalu(5, 5000)}, 1 + 5},
	{"in-band parameter sets are kept, not doubled", [][]byte{{0x09, 0xf0}, testSPS, testPPS, nalu(5, 100)}, true,
		[][]byte{testSPS, testPPS, nalu(5, 100)}, 3},
	{"SEI and two slices", [][]byte{nalu(6, 20), nalu(1, 1180), nalu(1, 1181)}, false,
		[][]byte{nalu(6, 20), nalu(1, 1180), nalu(1, 1181)}, 1 + 1 + 2},
}

func TestPacketizer(t *testing.T) {
	config, err := media.AVCConfig{SPS: [][]byte{testSPS}, PPS: [][]byte{testPPS}}.Marshal()
	require.NoError(t, err)
	for _, tc := range packetizeCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newH264Packetizer(config)
			require.NoError(t, err)
			payloads, err := p.packetize(avcc(tc.au...), tc.key)
			require.NoError(t, err)
			require.Len(t, payloads, tc.payloads)
			// pion's depacketizer, as a receiver, gets the NAL units back.
			var d codecs.H264Packet
			var annexB []byte
			for _, pl := range payloads {
				require.LessOrEqual(t, len(pl), rtpPayloadSize)
				out, err := d.Unmarshal(pl)
				require.NoError(t, err)
				annexB = append(annexB, out...)
			}
			var got [][]byte
			for _, n := range bytes.Split(annexB, []byte{0, 0, 0, 1}) {
				if len(n) > 0 {
					got = append(got, n)
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
	p, err := newH264Packetizer(config)
	require.NoError(t, err)
	_, err = p.packetize([]byte{0, 0, 0, 9, 1}, false)
	require.ErrorIs(t, err, media.ErrBadBitstream)
	_, err = p.packetize(avcc([]byte{0x09, 0xf0}), false)
	require.ErrorIs(t, err, media.ErrBadBitstream, "only an AUD: nothing to send")
	_, err = newH264Packetizer([]byte{1, 2})
	require.Error(t, err)
	require.Equal(t, "64001f", profileLevelID(testSPS))
}
