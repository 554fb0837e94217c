package media

import "time"

// Packet is one encoded access unit.
//
// For CodecH264, Data is AVCC: each NAL unit prefixed by its 4-byte
// big-endian length (as in FLV and MP4), with no parameter sets required
// in non-key packets. For CodecAAC, Data is one raw AAC frame (no ADTS
// header).
type Packet struct {
	Codec    Codec
	Data     []byte
	PTS      time.Duration
	DTS      time.Duration
	Keyframe bool
}

// CompositionTime returns PTS - DTS, the FLV/MP4 composition offset.
func (p *Packet) CompositionTime() time.Duration { return p.PTS - p.DTS }
