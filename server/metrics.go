package server

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// serverCollector exports the server's state as Prometheus metrics.
type serverCollector struct {
	s        *Server
	live     *prometheus.Desc
	viewers  *prometheus.Desc
	ingestBR *prometheus.Desc
	inBytes  *prometheus.Desc
	refused  *prometheus.Desc
	badTags  *prometheus.Desc
	rungB    *prometheus.Desc
	rungErr  *prometheus.Desc
	dropped  *prometheus.Desc
}

func newServerCollector(s *Server) *serverCollector {
	return &serverCollector{
		s:        s,
		live:     prometheus.NewDesc("golive_live", "1 while a publisher is streaming.", nil, nil),
		viewers:  prometheus.NewDesc("golive_hls_viewers", "HLS viewers seen in the last 15 s.", nil, nil),
		ingestBR: prometheus.NewDesc("golive_ingest_bitrate_bits", "Published bitrate over the last seconds.", nil, nil),
		inBytes:  prometheus.NewDesc("golive_ingest_bytes_total", "Media bytes received (RTMP and WHIP).", nil, nil),
		refused:  prometheus.NewDesc("golive_ingest_refused_total", "Refused connect and publish requests.", nil, nil),
		badTags:  prometheus.NewDesc("golive_ingest_bad_tags_total", "FLV tags dropped as unparsable.", nil, nil),
		rungB:    prometheus.NewDesc("golive_rung_bytes_total", "Media bytes written to a rung's HLS muxer.", []string{"rung"}, nil),
		rungErr:  prometheus.NewDesc("golive_rung_mux_errors_total", "Samples a rung's HLS muxer rejected.", []string{"rung"}, nil),
		dropped:  prometheus.NewDesc("golive_ladder_dropped_rungs", "Rungs dropped because the machine could not keep up.", nil, nil),
	}
}

// Describe sends the metric descriptions.
func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.live, c.viewers, c.ingestBR, c.inBytes, c.refused, c.badTags, c.rungB, c.rungErr, c.dropped} {
		ch <- d
	}
}

// Collect sends the current values.
func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	p := c.s.pipe
	is := c.s.ingest.Stats()
	live := 0.0
	if is.Live {
		live = 1
	}
	ch <- prometheus.MustNewConstMetric(c.live, prometheus.GaugeValue, live)
	ch <- prometheus.MustNewConstMetric(c.viewers, prometheus.GaugeValue, float64(c.s.viewers.count()))
	ch <- prometheus.MustNewConstMetric(c.ingestBR, prometheus.GaugeValue, float64(p.rate.bitsPerSecond()))
	ch <- prometheus.MustNewConstMetric(c.inBytes, prometheus.CounterValue, float64(is.BytesIn))
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(is.Refused))
	ch <- prometheus.MustNewConstMetric(c.badTags, prometheus.CounterValue, float64(is.BadTags))
	p.mu.RLock()
	for name, v := range p.variants {
		st := v.Stats()
		ch <- prometheus.MustNewConstMetric(c.rungB, prometheus.CounterValue, float64(st.Bytes), name)
		ch <- prometheus.MustNewConstMetric(c.rungErr, prometheus.CounterValue, float64(st.EncodeErrors), name)
	}
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.GaugeValue, float64(len(p.dropped)))
	p.mu.RUnlock()
}

// initMetrics builds the server's own registry (never the global one).
func (s *Server) initMetrics() error {
	s.registry = prometheus.NewRegistry()
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newServerCollector(s),
		newWebRTCCollector(s),
		newWHIPCollector(s),
	}
	if s.Storage != nil {
		cs = append(cs, newStorageCollector(s.Storage))
	}
	if c, ok := s.Chat.(interface{ Collector() prometheus.Collector }); ok {
		cs = append(cs, c.Collector())
	}
	for _, c := range append(cs, s.Collectors...) {
		if err := s.registry.Register(c); err != nil {
			return fmt.Errorf("server: metrics: %w", err)
		}
	}
	return nil
}
