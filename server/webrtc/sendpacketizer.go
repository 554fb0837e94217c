package webrtc

// H264Packetizer is the packetizer WHEP sends with, for the other H.264
// senders of GoLive (the broadcaster's WHIP output): AVCC access units to
// RTP payloads in packetization-mode 1, keyframes led by their SPS and PPS.
type H264Packetizer struct{ p *h264Packetizer }

// NewH264Packetizer takes the parameter sets from an
// AVCDecoderConfigurationRecord.
func NewH264Packetizer(config []byte) (*H264Packetizer, error) {
	p, err := newH264Packetizer(config)
	if err != nil {
		return nil, err
	}
	return &H264Packetizer{p: p}, nil
}

// Packetize returns the RTP payloads of one access unit; the last one ends
// the frame (the RTP marker).
func (p *H264Packetizer) Packetize(au []byte, key bool) ([][]byte, error) {
	return p.p.packetize(au, key)
}

// ProfileLevelID returns the profile-level-id of an SPS as SDP carries it
// (hex), "" when it is too short.
func ProfileLevelID(sps []byte) string { return profileLevelID(sps) }
