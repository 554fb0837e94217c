package server

import "github.com/prometheus/client_golang/prometheus"

// webrtcCollector exports WebRTC playback as Prometheus metrics.
type webrtcCollector struct {
	s        *Server
	viewers  *prometheus.Desc
	byRung   *prometheus.Desc
	lost     *prometheus.Desc
	nacks    *prometheus.Desc
	plis     *prometheus.Desc
	switches *prometheus.Desc
	refused  *prometheus.Desc
	reaped   *prometheus.Desc
	audioErr *prometheus.Desc
}

func newWebRTCCollector(s *Server) *webrtcCollector {
	return &webrtcCollector{
		s:        s,
		viewers:  prometheus.NewDesc("golive_webrtc_viewers", "WebRTC viewers connected.", nil, nil),
		byRung:   prometheus.NewDesc("golive_webrtc_viewers_by_rung", "WebRTC viewers sent each rung.", []string{"rung"}, nil),
		lost:     prometheus.NewDesc("golive_webrtc_packets_lost", "Packets the connected WebRTC viewers' last receiver reports counted lost.", nil, nil),
		nacks:    prometheus.NewDesc("golive_webrtc_nacks_total", "Video packets WebRTC viewers asked again for (NACK).", nil, nil),
		plis:     prometheus.NewDesc("golive_webrtc_plis_total", "Pictures WebRTC viewers lost (PLI, FIR).", nil, nil),
		switches: prometheus.NewDesc("golive_webrtc_rung_switches_total", "Rung changes of WebRTC viewers.", nil, nil),
		refused:  prometheus.NewDesc("golive_webrtc_refused_total", "WHEP offers refused for --webrtc-max-viewers.", nil, nil),
		reaped:   prometheus.NewDesc("golive_webrtc_reaped_total", "WebRTC sessions closed because their viewer vanished.", nil, nil),
		audioErr: prometheus.NewDesc("golive_webrtc_audio_errors_total", "Audio packets the Opus transcoder lost or failed on.", nil, nil),
	}
}

// Describe sends the metric descriptions.
func (c *webrtcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.viewers, c.byRung, c.lost, c.nacks, c.plis, c.switches, c.refused, c.reaped, c.audioErr} {
		ch <- d
	}
}

// Collect sends the current values.
func (c *webrtcCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.whep == nil {
		return
	}
	st := c.s.whep.Stats()
	byRung := map[string]int{}
	var lost int64
	for _, v := range st.Viewers {
		byRung[v.Rung]++
		lost += v.PacketsLost
	}
	ch <- prometheus.MustNewConstMetric(c.viewers, prometheus.GaugeValue, float64(len(st.Viewers)))
	for rung, n := range byRung {
		ch <- prometheus.MustNewConstMetric(c.byRung, prometheus.GaugeValue, float64(n), rung)
	}
	ch <- prometheus.MustNewConstMetric(c.lost, prometheus.GaugeValue, float64(lost))
	ch <- prometheus.MustNewConstMetric(c.nacks, prometheus.CounterValue, float64(st.NACKs))
	ch <- prometheus.MustNewConstMetric(c.plis, prometheus.CounterValue, float64(st.PLIs))
	ch <- prometheus.MustNewConstMetric(c.switches, prometheus.CounterValue, float64(st.Switches))
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(st.Endpoint.Refused))
	ch <- prometheus.MustNewConstMetric(c.reaped, prometheus.CounterValue, float64(st.Endpoint.Reaped))
	ch <- prometheus.MustNewConstMetric(c.audioErr, prometheus.CounterValue, float64(st.AudioErrors))
}
