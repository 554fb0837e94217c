package ingest

import (
	"encoding/binary"
	"fmt"

	"github.com/pion/rtp"
)

// Bounds of one H.264 access unit received over RTP.
const (
	maxAccessUnitSize  = 8 << 20
	maxAccessUnitNALUs = 1024
)

// RTP payload types of RFC 6184 that packetization-mode 1 uses besides
// single NAL units (1–23).
const (
	naluSTAPA = 24
	naluFUA   = 28
)

// accessUnit is one H.264 picture's NAL units and its RTP timestamp.
type accessUnit struct {
	nalus [][]byte
	ts    uint32
}

// h264Depacketizer joins the RTP payloads of one H.264 stream (RFC 6184,
// packetization-mode 1: single NAL units, STAP-A, FU-A) into access units:
// an access unit ends with the RTP marker bit or, when that packet was
// lost, with the first packet of the next timestamp. Packets must come in
// sequence order; after a hole, reset drops what was being joined. An
// access unit that lost a part (a hole, a fragment whose start is
// missing, a bad payload) is never handed out, but counted as dropped.
// Payloads are copied. It is used from one goroutine.
type h264Depacketizer struct {
	nalus  [][]byte
	size   int
	ts     uint32
	active bool   // nalus belong to ts
	fu     []byte // the fragmented NAL unit being joined (nil: none)
	broken bool   // the access unit being joined lost a part
}

// reset forgets the access unit being joined (a packet of it was lost).
func (d *h264Depacketizer) reset() {
	d.nalus, d.size, d.fu, d.active, d.broken = nil, 0, nil, false, false
}

// depacketized is what one push gave: the access units completed
// (usually none or one) and how many were dropped for a missing part.
type depacketized struct {
	aus     []accessUnit
	dropped int
}

// push adds one packet. A payload that is not valid RFC 6184
// packetization-mode 1 is an error wrapping ErrBadRTP; the access unit it
// belonged to is dropped and the next ones go on.
func (d *h264Depacketizer) push(p *rtp.Packet) (depacketized, error) {
	var out depacketized
	if d.active && p.Timestamp != d.ts {
		// The marker bit of the previous access unit was lost.
		d.finish(&out)
	}
	if !d.active {
		d.active, d.ts = true, p.Timestamp
	}
	err := d.payload(p.Payload)
	if err != nil {
		d.broken, d.fu = true, nil
	}
	if p.Marker {
		d.finish(&out)
	}
	return out, err
}

// finish ends the access unit being joined: out gets it, or counts it
// dropped when it lost a part.
func (d *h264Depacketizer) finish(out *depacketized) {
	switch {
	case d.broken || d.fu != nil:
		out.dropped++
	case len(d.nalus) > 0:
		out.aus = append(out.aus, accessUnit{nalus: d.nalus, ts: d.ts})
	}
	d.reset()
}

// payload takes one RTP payload.
func (d *h264Depacketizer) payload(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty payload", ErrBadRTP)
	}
	switch typ := b[0] & 0x1F; {
	case typ >= 1 && typ <= 23:
		if d.fu != nil {
			return fmt.Errorf("%w: NAL unit inside a fragmented one", ErrBadRTP)
		}
		return d.add(b)
	case typ == naluSTAPA:
		if d.fu != nil {
			return fmt.Errorf("%w: STAP-A inside a fragmented NAL unit", ErrBadRTP)
		}
		for rest := b[1:]; len(rest) > 0; {
			if len(rest) < 2 {
				return fmt.Errorf("%w: STAP-A: truncated size", ErrBadRTP)
			}
			n := int(binary.BigEndian.Uint16(rest))
			rest = rest[2:]
			if n == 0 || n > len(rest) {
				return fmt.Errorf("%w: STAP-A: NAL unit of %d bytes in %d", ErrBadRTP, n, len(rest))
			}
			if err := d.add(rest[:n]); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	case typ == naluFUA:
		return d.fragment(b)
	default:
		return fmt.Errorf("%w: payload type %d (not packetization-mode 1)", ErrBadRTP, typ)
	}
}

// fragment takes one FU-A payload.
func (d *h264Depacketizer) fragment(b []byte) error {
	if len(b) < 3 {
		return fmt.Errorf("%w: FU-A of %d bytes", ErrBadRTP, len(b))
	}
	start, end := b[1]&0x80 != 0, b[1]&0x40 != 0
	switch {
	case start && end:
		return fmt.Errorf("%w: FU-A both starts and ends", ErrBadRTP)
	case start:
		if d.fu != nil {
			return fmt.Errorf("%w: FU-A starts before the previous one ended", ErrBadRTP)
		}
		d.fu = append([]byte{b[0]&0xE0 | b[1]&0x1F}, b[2:]...)
	case d.fu == nil:
		d.broken = true // its start was lost
		return nil
	default:
		d.fu = append(d.fu, b[2:]...)
	}
	if d.size+len(d.fu) > maxAccessUnitSize {
		return fmt.Errorf("%w: access unit over %d bytes", ErrBadRTP, maxAccessUnitSize)
	}
	if end {
		nalu := d.fu
		d.fu = nil
		return d.add(nalu)
	}
	return nil
}

// add appends a copy of one NAL unit to the access unit.
func (d *h264Depacketizer) add(nalu []byte) error {
	if len(nalu) == 0 || nalu[0]&0x80 != 0 {
		return fmt.Errorf("%w: NAL unit with the forbidden bit set", ErrBadRTP)
	}
	if len(d.nalus) >= maxAccessUnitNALUs || d.size+len(nalu) > maxAccessUnitSize {
		return fmt.Errorf("%w: access unit over %d NAL units or %d bytes", ErrBadRTP, maxAccessUnitNALUs, maxAccessUnitSize)
	}
	d.nalus = append(d.nalus, append([]byte(nil), nalu...))
	d.size += len(nalu)
	return nil
}
