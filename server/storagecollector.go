package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"golive/server/s3"
)

// storageCollector exports the object-storage uploader's state as
// Prometheus metrics.
type storageCollector struct {
	u                                         *s3.Uploader
	up, queue, queueBytes, uploaded, segments *prometheus.Desc
	failures, lost, deleted, lag, lagMedian   *prometheus.Desc
}

func newStorageCollector(u *s3.Uploader) *storageCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &storageCollector{
		u:          u,
		up:         d("golive_s3_up", "1 while the last request to object storage succeeded."),
		queue:      d("golive_s3_queue", "Uploads and deletes waiting for object storage."),
		queueBytes: d("golive_s3_queue_bytes", "Segment bytes waiting for upload."),
		uploaded:   d("golive_s3_uploaded_total", "Objects written to object storage."),
		segments:   d("golive_s3_segments_total", "Segments written to object storage."),
		failures:   d("golive_s3_failures_total", "Failed requests to object storage (each retried)."),
		lost:       d("golive_s3_lost_segments_total", "Segments given up and marked as gaps."),
		deleted:    d("golive_s3_deleted_total", "Objects deleted as they left the live window."),
		lag:        d("golive_s3_upload_lag_seconds", "Last segment's time from complete at the origin to readable in the bucket."),
		lagMedian:  d("golive_s3_upload_lag_median_seconds", "Median upload lag over the last 64 segments."),
	}
}

// Describe sends the metric descriptions.
func (c *storageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.queue, c.queueBytes, c.uploaded, c.segments, c.failures, c.lost, c.deleted, c.lag, c.lagMedian} {
		ch <- d
	}
}

// Collect sends the current values.
func (c *storageCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.u.Stats()
	up := 0.0
	if st.State == s3.StateUp {
		up = 1
	}
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	n := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	g(c.up, up)
	g(c.queue, float64(st.Queue))
	g(c.queueBytes, float64(st.QueueBytes))
	n(c.uploaded, st.Uploaded)
	n(c.segments, st.Segments)
	n(c.failures, st.Failures)
	n(c.lost, st.Lost)
	n(c.deleted, st.Deleted)
	g(c.lag, st.LastLag.Seconds())
	g(c.lagMedian, st.MedianLag.Seconds())
}
