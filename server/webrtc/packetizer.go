package webrtc

import (
	"fmt"

	"golive/media"
)

// rtpPayloadSize is the largest RTP payload sent: small enough for a 1280
// byte path MTU with the RTP, SRTP, UDP and IP headers.
const rtpPayloadSize = 1180

// NAL unit types the packetizer treats apart.
const (
	naluIDR   = 5
	naluSPS   = 7
	naluPPS   = 8
	naluAUD   = 9
	naluSTAPA = 24
	naluFUA   = 28
)

// h264Packetizer splits AVCC access units into RTP payloads (RFC 6184,
// packetization-mode 1): a NAL unit that fits goes alone, a larger one in
// FU-A fragments, and a keyframe starts with its SPS and PPS in one STAP-A
// (the stream's, from its configuration record, unless the access unit
// carries its own). Access unit delimiters are left out. One goroutine.
type h264Packetizer struct {
	sps, pps []byte
	mtu      int
}

// newH264Packetizer takes the parameter sets from an AVCDecoderConfigurationRecord.
func newH264Packetizer(config []byte) (*h264Packetizer, error) {
	var c media.AVCConfig
	if err := c.Unmarshal(config); err != nil {
		return nil, err
	}
	if len(c.SPS) == 0 || len(c.PPS) == 0 {
		return nil, fmt.Errorf("%w: no SPS or PPS", media.ErrBadAVCConfig)
	}
	return &h264Packetizer{sps: c.SPS[0], pps: c.PPS[0], mtu: rtpPayloadSize}, nil
}

// packetize returns the RTP payloads of one access unit, in one buffer;
// the last one ends the frame (the RTP marker).
func (p *h264Packetizer) packetize(au []byte, key bool) ([][]byte, error) {
	nalus, err := media.AVCCToNALUs(au)
	if err != nil {
		return nil, err
	}
	size, haveParams := 0, false
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		switch n[0] & 0x1f {
		case naluSPS:
			p.sps, haveParams = n, true
		case naluPPS:
			p.pps = n
		}
		size += len(n) + 2 + len(n)/p.mtu*2
	}
	buf := make([]byte, 0, size+len(p.sps)+len(p.pps)+8)
	var out [][]byte
	add := func(start int) { out = append(out, buf[start:len(buf):len(buf)]) }
	if key && !haveParams && len(p.sps)+len(p.pps)+5 <= p.mtu {
		start := len(buf)
		buf = append(buf, p.sps[0]&0x60|naluSTAPA)
		for _, ps := range [][]byte{p.sps, p.pps} {
			buf = append(buf, byte(len(ps)>>8), byte(len(ps)))
			buf = append(buf, ps...)
		}
		add(start)
	}
	for _, n := range nalus {
		if len(n) == 0 || n[0]&0x1f == naluAUD {
			continue
		}
		if len(n) <= p.mtu {
			start := len(buf)
			buf = append(buf, n...)
			add(start)
			continue
		}
		hdr := n[0]
		body := n[1:]
		for first := true; len(body) > 0; first = false {
			chunk := min(len(body), p.mtu-2)
			fu := hdr & 0x1f
			if first {
				fu |= 0x80
			}
			if chunk == len(body) {
				fu |= 0x40
			}
			start := len(buf)
			buf = append(buf, hdr&0x60|naluFUA, fu)
			buf = append(buf, body[:chunk]...)
			add(start)
			body = body[chunk:]
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: nothing to send", media.ErrBadBitstream)
	}
	return out, nil
}

// profileLevelID returns the profile-level-id of an SPS (hex, as SDP
// carries it), "" when it is too short.
func profileLevelID(sps []byte) string {
	if len(sps) < 4 {
		return ""
	}
	return fmt.Sprintf("%02x%02x%02x", sps[1], sps[2], sps[3])
}
