package server

import "github.com/prometheus/client_golang/prometheus"

// whipCollector exports WebRTC ingest (WHIP) as Prometheus metrics.
type whipCollector struct {
	s        *Server
	sessions *prometheus.Desc
	lost     *prometheus.Desc
	late     *prometheus.Desc
	bad      *prometheus.Desc
	plis     *prometheus.Desc
	dropped  *prometheus.Desc
	reaped   *prometheus.Desc
}

func newWHIPCollector(s *Server) *whipCollector {
	return &whipCollector{
		s:        s,
		sessions: prometheus.NewDesc("golive_whip_sessions", "WHIP publisher sessions open (connected or connecting).", nil, nil),
		lost:     prometheus.NewDesc("golive_whip_packets_lost_total", "RTP packets from WHIP publishers given up as lost.", nil, nil),
		late:     prometheus.NewDesc("golive_whip_packets_late_total", "RTP packets from WHIP publishers that came too late or twice.", nil, nil),
		bad:      prometheus.NewDesc("golive_whip_bad_packets_total", "RTP packets from WHIP publishers whose payload could not be read.", nil, nil),
		plis:     prometheus.NewDesc("golive_whip_plis_total", "Keyframe requests (PLI) sent to WHIP publishers.", nil, nil),
		dropped:  prometheus.NewDesc("golive_whip_frames_dropped_total", "Frames dropped after a loss while waiting for a keyframe.", nil, nil),
		reaped:   prometheus.NewDesc("golive_whip_reaped_total", "WHIP sessions closed because their publisher vanished.", nil, nil),
	}
}

// Describe sends the metric descriptions.
func (c *whipCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sessions, c.lost, c.late, c.bad, c.plis, c.dropped, c.reaped} {
		ch <- d
	}
}

// Collect sends the current values.
func (c *whipCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.whip == nil {
		return
	}
	st := c.s.whip.Stats()
	ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(st.Endpoint.Sessions))
	for _, m := range []struct {
		d *prometheus.Desc
		v uint64
	}{{c.lost, st.PacketsLost}, {c.late, st.PacketsLate}, {c.bad, st.BadPackets}, {c.plis, st.PLIs},
		{c.dropped, st.FramesDropped}, {c.reaped, st.Endpoint.Reaped}} {
		ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.v))
	}
}
