package ingest

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/stretchr/testify/require"
)

// rtpIn is one packet of a depacketizer case.
type rtpIn struct {
	ts      uint32
	marker  bool
	payload []byte
}

var (
	naluSPS = []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01}
	naluPPS = []byte{0x68, 0xce, 0x3c, 0x80}
	naluIDR = append([]byte{0x65}, bytes.Repeat([]byte{0x88}, 30)...)
	naluP   = []byte{0x41, 0x9a, 0x02, 0x03}
)

// stapA packs NAL units into one STAP-A payload.
func stapA(nalus ...[]byte) []byte {
	out := []byte{0x78}
	for _, n := range nalus {
		out = binary.BigEndian.AppendUint16(out, uint16(len(n)))
		out = append(out, n...)
	}
	return out
}

// fuA splits a NAL unit into n FU-A payloads.
func fuA(nalu []byte, n int) [][]byte {
	body := nalu[1:]
	step := (len(body) + n - 1) / n
	var out [][]byte
	for i := 0; i < len(body); i += step {
		hdr := nalu[0] & 0x1f
		if i == 0 {
			hdr |= 0x80
		}
		if i+step >= len(body) {
			hdr |= 0x40
		}
		out = append(out, append([]byte{nalu[0]&0xe0 | naluFUA, hdr}, body[i:min(i+step, len(body))]...))
	}
	return out
}

// depacketizerCases drive TestH264Depacketizer and seed
// FuzzH264Depacketizer.
var depacketizerCases = []struct {
	name    string
	in      []rtpIn
	want    [][][]byte // access units
	errs    int
	dropped int
}{
	{"single NAL unit", []rtpIn{{1, true, naluP}}, [][][]byte{{naluP}}, 0, 0},
	{"keyframe: STAP-A with SPS and PPS, then the IDR", []rtpIn{{1, false, stapA(naluSPS, naluPPS)}, {1, true, naluIDR}},
		[][][]byte{{naluSPS, naluPPS, naluIDR}}, 0, 0},
	{"FU-A in three", []rtpIn{{5, false, fuA(naluIDR, 3)[0]}, {5, false, fuA(naluIDR, 3)[1]}, {5, true, fuA(naluIDR, 3)[2]}},
		[][][]byte{{naluIDR}}, 0, 0},
	{"marker lost: the next timestamp ends the frame", []rtpIn{{1, false, naluP}, {2, true, naluP}},
		[][][]byte{{naluP}, {naluP}}, 0, 0},
	{"FU-A without its start", []rtpIn{{5, false, fuA(naluIDR, 3)[1]}, {5, true, fuA(naluIDR, 3)[2]}, {6, true, naluP}},
		[][][]byte{{naluP}}, 0, 1},
	{"FU-A that starts and ends", []rtpIn{{5, true, []byte{0x7c, 0xc5, 1, 2}}}, nil, 1, 1},
	{"FU-A started twice", []rtpIn{{5, false, fuA(naluIDR, 2)[0]}, {5, true, fuA(naluIDR, 2)[0]}}, nil, 1, 1},
	{"STAP-A size past the end", []rtpIn{{1, true, []byte{0x78, 0x00, 0x09, 0x67}}}, nil, 1, 1},
	{"STAP-A truncated size", []rtpIn{{1, true, []byte{0x78, 0x00}}}, nil, 1, 1},
	{"STAP-B (not mode 1)", []rtpIn{{1, true, []byte{0x19, 0, 0, 0, 1, 0x41}}}, nil, 1, 1},
	{"forbidden bit", []rtpIn{{1, true, []byte{0xc1, 1}}}, nil, 1, 1},
	{"empty payload", []rtpIn{{1, true, nil}}, nil, 1, 1},
	{"a bad frame, then a good one", []rtpIn{{1, true, []byte{0x1d, 0}}, {2, true, naluP}}, [][][]byte{{naluP}}, 1, 1},
}

func runDepacketizer(in []rtpIn) (aus [][][]byte, errs, dropped int) {
	var d h264Depacketizer
	for i, p := range in {
		out, err := d.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: p.ts, Marker: p.marker},
			Payload: p.payload})
		if err != nil {
			errs++
		}
		for _, au := range out.aus {
			aus = append(aus, au.nalus)
		}
		dropped += out.dropped
	}
	return aus, errs, dropped
}

func TestH264Depacketizer(t *testing.T) {
	for _, tc := range depacketizerCases {
		t.Run(tc.name, func(t *testing.T) {
			aus, errs, dropped := runDepacketizer(tc.in)
			require.Equal(t, tc.want, aus)
			require.Equal(t, tc.errs, errs)
			require.Equal(t, tc.dropped, dropped)
		})
	}
}

// TestH264DepacketizerWithPion joins what pion's own packetizer (an
// independent RFC 6184 implementation) makes of an access unit.
func TestH264DepacketizerWithPion(t *testing.T) {
	big := append([]byte{0x65}, bytes.Repeat([]byte{1, 2, 3, 4, 5}, 3000)...) // FU-A
	annexB := bytes.Join([][]byte{nil, naluSPS, naluPPS, big}, []byte{0, 0, 0, 1})
	payloads := (&codecs.H264Payloader{}).Payload(1200, annexB)
	require.Greater(t, len(payloads), 10)
	var in []rtpIn
	for i, p := range payloads {
		in = append(in, rtpIn{ts: 3000, marker: i == len(payloads)-1, payload: p})
	}
	aus, errs, dropped := runDepacketizer(in)
	require.Zero(t, errs)
	require.Zero(t, dropped)
	require.Equal(t, [][][]byte{{naluSPS, naluPPS, big}}, aus)
}

// fuzzPackets splits fuzz input into RTP packets: per packet a flags byte
// (bit 0 marker, bit 1 next timestamp), a length byte and the payload.
func fuzzPackets(b []byte) []rtpIn {
	var in []rtpIn
	ts := uint32(0)
	for len(b) >= 2 {
		flags, n := b[0], int(b[1])
		b = b[2:]
		n = min(n, len(b))
		if flags&2 != 0 {
			ts += 3000
		}
		in = append(in, rtpIn{ts: ts, marker: flags&1 != 0, payload: b[:n]})
		b = b[n:]
	}
	return in
}

// unfuzz is fuzzPackets' inverse, for the seeds.
func unfuzz(in []rtpIn) []byte {
	var out []byte
	var ts uint32
	for i, p := range in {
		flags := byte(0)
		if p.marker {
			flags |= 1
		}
		if i > 0 && p.ts != ts {
			flags |= 2
		}
		ts = p.ts
		for len(p.payload) > 255 {
			p.payload = p.payload[:255]
		}
		out = append(out, flags, byte(len(p.payload)))
		out = append(out, p.payload...)
	}
	return out
}

// FuzzH264Depacketizer feeds arbitrary RTP payloads: nothing panics, and
// every access unit handed out holds whole, well-formed NAL units within
// the bounds.
func FuzzH264Depacketizer(f *testing.F) {
	for _, tc := range depacketizerCases {
		f.Add(unfuzz(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		aus, _, _ := runDepacketizer(fuzzPackets(b))
		for _, au := range aus {
			require.NotEmpty(t, au)
			require.LessOrEqual(t, len(au), maxAccessUnitNALUs)
			size := 0
			for _, n := range au {
				require.NotEmpty(t, n)
				require.Zero(t, n[0]&0x80, "forbidden bit")
				require.NotContains(t, []byte{naluSTAPA, naluFUA}, n[0]&0x1f, "an aggregation or fragment handed out whole")
				size += len(n)
			}
			require.LessOrEqual(t, size, maxAccessUnitSize)
		}
	})
}

// reorderCases drive TestReorder: packets (sequence number, arrival in
// ms) and what comes out, lost and late.
var reorderCases = []struct {
	name string
	seq  []uint16
	at   []int // ms
	out  []uint16
	lost int
	late int
}{
	{"in order", []uint16{10, 11, 12}, []int{0, 1, 2}, []uint16{10, 11, 12}, 0, 0},
	{"swapped pair", []uint16{10, 12, 11, 13}, []int{0, 1, 2, 3}, []uint16{10, 11, 12, 13}, 0, 0},
	{"wraps", []uint16{65534, 65535, 0, 1}, []int{0, 1, 2, 3}, []uint16{65534, 65535, 0, 1}, 0, 0},
	{"a hole given up after the wait", []uint16{10, 12, 13, 14}, []int{0, 10, 20, 200}, []uint16{10, 12, 13, 14}, 1, 0},
	{"a retransmission in time", []uint16{10, 12, 13, 11}, []int{0, 10, 20, 100}, []uint16{10, 11, 12, 13}, 0, 0},
	{"too late and duplicate", []uint16{10, 12, 13, 14, 11, 13}, []int{0, 10, 20, 200, 300, 301}, []uint16{10, 12, 13, 14}, 1, 2},
	{"the sender starts over", []uint16{10, 11, 40000, 40001}, []int{0, 1, 2, 3}, []uint16{10, 11, 40000, 40001}, 1, 0},
}

func TestReorder(t *testing.T) {
	for _, tc := range reorderCases {
		t.Run(tc.name, func(t *testing.T) {
			r := reorder{wait: 150 * time.Millisecond}
			t0 := time.Unix(0, 0)
			var out []uint16
			lost, late := 0, 0
			for i, seq := range tc.seq {
				res := r.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq}}, t0.Add(time.Duration(tc.at[i])*time.Millisecond))
				for _, p := range res.out {
					out = append(out, p.SequenceNumber)
				}
				lost += res.lost
				if res.late {
					late++
				}
			}
			require.Equal(t, tc.out, out)
			require.Equal(t, tc.lost, lost)
			require.Equal(t, tc.late, late)
		})
	}
}

// TestReorderBound: a burst of packets behind a hole is held only up to
// the bound.
func TestReorderBound(t *testing.T) {
	r := reorder{wait: time.Hour}
	t0 := time.Unix(0, 0)
	r.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: 0}}, t0)
	got := 0
	for i := 2; i < reorderMaxHeld+10; i++ {
		got += len(r.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i)}}, t0).out)
	}
	require.LessOrEqual(t, len(r.held), reorderMaxHeld)
	require.Positive(t, got, "the hole was given up once the bound was reached")
}

func TestRTPTimeline(t *testing.T) {
	c := rtpTimeline{rate: 90000}
	require.Equal(t, 500*time.Millisecond, c.at(4294967296-3000, 500*time.Millisecond))
	require.Equal(t, 500*time.Millisecond+time.Second/30, c.at(0, time.Hour), "wraps; later arrivals do not move it")
	require.Equal(t, 500*time.Millisecond+2*time.Second/30, c.at(3000, 0))
	require.Equal(t, 500*time.Millisecond+time.Second/30, c.at(0, 0), "a step back (B-frames) is allowed")
}
