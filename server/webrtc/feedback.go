package webrtc

import (
	"github.com/pion/rtcp"
	pion "github.com/pion/webrtc/v4"
)

// readFeedback reads a sender's RTCP until its peer connection closes
// (which also lets pion's interceptors answer NACKs and read reports) and
// hands the viewer what concerns its video: picture losses, NACKs, loss
// in receiver reports, bandwidth estimates.
func (v *viewer) readFeedback(sender *pion.RTPSender) {
	buf := make([]byte, 1500)
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		v.feedback(pkts)
	}
}

// feedback counts and forwards one compound RTCP packet.
func (v *viewer) feedback(pkts []rtcp.Packet) {
	ssrc := v.vSSRC.Load()
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.PictureLossIndication:
			if p.MediaSSRC == ssrc {
				v.count(func(s *ViewerStats) { s.PLIs++ })
				v.control(control{pli: true, loss: -1})
			}
		case *rtcp.FullIntraRequest:
			v.count(func(s *ViewerStats) { s.PLIs++ })
			v.control(control{pli: true, loss: -1})
		case *rtcp.TransportLayerNack:
			if p.MediaSSRC == ssrc {
				n := 0
				for _, pair := range p.Nacks {
					n += len(pair.PacketList())
				}
				v.count(func(s *ViewerStats) { s.NACKs += uint64(n) })
			}
		case *rtcp.ReceiverReport:
			v.reports(p.Reports, ssrc)
		case *rtcp.SenderReport:
			v.reports(p.Reports, ssrc)
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			bps := int(p.Bitrate)
			v.count(func(s *ViewerStats) { s.REMB = bps })
			if bps > 0 {
				v.control(control{remb: bps, loss: -1})
			}
		}
	}
}

// reports takes the reception report about the video.
func (v *viewer) reports(rr []rtcp.ReceptionReport, ssrc uint32) {
	for _, r := range rr {
		if r.SSRC != ssrc {
			continue
		}
		frac := float64(r.FractionLost) / 256
		v.count(func(s *ViewerStats) { s.PacketsLost, s.FractionLost = int64(r.TotalLost), frac })
		v.control(control{loss: frac})
	}
}

// count updates the stats under their lock.
func (v *viewer) count(f func(*ViewerStats)) {
	v.mu.Lock()
	f(&v.stats)
	v.mu.Unlock()
}
